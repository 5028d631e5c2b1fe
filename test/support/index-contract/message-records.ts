// The MessageIndex contract, message records: idempotent, TTL filtered, whole however large (seen through the entries and the trace too).
import { beforeEach, describe, expect, it } from 'vitest';
import type { MailboxEntries } from '../../../lambdas/ports/mailbox-entries.ts';
import type { MessageRecords } from '../../../lambdas/ports/message-records.ts';
import type { MessageSearch } from '../../../lambdas/ports/message-search.ts';
import { attachments, EXPIRED, type IndexUnderTest, ids, makeEntry, makeRecord, NOW, NOW_SECONDS } from './fixtures.ts';

export function describeMessageRecordsContract(current: () => IndexUnderTest): void {
  let index: MessageRecords & MailboxEntries & MessageSearch;
  beforeEach(() => {
    index = current().index;
  });

  describe('message records', () => {
    it('stores a record and reads it back unchanged', async () => {
      // Prepare
      const record = makeRecord('m-roundtrip', {
        envelopeFrom: '',
        summary: { date: null, messageIdHeader: null, references: ['<a@x>', '<b@x>'], snippet: '' },
      });
      // Act
      await index.putMessage(record);
      // Assess
      expect(await index.getMessage('m-roundtrip', NOW)).toEqual(record);
      expect(await index.getMessage('m-unknown', NOW)).toBeNull();
    });

    it('is idempotent: a second put keeps the first record and its trace keys', async () => {
      // Prepare
      const first = makeRecord('m-idem', { summary: { subject: 'first', messageIdHeader: '<first@ext.example>' } });
      const second = makeRecord('m-idem', { summary: { subject: 'second', messageIdHeader: '<second@ext.example>' } });
      await index.putMessage(first);
      // Act
      await index.putMessage(second);
      // Assess
      expect((await index.getMessage('m-idem', NOW))?.summary.subject).toBe('first');
      expect(ids(await index.findMessages({ messageIdHeader: 'first@ext.example' }, NOW))).toEqual(['m-idem']);
      expect(await index.findMessages({ messageIdHeader: 'second@ext.example' }, NOW)).toEqual([]);
    });

    it('hides records whose TTL has passed, even though the store still holds them', async () => {
      // Prepare
      await index.putMessage(makeRecord('m-expired', { expiresAt: EXPIRED }));
      await index.putMessage(makeRecord('m-boundary', { expiresAt: NOW_SECONDS }));
      // Act
      const expired = await index.getMessage('m-expired', NOW);
      const boundary = await index.getMessage('m-boundary', NOW);
      const earlier = await index.getMessage('m-expired', new Date((EXPIRED - 1) * 1000));
      // Assess
      expect(expired).toBeNull();
      expect(boundary).toBeNull();
      expect(earlier?.sesMessageId).toBe('m-expired');
    });

    it('stores a message with 300 attachments whole, as record and as mailbox entry', async () => {
      // Prepare
      const many = attachments(300);
      const record = makeRecord('m-300', { summary: { attachments: many } });
      const entry = makeEntry('alice@corp.test', 'm-300', { attachments: many });
      // Act
      await index.putMessage(record);
      await index.putMailboxEntry(entry);
      // Assess
      expect(await index.getMessage('m-300', NOW)).toEqual(record);
      const [listed] = (await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10 }, NOW)).entries;
      expect(listed?.attachments).toEqual(many);
      expect(ids(await index.findMessages({ recipient: 'alice@corp.test' }, NOW))).toEqual(['m-300']);
    });

    it('stores a message whose summary alone exceeds a DynamoDB item (5000 attachments)', async () => {
      // Prepare
      const many = attachments(5000);
      const record = makeRecord('m-5000', { summary: { attachments: many } });
      const entry = makeEntry('alice@corp.test', 'm-5000', { attachments: many });
      expect(Buffer.byteLength(JSON.stringify(record))).toBeGreaterThan(400 * 1024);
      // Act
      await index.putMessage(record);
      await index.putMailboxEntry(entry);
      // Assess
      expect(await index.getMessage('m-5000', NOW)).toEqual(record);
      expect((await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 1 }, NOW)).entries[0]).toEqual(entry);
    });
  });
}
