// The MessageIndex contract, message search: trace, admin search and the received-mail list, each match once across pages.
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lambdas/core/errors.ts';
import type { DeliveryLog } from '../../../lambdas/ports/delivery-log.ts';
import type { MailboxEntries } from '../../../lambdas/ports/mailbox-entries.ts';
import type { MessageRecords } from '../../../lambdas/ports/message-records.ts';
import type { MessageSearch } from '../../../lambdas/ports/message-search.ts';
import {
  allReceivedPages,
  allSearchPages,
  daysAgo,
  EXPIRED,
  type IndexUnderTest,
  ids,
  makeEntry,
  makeRecord,
  minutesAgo,
  NOW,
  nth,
  putReceived,
  receivedIds,
  searchIds,
} from './fixtures.ts';

export function describeMessageSearchContract(current: () => IndexUnderTest): void {
  let index: MessageSearch & MessageRecords & MailboxEntries & DeliveryLog;
  beforeEach(() => {
    index = current().index;
  });

  describe('admin search across mailboxes (searchMessages)', () => {
    const WIDE = { since: daysAgo(40), until: NOW.toISOString() };

    it('pages the messages of a recipient newest first; following cursors yields each once', async () => {
      // Prepare: 23 messages for carol, 5 for dave, in scrambled order
      for (const i of Array.from({ length: 23 }, (_, n) => (n * 7) % 23)) {
        await putReceived(
          index,
          makeRecord(nth('sr', i), { receivedAt: minutesAgo(500 - i), envelopeRecipients: ['Carol@Corp.Test', 'x@corp.test'] }),
        );
      }
      for (let i = 0; i < 5; i += 1)
        await putReceived(index, makeRecord(nth('sd', i), { receivedAt: minutesAgo(400 - i), envelopeRecipients: ['dave@corp.test'] }));
      // Act
      const pages = await allSearchPages(index, { recipient: 'carol@corp.test', limit: 4 });
      // Assess
      expect(searchIds(pages)).toEqual(Array.from({ length: 23 }, (_, i) => nth('sr', 22 - i)));
      for (const page of pages) expect(page.messages.length).toBeLessThanOrEqual(4);
      expect(pages[0]?.messages[0]).toEqual(
        makeRecord('sr022', { receivedAt: minutesAgo(478), envelopeRecipients: ['Carol@Corp.Test', 'x@corp.test'] }),
      );
    });

    it('finds a subject substring case-insensitively across every mailbox, only within [since, until)', async () => {
      // Prepare
      await putReceived(
        index,
        makeRecord('sub-a', {
          receivedAt: daysAgo(1),
          envelopeRecipients: ['a@corp.test'],
          summary: { subject: 'Rechnung  NR. 42 für März' },
        }),
      );
      await putReceived(
        index,
        makeRecord('sub-b', { receivedAt: daysAgo(3), envelopeRecipients: ['b@corp.test'], summary: { subject: 'AW: rechnung nr. 42' } }),
      );
      await putReceived(
        index,
        makeRecord('sub-c', { receivedAt: daysAgo(2), envelopeRecipients: ['c@corp.test'], summary: { subject: 'Newsletter' } }),
      );
      await putReceived(
        index,
        makeRecord('sub-since', { receivedAt: daysAgo(5), envelopeRecipients: ['d@corp.test'], summary: { subject: 'Rechnung Nr. 42' } }),
      );
      await putReceived(
        index,
        makeRecord('sub-until', {
          receivedAt: daysAgo(0, 30),
          envelopeRecipients: ['d@corp.test'],
          summary: { subject: 'Rechnung Nr. 42' },
        }),
      );
      await putReceived(
        index,
        makeRecord('sub-old', { receivedAt: daysAgo(6), envelopeRecipients: ['d@corp.test'], summary: { subject: 'rechnung nr. 42' } }),
      );
      // Act
      const found = await allSearchPages(index, { subject: 'rechnung nr. 42', since: daysAgo(5), until: daysAgo(0, 30), limit: 10 });
      // Assess
      expect(searchIds(found)).toEqual(['sub-a', 'sub-b', 'sub-since']);
    });

    it('combines criteria: recipient, sender, subject and time all have to match', async () => {
      // Prepare
      await putReceived(
        index,
        makeRecord('cmb-1', {
          receivedAt: daysAgo(1),
          envelopeRecipients: ['alice@corp.test'],
          envelopeFrom: 'x@ext.example',
          summary: { subject: 'Invoice 1' },
        }),
      );
      await putReceived(
        index,
        makeRecord('cmb-2', {
          receivedAt: daysAgo(2),
          envelopeRecipients: ['alice@corp.test'],
          envelopeFrom: 'y@ext.example',
          summary: { subject: 'Invoice 2' },
        }),
      );
      await putReceived(
        index,
        makeRecord('cmb-3', {
          receivedAt: daysAgo(3),
          envelopeRecipients: ['bob@corp.test'],
          envelopeFrom: 'x@ext.example',
          summary: { subject: 'Invoice 3' },
        }),
      );
      await putReceived(
        index,
        makeRecord('cmb-4', {
          receivedAt: daysAgo(20),
          envelopeRecipients: ['alice@corp.test'],
          envelopeFrom: 'x@ext.example',
          summary: { subject: 'Invoice 4' },
        }),
      );
      // Act
      const both = await allSearchPages(index, { recipient: 'alice@corp.test', sender: 'x@ext.example', subject: 'invoice', limit: 10 });
      const recent = await allSearchPages(index, {
        recipient: 'alice@corp.test',
        sender: 'x@ext.example',
        since: daysAgo(10),
        limit: 10,
      });
      const byMid = await allSearchPages(index, { messageIdHeader: 'cmb-2@ext.example', subject: 'invoice', limit: 10 });
      const wrongSubject = await allSearchPages(index, { messageIdHeader: 'cmb-2@ext.example', subject: 'receipt', limit: 10 });
      // Assess
      expect(searchIds(both)).toEqual(['cmb-1', 'cmb-4']);
      expect(searchIds(recent)).toEqual(['cmb-1']);
      expect(searchIds(byMid)).toEqual(['cmb-2']);
      expect(searchIds(wrongSubject)).toEqual([]);
    });

    it('goes day by day through a long range with quiet days, newest first, without expired mail', async () => {
      // Prepare: 3 messages on each of 5 scattered days, one expired
      const days = [0, 1, 7, 8, 30];
      for (const day of days) {
        for (let i = 0; i < 3; i += 1)
          await putReceived(index, makeRecord(`day${String(day).padStart(2, '0')}-${i}`, { receivedAt: daysAgo(day, 60 + i) }));
      }
      await putReceived(index, makeRecord('day-expired', { receivedAt: daysAgo(2), expiresAt: EXPIRED }));
      // Act
      const pages = await allSearchPages(index, { ...WIDE, limit: 2 });
      // Assess
      const expected = days.flatMap((day) => [0, 1, 2].map((i) => `day${String(day).padStart(2, '0')}-${i}`));
      expect(searchIds(pages)).toEqual(expected);
    });

    it('crosses a year of quiet days (a store may answer with empty pages and a cursor) and finds both ends', async () => {
      // Prepare
      await putReceived(index, makeRecord('year-new', { receivedAt: daysAgo(0, 5) }));
      await putReceived(index, makeRecord('year-old', { receivedAt: daysAgo(399) }));
      // Act
      const search = await allSearchPages(index, { since: daysAgo(400), until: NOW.toISOString(), limit: 5 });
      const received = await allReceivedPages(index, { since: daysAgo(400), until: NOW.toISOString(), limit: 5 });
      // Assess
      expect(searchIds(search)).toEqual(['year-new', 'year-old']);
      expect(receivedIds(received)).toEqual(['year-old', 'year-new']);
    });

    it('lists received mail only when no recipient, sender or Message-ID is given', async () => {
      // Prepare: a Sent copy is a record without delivery states
      await putReceived(index, makeRecord('rcv-in', { receivedAt: daysAgo(1), summary: { subject: 'Quarterly report' } }));
      await index.putMessage(
        makeRecord('rcv-sent', {
          receivedAt: daysAgo(1, 5),
          envelopeFrom: 'alice@corp.test',
          summary: { subject: 'Re: Quarterly report' },
        }),
      );
      // Act
      const bySubject = await allSearchPages(index, { ...WIDE, subject: 'quarterly', limit: 10 });
      const bySender = await allSearchPages(index, { sender: 'alice@corp.test', limit: 10 });
      // Assess
      expect(searchIds(bySubject)).toEqual(['rcv-in']);
      expect(searchIds(bySender)).toEqual(['rcv-sent']);
    });

    it('refuses a range-less search without a lookup criterion, a bad cursor and bad page sizes', async () => {
      // Act
      const outcomes = await Promise.all(
        [
          index.searchMessages({ subject: 'x', limit: 10 }, NOW),
          index.searchMessages({ since: daysAgo(1), limit: 10 }, NOW),
          index.searchMessages({ recipient: 'a@corp.test', cursor: 'not a cursor!', limit: 10 }, NOW),
          index.searchMessages({ recipient: 'a@corp.test', limit: 0 }, NOW),
        ].map((promise) =>
          promise.then(
            () => null,
            (error: unknown) => error,
          ),
        ),
      );
      // Assess
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(InvalidInputError);
    });
  });

  describe('received mail of a time range (listReceived)', () => {
    it('lists every received message of [since, until) oldest first, across days, in pages', async () => {
      // Prepare
      const received: string[] = [];
      for (const day of [9, 4, 3, 0]) {
        for (let i = 0; i < 4; i += 1) {
          const id = `all-${day}-${i}`;
          await putReceived(index, makeRecord(id, { receivedAt: daysAgo(day, 100 - i), envelopeRecipients: [`u${i}@corp.test`] }));
          received.push(id);
        }
      }
      await putReceived(index, makeRecord('all-before', { receivedAt: daysAgo(12) }));
      await putReceived(index, makeRecord('all-at-until', { receivedAt: daysAgo(0, 10) }));
      await putReceived(index, makeRecord('all-expired', { receivedAt: daysAgo(5), expiresAt: EXPIRED }));
      await index.putMessage(makeRecord('all-sent', { receivedAt: daysAgo(3, 50) }));
      // Act
      const pages = await allReceivedPages(index, { since: daysAgo(9, 100), until: daysAgo(0, 10), limit: 3 });
      // Assess
      expect(receivedIds(pages)).toEqual(received);
      for (const page of pages) expect(page.messages.length).toBeLessThanOrEqual(3);
      expect(pages[0]?.messages[0]).toEqual({ sesMessageId: 'all-9-0', receivedAt: daysAgo(9, 100), recipients: null });
    });

    it('lists one mailbox: inbox and deleted entries with the recipients filed there, not Sent copies', async () => {
      // Prepare
      const ALICE = 'alice@corp.test';
      await index.putMailboxEntry(makeEntry(ALICE, 'mb-1', { receivedAt: daysAgo(2), recipients: ['alice@corp.test', 'sales@corp.test'] }));
      await index.putMailboxEntry(makeEntry(ALICE, 'mb-2', { receivedAt: daysAgo(1), folder: 'deleted' }));
      await index.putMailboxEntry(makeEntry(ALICE, 'mb-sent', { receivedAt: daysAgo(1, 30), folder: 'sent' }));
      await index.putMailboxEntry(makeEntry(ALICE, 'mb-old', { receivedAt: daysAgo(8) }));
      await index.putMailboxEntry(makeEntry(ALICE, 'mb-expired', { receivedAt: daysAgo(1, 40), expiresAt: EXPIRED }));
      await index.putMailboxEntry(makeEntry('bob@corp.test', 'mb-bob', { receivedAt: daysAgo(1) }));
      for (let i = 0; i < 7; i += 1) await index.putMailboxEntry(makeEntry(ALICE, nth('mb-x', i), { receivedAt: daysAgo(0, 100 - i) }));
      // Act
      const pages = await allReceivedPages(index, { mailbox: 'Alice@Corp.Test', since: daysAgo(7), until: NOW.toISOString(), limit: 2 });
      // Assess
      expect(receivedIds(pages)).toEqual(['mb-1', 'mb-2', ...Array.from({ length: 7 }, (_, i) => nth('mb-x', i))]);
      expect(pages[0]?.messages[0]).toEqual({
        sesMessageId: 'mb-1',
        receivedAt: daysAgo(2),
        recipients: ['alice@corp.test', 'sales@corp.test'],
      });
    });

    it('answers an empty range and an unknown mailbox with an empty page', async () => {
      // Prepare
      await putReceived(index, makeRecord('e-1', { receivedAt: daysAgo(1) }));
      // Act
      const empty = await index.listReceived({ since: daysAgo(0, 30), until: daysAgo(0, 30), limit: 5 }, NOW);
      const nobody = await index.listReceived({ mailbox: 'nobody@corp.test', since: daysAgo(3), until: NOW.toISOString(), limit: 5 }, NOW);
      // Assess
      expect(empty).toEqual({ messages: [], nextCursor: null });
      expect(nobody).toEqual({ messages: [], nextCursor: null });
    });
  });

  describe('trace (findMessages)', () => {
    async function seed(): Promise<void> {
      await index.putMessage(
        makeRecord('m1', {
          receivedAt: minutesAgo(30),
          envelopeFrom: 'Bounce+123@Ext.Example',
          envelopeRecipients: ['Alice@Corp.Test', 'hidden-bcc@corp.test'],
          summary: { from: ['"Carol Ext" <Carol@Ext.Example>'], messageIdHeader: '<ABC@Ext.Example>' },
        }),
      );
      await index.putMessage(
        makeRecord('m2', {
          receivedAt: minutesAgo(20),
          envelopeFrom: 'carol@ext.example',
          envelopeRecipients: ['alice@corp.test'],
          summary: { from: ['Carol <carol@ext.example>'], messageIdHeader: '<second@ext.example>' },
        }),
      );
      await index.putMessage(
        makeRecord('m3', {
          receivedAt: minutesAgo(10),
          envelopeFrom: '',
          envelopeRecipients: ['bob@corp.test'],
          summary: { from: ['MAILER-DAEMON@corp.test'], messageIdHeader: null },
        }),
      );
      await index.putMessage(
        makeRecord('m-expired', {
          receivedAt: minutesAgo(5),
          expiresAt: EXPIRED,
          envelopeFrom: 'carol@ext.example',
          envelopeRecipients: ['alice@corp.test'],
          summary: { from: ['carol@ext.example'], messageIdHeader: '<abc@ext.example>' },
        }),
      );
    }

    it('finds by envelope recipient, BCC-only recipients included, newest first', async () => {
      // Prepare
      await seed();
      // Act
      const alice = await index.findMessages({ recipient: 'alice@corp.test' }, NOW);
      const bcc = await index.findMessages({ recipient: 'hidden-bcc@corp.test' }, NOW);
      // Assess
      expect(ids(alice)).toEqual(['m2', 'm1']);
      expect(ids(bcc)).toEqual(['m1']);
      expect(alice[1]?.envelopeFrom).toBe('Bounce+123@Ext.Example');
    });

    it('finds by envelope sender and by header From address, each message once', async () => {
      // Prepare
      await seed();
      // Act
      const envelope = await index.findMessages({ sender: 'bounce+123@ext.example' }, NOW);
      const header = await index.findMessages({ sender: 'carol@ext.example' }, NOW);
      const nullSender = await index.findMessages({ sender: '' }, NOW);
      const daemon = await index.findMessages({ sender: 'mailer-daemon@corp.test' }, NOW);
      // Assess
      expect(ids(envelope)).toEqual(['m1']);
      expect(ids(header)).toEqual(['m2', 'm1']);
      expect(ids(nullSender)).toEqual(['m3']);
      expect(ids(daemon)).toEqual(['m3']);
    });

    it('finds by normalized Message-ID header, without expired messages', async () => {
      // Prepare
      await seed();
      // Act
      const found = await index.findMessages({ messageIdHeader: 'abc@ext.example' }, NOW);
      const beforeExpiry = await index.findMessages({ messageIdHeader: 'abc@ext.example' }, new Date((EXPIRED - 1) * 1000));
      // Assess
      expect(ids(found)).toEqual(['m1']);
      expect(ids(beforeExpiry)).toEqual(['m-expired', 'm1']);
    });

    it('finds nothing for unknown values or an empty query', async () => {
      // Prepare
      await seed();
      // Act
      const unknown = await index.findMessages({ recipient: 'nobody@corp.test' }, NOW);
      const empty = await index.findMessages({}, NOW);
      // Assess
      expect(unknown).toEqual([]);
      expect(empty).toEqual([]);
    });

    it('returns the newest messages up to the limit, across many', async () => {
      // Prepare
      for (let i = 0; i < 15; i += 1) {
        await index.putMessage(
          makeRecord(`t${String(i).padStart(2, '0')}`, { receivedAt: minutesAgo(100 - i), envelopeRecipients: ['busy@corp.test'] }),
        );
      }
      // Act
      const limited = await index.findMessages({ recipient: 'busy@corp.test', limit: 10 }, NOW);
      const all = await index.findMessages({ recipient: 'busy@corp.test' }, NOW);
      // Assess
      expect(ids(limited)).toEqual(Array.from({ length: 10 }, (_, i) => `t${String(14 - i).padStart(2, '0')}`));
      expect(all).toHaveLength(15);
      expect(all[0]).toEqual(makeRecord('t14', { receivedAt: minutesAgo(86), envelopeRecipients: ['busy@corp.test'] }));
    });

    it('finds a message by a Message-ID longer than any database key', async () => {
      // Prepare
      const longId = `${'x'.repeat(3000)}@ext.example`;
      await index.putMessage(makeRecord('m-long', { summary: { messageIdHeader: `<${longId.toUpperCase()}>` } }));
      await index.putMessage(makeRecord('m-other', { summary: { messageIdHeader: `<${'x'.repeat(2999)}y@ext.example>` } }));
      // Act
      const found = await index.findMessages({ messageIdHeader: longId }, NOW);
      // Assess
      expect(ids(found)).toEqual(['m-long']);
    });
  });
}
