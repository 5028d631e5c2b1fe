// The MessageIndex contract, mailbox entries: never overwritten, paged newest first with search and cursors, read and changed by id.
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../../../lambdas/core/errors.ts';
import type { MailboxEntry } from '../../../lambdas/core/model.ts';
import type { MailboxEntries, MailboxPageQuery } from '../../../lambdas/ports/mailbox-entries.ts';
import type { MessageRecords } from '../../../lambdas/ports/message-records.ts';
import {
  allIds,
  allPages,
  attachments,
  EXPIRED,
  type IndexUnderTest,
  ids,
  makeEntry,
  makeRecord,
  minutesAgo,
  NOW,
  nth,
} from './fixtures.ts';

export function describeMailboxEntriesContract(current: () => IndexUnderTest): void {
  let index: MailboxEntries & MessageRecords;
  beforeEach(() => {
    index = current().index;
  });

  describe('mailbox entries', () => {
    it('never overwrites an entry: flags the user set survive a re-ingest', async () => {
      // Prepare
      await index.putMailboxEntry(makeEntry('alice@corp.test', 'm-flags', { read: true, folder: 'deleted' }));
      // Act
      await index.putMailboxEntry(makeEntry('alice@corp.test', 'm-flags', { read: false, folder: 'inbox', subject: 'again' }));
      // Assess
      const entries = (await index.listMailboxPage('alice@corp.test', { folder: 'deleted', limit: 10 }, NOW)).entries;
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ read: true, folder: 'deleted', subject: 'Subject of m-flags' });
    });

    it('lists one mailbox newest first, up to the limit, without expired entries', async () => {
      // Prepare
      for (const [id, minutes] of [
        ['a1', 50],
        ['a2', 40],
        ['a3', 30],
        ['a4', 20],
        ['a5', 10],
      ] as const) {
        await index.putMailboxEntry(makeEntry('alice@corp.test', id, { receivedAt: minutesAgo(minutes) }));
      }
      await index.putMailboxEntry(makeEntry('alice@corp.test', 'a-expired', { receivedAt: minutesAgo(5), expiresAt: EXPIRED }));
      await index.putMailboxEntry(makeEntry('bob@corp.test', 'b1', { receivedAt: minutesAgo(1) }));
      // Act
      const firstThree = (await index.listMailboxPage('Alice@Corp.Test', { folder: 'inbox', limit: 3 }, NOW)).entries;
      const all = (await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 100 }, NOW)).entries;
      const none = (await index.listMailboxPage('carol@corp.test', { folder: 'inbox', limit: 100 }, NOW)).entries;
      // Assess
      expect(ids(firstThree)).toEqual(['a5', 'a4', 'a3']);
      expect(ids(all)).toEqual(['a5', 'a4', 'a3', 'a2', 'a1']);
      expect(none).toEqual([]);
      expect(all[0]).toEqual(makeEntry('alice@corp.test', 'a5', { receivedAt: minutesAgo(10) }));
    });

    it('finds live entries behind many newer expired ones', async () => {
      // Prepare
      for (let i = 0; i < 12; i += 1) {
        await index.putMailboxEntry(makeEntry('alice@corp.test', `x${i}`, { receivedAt: minutesAgo(i + 1), expiresAt: EXPIRED }));
      }
      await index.putMailboxEntry(makeEntry('alice@corp.test', 'live-1', { receivedAt: minutesAgo(100) }));
      await index.putMailboxEntry(makeEntry('alice@corp.test', 'live-2', { receivedAt: minutesAgo(200) }));
      // Act
      const entries = (await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10 }, NOW)).entries;
      // Assess
      expect(ids(entries)).toEqual(['live-1', 'live-2']);
    });

    it('pages through a long mailbox', async () => {
      // Prepare
      for (let i = 0; i < 25; i += 1) {
        await index.putMailboxEntry(makeEntry('alice@corp.test', `p${String(i).padStart(2, '0')}`, { receivedAt: minutesAgo(100 - i) }));
      }
      // Act
      const entries = (await index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 20 }, NOW)).entries;
      // Assess
      expect(ids(entries)).toEqual(Array.from({ length: 20 }, (_, i) => `p${String(24 - i).padStart(2, '0')}`));
    });
  });

  describe('mailbox pages', () => {
    const ALICE = 'alice@corp.test';
    const inbox = (limit: number, more: Partial<MailboxPageQuery> = {}): MailboxPageQuery => ({ folder: 'inbox', limit, ...more });

    it('pages a long mailbox newest first; every page with a next cursor is full, and cursors end', async () => {
      // Prepare: 23 entries, one minute apart, entered in scrambled order
      const order = Array.from({ length: 23 }, (_, i) => (i * 7) % 23);
      for (const i of order) await index.putMailboxEntry(makeEntry(ALICE, nth('p', i), { receivedAt: minutesAgo(100 - i) }));
      // Act
      const pages = await allPages(index, ALICE, inbox(5));
      // Assess
      expect(allIds(pages)).toEqual(Array.from({ length: 23 }, (_, i) => nth('p', 22 - i)));
      for (const page of pages.slice(0, -1)) expect(page.entries).toHaveLength(5);
      expect(pages.at(-1)?.nextCursor).toBeNull();
      expect(pages[0]?.entries[0]).toEqual(makeEntry(ALICE, 'p022', { receivedAt: minutesAgo(78) }));
    });

    it('answers a short mailbox in one page without a cursor, and an unknown mailbox with an empty one', async () => {
      // Prepare
      await index.putMailboxEntry(makeEntry(ALICE, 's1', { receivedAt: minutesAgo(2) }));
      await index.putMailboxEntry(makeEntry(ALICE, 's2', { receivedAt: minutesAgo(1) }));
      // Act
      const page = await index.listMailboxPage('Alice@Corp.Test', inbox(10), NOW);
      const unknown = await index.listMailboxPage('nobody@corp.test', inbox(10), NOW);
      // Assess
      expect(ids(page.entries)).toEqual(['s2', 's1']);
      expect(page.nextCursor).toBeNull();
      expect(unknown).toEqual({ entries: [], nextCursor: null });
    });

    it('orders entries received in the same millisecond by id and never skips one at a page boundary', async () => {
      // Prepare
      const same = minutesAgo(5);
      for (const id of ['t-c', 't-a', 't-e', 't-b', 't-d']) await index.putMailboxEntry(makeEntry(ALICE, id, { receivedAt: same }));
      await index.putMailboxEntry(makeEntry(ALICE, 't-newer', { receivedAt: minutesAgo(4) }));
      await index.putMailboxEntry(makeEntry(ALICE, 't-older', { receivedAt: minutesAgo(6) }));
      // Act
      const pages = await allPages(index, ALICE, inbox(2));
      // Assess
      expect(allIds(pages)).toEqual(['t-newer', 't-e', 't-d', 't-c', 't-b', 't-a', 't-older']);
    });

    it('lists one folder at a time', async () => {
      // Prepare
      await index.putMailboxEntry(makeEntry(ALICE, 'f-in', { receivedAt: minutesAgo(3) }));
      await index.putMailboxEntry(makeEntry(ALICE, 'f-sent', { receivedAt: minutesAgo(2), folder: 'sent' }));
      await index.putMailboxEntry(makeEntry(ALICE, 'f-del', { receivedAt: minutesAgo(1), folder: 'deleted' }));
      // Act
      const [inboxPage, sent, deleted] = await Promise.all(
        (['inbox', 'sent', 'deleted'] as const).map((folder) => index.listMailboxPage(ALICE, { folder, limit: 10 }, NOW)),
      );
      // Assess
      expect(ids(inboxPage?.entries ?? [])).toEqual(['f-in']);
      expect(ids(sent?.entries ?? [])).toEqual(['f-sent']);
      expect(ids(deleted?.entries ?? [])).toEqual(['f-del']);
    });

    it('searches sender display name, sender address and subject, case-insensitively, and nothing else', async () => {
      // Prepare
      const put = (id: string, minutes: number, more: Partial<MailboxEntry>) =>
        index.putMailboxEntry(makeEntry(ALICE, id, { receivedAt: minutesAgo(minutes), ...more }));
      await put('q-name', 1, { from: ['"Jürgen Müller" <jm@lieferant.example>'], subject: 'Angebot' });
      await put('q-addr', 2, { from: ['billing@MUELLER-GmbH.example'], subject: 'Rechnung 42' });
      await put('q-subj', 3, { from: ['Someone <someone@ext.example>'], subject: 'Re: Müller Projekt  Kickoff' });
      await put('q-body', 4, {
        from: ['Other <other@ext.example>'],
        subject: 'Unrelated',
        snippet: 'Müller said hello',
        to: ['mueller@corp.test'],
      });
      await put('q-nfd', 5, { from: ['Mu\u0308ller Decomposed <x@ext.example>'], subject: 'x' });
      // Act
      const umlaut = await index.listMailboxPage(ALICE, inbox(10, { search: 'MÜLLER' }), NOW);
      const address = await index.listMailboxPage(ALICE, inbox(10, { search: 'mueller-gmbh' }), NOW);
      const subject = await index.listMailboxPage(ALICE, inbox(10, { search: '  müller projekt kickoff ' }), NOW);
      const none = await index.listMailboxPage(ALICE, inbox(10, { search: 'hello' }), NOW);
      const blank = await index.listMailboxPage(ALICE, inbox(10, { search: '   ' }), NOW);
      const acrossFields = await index.listMailboxPage(ALICE, inbox(10, { search: 'example>\nangebot' }), NOW);
      // Assess
      expect(ids(umlaut.entries)).toEqual(['q-name', 'q-subj', 'q-nfd']);
      expect(ids(address.entries)).toEqual(['q-addr']);
      expect(ids(subject.entries)).toEqual(['q-subj']);
      expect(none.entries).toEqual([]);
      expect(blank.entries).toHaveLength(5);
      expect(acrossFields.entries).toEqual([]);
    });

    it('finds every match of a search across many non-matching entries by following cursors', async () => {
      // Prepare: 60 entries, every 7th from the wanted sender
      for (let i = 0; i < 60; i += 1) {
        const from = i % 7 === 0 ? ['Wanted Sender <wanted@ext.example>'] : [`Noise ${i} <noise${i}@ext.example>`];
        await index.putMailboxEntry(makeEntry(ALICE, nth('n', i), { receivedAt: minutesAgo(200 - i), from }));
      }
      // Act
      const pages = await allPages(index, ALICE, inbox(3, { search: 'WANTED' }));
      // Assess
      const expected = Array.from({ length: 60 }, (_, i) => i)
        .filter((i) => i % 7 === 0)
        .reverse()
        .map((i) => nth('n', i));
      expect(allIds(pages)).toEqual(expected);
      for (const page of pages) expect(page.entries.length).toBeLessThanOrEqual(3);
    });

    it('hides quarantined entries unless asked to include them', async () => {
      // Prepare
      await index.putMailboxEntry(makeEntry(ALICE, 'v-normal', { receivedAt: minutesAgo(2) }));
      await index.putMailboxEntry(makeEntry(ALICE, 'v-quarantined', { receivedAt: minutesAgo(1), visibility: 'quarantined' }));
      // Act
      const forUsers = await index.listMailboxPage(ALICE, inbox(10), NOW);
      const forAdmins = await index.listMailboxPage(ALICE, inbox(10, { includeQuarantined: true }), NOW);
      // Assess
      expect(ids(forUsers.entries)).toEqual(['v-normal']);
      expect(ids(forAdmins.entries)).toEqual(['v-quarantined', 'v-normal']);
    });

    it('leaves out expired entries and other mailboxes', async () => {
      // Prepare
      await index.putMailboxEntry(makeEntry(ALICE, 'e-live', { receivedAt: minutesAgo(3) }));
      for (let i = 0; i < 8; i += 1) {
        await index.putMailboxEntry(makeEntry(ALICE, nth('e-expired', i), { receivedAt: minutesAgo(2), expiresAt: EXPIRED }));
      }
      await index.putMailboxEntry(makeEntry('bob@corp.test', 'e-bob', { receivedAt: minutesAgo(1) }));
      // Act
      const pages = await allPages(index, ALICE, inbox(2));
      const beforeExpiry = await index.listMailboxPage(ALICE, inbox(20), new Date((EXPIRED - 1) * 1000));
      // Assess
      expect(allIds(pages)).toEqual(['e-live']);
      expect(beforeExpiry.entries).toHaveLength(9);
    });

    it('refuses a cursor it did not issue with an InvalidInputError', async () => {
      // Prepare
      for (let i = 0; i < 3; i += 1) await index.putMailboxEntry(makeEntry(ALICE, nth('c', i), { receivedAt: minutesAgo(10 - i) }));
      const issued = (await index.listMailboxPage(ALICE, inbox(1), NOW)).nextCursor ?? '';
      const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
      const tampered = [
        'not a cursor!',
        `${issued}*`,
        b64('{"v":1,"before":'),
        b64('[]'),
        b64('{"v":2,"before":"x"}'),
        b64('{"v":1,"before":42}'),
        b64('{"v":1,"before":""}'),
        b64(JSON.stringify({ v: 1, before: 'x'.repeat(5000) })),
        'A'.repeat(5000),
      ];
      // Act
      const outcomes = await Promise.all(
        tampered.map((cursor) =>
          index.listMailboxPage(ALICE, inbox(1, { cursor }), NOW).then(
            () => null,
            (error: unknown) => error,
          ),
        ),
      );
      // Assess
      expect(issued).not.toBe('');
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(InvalidInputError);
    });

    it('treats a well-formed cursor at any position as a place in this mailbox only', async () => {
      // Prepare
      for (let i = 0; i < 3; i += 1) await index.putMailboxEntry(makeEntry(ALICE, nth('w', i), { receivedAt: minutesAgo(10 - i) }));
      await index.putMailboxEntry(makeEntry('bob@corp.test', 'w-bob', { receivedAt: minutesAgo(20) }));
      const at = (before: string) => Buffer.from(JSON.stringify({ v: 1, before }), 'utf8').toString('base64url');
      // Act
      const past = await index.listMailboxPage(ALICE, inbox(10, { cursor: at('9999-12-31T00:00:00.000Z#zzz') }), NOW);
      const between = await index.listMailboxPage(ALICE, inbox(10, { cursor: at(`${minutesAgo(9)}#w001`) }), NOW);
      const bottom = await index.listMailboxPage(ALICE, inbox(10, { cursor: at('\u0000') }), NOW);
      // Assess
      expect(ids(past.entries)).toEqual(['w002', 'w001', 'w000']);
      expect(ids(between.entries)).toEqual(['w000']);
      expect(bottom).toEqual({ entries: [], nextCursor: null });
    });

    it('refuses page sizes out of range and over-long search terms', async () => {
      // Act
      const attempts = [0, -1, 1.5, 100_000].map((limit) =>
        index.listMailboxPage(ALICE, inbox(limit), NOW).then(
          () => null,
          (error: unknown) => error,
        ),
      );
      attempts.push(
        index.listMailboxPage(ALICE, inbox(10, { search: 'x'.repeat(500) }), NOW).then(
          () => null,
          (error: unknown) => error,
        ),
      );
      // Assess
      for (const outcome of await Promise.all(attempts)) expect(outcome).toBeInstanceOf(InvalidInputError);
    });
  });

  describe('one mailbox entry', () => {
    const ALICE = 'alice@corp.test';

    it('reads an entry by id, with no message record needed, case-insensitively by mailbox', async () => {
      // Prepare
      const entry = makeEntry(ALICE, 'g1', { receivedAt: minutesAgo(7), attachments: attachments(2) });
      await index.putMailboxEntry(entry);
      await index.putMailboxEntry(makeEntry(ALICE, 'g2', { receivedAt: minutesAgo(7) }));
      // Act
      const found = await index.getMailboxEntry('ALICE@corp.test', 'g1', NOW);
      // Assess
      expect(found).toEqual(entry);
    });

    it('answers null for another mailbox, an unknown id and an expired entry', async () => {
      // Prepare
      await index.putMessage(makeRecord('g-bob', { envelopeRecipients: ['bob@corp.test'] }));
      await index.putMailboxEntry(makeEntry('bob@corp.test', 'g-bob'));
      await index.putMessage(makeRecord('g-old', { expiresAt: EXPIRED }));
      await index.putMailboxEntry(makeEntry(ALICE, 'g-old', { expiresAt: EXPIRED }));
      // Act
      const others = await index.getMailboxEntry(ALICE, 'g-bob', NOW);
      const unknown = await index.getMailboxEntry(ALICE, 'g-none', NOW);
      const expired = await index.getMailboxEntry(ALICE, 'g-old', NOW);
      const odd = await Promise.all(['', 'x'.repeat(3000), 'MSG#g-bob'].map((id) => index.getMailboxEntry(ALICE, id, NOW)));
      // Assess
      expect([others, unknown, expired, ...odd]).toEqual([null, null, null, null, null, null]);
      expect(await index.getMailboxEntry(ALICE, 'g-old', new Date((EXPIRED - 1) * 1000))).not.toBeNull();
    });

    it('changes read and folder; the change shows in pages and survives a re-ingest', async () => {
      // Prepare
      const entry = makeEntry(ALICE, 'u1', { receivedAt: minutesAgo(3) });
      await index.putMailboxEntry(entry);
      await index.putMailboxEntry(makeEntry(ALICE, 'u2', { receivedAt: minutesAgo(2) }));
      // Act
      await index.updateMailboxEntry(ALICE, 'u1', { read: true });
      await index.updateMailboxEntry('Alice@Corp.Test', 'u1', { folder: 'deleted' });
      await index.putMailboxEntry(entry);
      // Assess
      expect(await index.getMailboxEntry(ALICE, 'u1', NOW)).toEqual({ ...entry, read: true, folder: 'deleted' });
      expect(ids((await index.listMailboxPage(ALICE, { folder: 'inbox', limit: 10 }, NOW)).entries)).toEqual(['u2']);
      const deleted = await index.listMailboxPage(ALICE, { folder: 'deleted', limit: 10 }, NOW);
      expect(deleted.entries).toEqual([{ ...entry, read: true, folder: 'deleted' }]);
    });

    it('changes only what it is given', async () => {
      // Prepare
      await index.putMailboxEntry(makeEntry(ALICE, 'u1', { read: true, folder: 'sent' }));
      // Act
      await index.updateMailboxEntry(ALICE, 'u1', { read: false });
      const afterRead = await index.getMailboxEntry(ALICE, 'u1', NOW);
      await index.updateMailboxEntry(ALICE, 'u1', { folder: 'inbox' });
      const afterFolder = await index.getMailboxEntry(ALICE, 'u1', NOW);
      await index.updateMailboxEntry(ALICE, 'u1', {});
      // Assess
      expect(afterRead).toMatchObject({ read: false, folder: 'sent' });
      expect(afterFolder).toMatchObject({ read: false, folder: 'inbox' });
      expect(await index.getMailboxEntry(ALICE, 'u1', NOW)).toEqual(afterFolder);
    });

    it('refuses to change a missing entry with a NotFoundError and creates nothing', async () => {
      // Prepare
      await index.putMessage(makeRecord('u-bob', { envelopeRecipients: ['bob@corp.test'] }));
      await index.putMailboxEntry(makeEntry('bob@corp.test', 'u-bob'));
      // Act
      const outcomes = await Promise.all(
        [
          index.updateMailboxEntry(ALICE, 'u-bob', { read: true }),
          index.updateMailboxEntry(ALICE, 'u-none', { folder: 'deleted' }),
          index.updateMailboxEntry(ALICE, 'u-none', {}),
        ].map((update) =>
          update.then(
            () => null,
            (error: unknown) => error,
          ),
        ),
      );
      // Assess
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(NotFoundError);
      expect(await index.getMailboxEntry('bob@corp.test', 'u-bob', NOW)).toMatchObject({ read: false, folder: 'inbox' });
      expect(await index.listMailboxPage(ALICE, { folder: 'inbox', limit: 10, includeQuarantined: true }, NOW)).toEqual({
        entries: [],
        nextCursor: null,
      });
      expect(await index.listMailboxPage(ALICE, { folder: 'deleted', limit: 10 }, NOW)).toEqual({ entries: [], nextCursor: null });
    });
  });
}
