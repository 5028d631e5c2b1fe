// The MessageIndex contract, message records: idempotent, merging the envelope recipients of
// a message that several SES receipt rules delivered (one notification per rule), TTL
// filtered, whole however large (seen through the entries and the trace too).
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

    it('returns the record as stored: the given one when absent, the stored one unchanged on a repeat', async () => {
      // Prepare
      const record = makeRecord('m-returns', { envelopeRecipients: ['alice@corp.test', 'bob@corp.test'] });
      // Act
      const written = await index.putMessage(record);
      const repeated = await index.putMessage(
        makeRecord('m-returns', { envelopeRecipients: ['BOB@corp.test'], summary: { subject: 'other' } }),
      );
      // Assess
      expect(written).toEqual(record);
      expect(repeated).toEqual(record);
      expect(await index.getMessage('m-returns', NOW)).toEqual(record);
    });

    // One message to alice (receipt rule 1) and bob (rule 2) arrives as two notifications of the
    // same SES message id, each listing only its rule's recipients: the record holds the union.
    it('gains the envelope recipients a second put brings, existing ones first, all else kept', async () => {
      // Prepare
      const first = makeRecord('m-merge', { envelopeRecipients: ['alice@corp.test', 'carol@corp.test'], summary: { subject: 'first' } });
      const second = makeRecord('m-merge', {
        envelopeRecipients: ['bob@corp.test', 'Carol@Corp.Test', 'dave@corp.test'],
        size: 9999,
        summary: { subject: 'second', messageIdHeader: '<second@ext.example>' },
      });
      await index.putMessage(first);
      // Act
      const stored = await index.putMessage(second);
      // Assess: carol is there already (comparison form), bob and dave are added in their order
      const expected = { ...first, envelopeRecipients: ['alice@corp.test', 'carol@corp.test', 'bob@corp.test', 'dave@corp.test'] };
      expect(stored).toEqual(expected);
      expect(await index.getMessage('m-merge', NOW)).toEqual(expected);
      // the trace finds the message by an added recipient, not by the second put's other fields
      expect(ids(await index.findMessages({ recipient: 'dave@corp.test' }, NOW))).toEqual(['m-merge']);
      expect(await index.findMessages({ messageIdHeader: 'second@ext.example' }, NOW)).toEqual([]);
    });

    it('keeps every recipient of puts that race for the same message', async () => {
      // Prepare: six notifications of one message, each with its own recipient, at once
      const recipients = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'].map((name) => `${name}@corp.test`);
      // Act
      const stored = await Promise.all(
        recipients.map((recipient) => index.putMessage(makeRecord('m-race', { envelopeRecipients: [recipient] }))),
      );
      // Assess: the union, whatever the order; each put saw its own recipient stored
      const record = await index.getMessage('m-race', NOW);
      expect([...(record?.envelopeRecipients ?? [])].sort()).toEqual(recipients);
      stored.forEach((returned, i) => {
        expect(returned.envelopeRecipients).toContain(recipients[i]);
      });
      for (const recipient of recipients) expect(ids(await index.findMessages({ recipient }, NOW))).toEqual(['m-race']);
    });

    it('merges into a record stored compressed (thousands of attachments) and keeps it whole', async () => {
      // Prepare
      const many = attachments(5000);
      const first = makeRecord('m-merge-gz', { summary: { attachments: many } });
      await index.putMessage(first);
      // Act
      await index.putMessage(makeRecord('m-merge-gz', { envelopeRecipients: ['bob@corp.test'] }));
      // Assess
      expect(await index.getMessage('m-merge-gz', NOW)).toEqual({ ...first, envelopeRecipients: ['alice@corp.test', 'bob@corp.test'] });
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
