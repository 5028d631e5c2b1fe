// The behavioural contract of a MessageIndex, written once and run against every
// implementation (the in-memory reference and DynamoDB on several servers), so
// the fast use-case tests and production share one meaning.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../../lambdas/core/errors.ts';
import type {
  AttachmentInfo,
  DeliveryAttempt,
  DeliveryState,
  MailboxEntry,
  MessageRecord,
  MessageSummary,
} from '../../lambdas/core/model.ts';
import type { DirectoryStore } from '../../lambdas/ports/directory.ts';
import type { MailboxPage, MailboxPageQuery } from '../../lambdas/ports/mailbox-entries.ts';
import type { MessageIndex } from '../../lambdas/ports/message-index.ts';
import type { MessageSearchPage, MessageSearchQuery, ReceivedRangePage, ReceivedRangeQuery } from '../../lambdas/ports/message-search.ts';
import { MAX_STORED_ATTEMPTS } from './memory-index/delivery-log.ts';

export interface IndexUnderTest {
  index: MessageIndex;
  /** The directory sync's write of the address map on the same store. */
  addresses: Pick<DirectoryStore, 'putAddresses'>;
  cleanup?(): Promise<void>;
}

export const NOW = new Date('2030-03-01T12:00:00.000Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
export const LIVE = NOW_SECONDS + 30 * 86_400;
export const EXPIRED = NOW_SECONDS - 60;

/** receivedAt `minutes` before NOW. */
export function minutesAgo(minutes: number): string {
  return new Date(NOW.getTime() - minutes * 60_000).toISOString();
}

export function attachments(count: number, name = (i: number) => `scan-${String(i).padStart(5, '0')}.pdf`): AttachmentInfo[] {
  return Array.from({ length: count }, (_, i) => ({
    filename: name(i),
    contentType: 'application/pdf',
    size: 10_000 + i,
    contentId: i % 10 === 0 ? `<part${i}@corp.test>` : null,
    inline: i % 10 === 0,
  }));
}

export function makeRecord(
  sesMessageId: string,
  overrides: Partial<Omit<MessageRecord, 'summary'>> & { summary?: Partial<MessageSummary> } = {},
): MessageRecord {
  const { summary, ...rest } = overrides;
  return {
    sesMessageId,
    receivedAt: minutesAgo(10),
    expiresAt: LIVE,
    envelopeFrom: 'sender@ext.example',
    envelopeRecipients: ['alice@corp.test'],
    verdicts: { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'GRAY', dmarc: 'PASS' },
    visibility: 'normal',
    spamFlagged: false,
    raw: { bucket: 'raw-mail', key: `raw/${sesMessageId}` },
    size: 2048,
    loopDetected: false,
    ...rest,
    summary: {
      from: ['Sender <sender@ext.example>'],
      to: ['alice@corp.test'],
      cc: [],
      replyTo: [],
      subject: `Subject of ${sesMessageId}`,
      date: '2030-03-01T11:00:00.000Z',
      messageIdHeader: `<${sesMessageId}@ext.example>`,
      inReplyTo: null,
      references: [],
      snippet: 'Hello, this is the start of the body',
      hasHtml: true,
      attachments: [],
      forwardStamps: [],
      parseError: null,
      ...summary,
    },
  };
}

export function makeEntry(mailbox: string, sesMessageId: string, overrides: Partial<MailboxEntry> = {}): MailboxEntry {
  return {
    mailbox,
    sesMessageId,
    receivedAt: minutesAgo(10),
    expiresAt: LIVE,
    recipients: [mailbox],
    folder: 'inbox',
    read: false,
    visibility: 'normal',
    spamFlagged: false,
    size: 2048,
    from: ['Sender <sender@ext.example>'],
    to: [mailbox],
    cc: [],
    subject: `Subject of ${sesMessageId}`,
    date: null,
    snippet: 'Hello',
    attachments: [],
    ...overrides,
  };
}

export function makeState(sesMessageId: string, recipient: string, overrides: Partial<DeliveryState> = {}): DeliveryState {
  return {
    sesMessageId,
    recipient,
    state: 'queued',
    receivedAt: minutesAgo(10),
    expiresAt: LIVE,
    attempts: [],
    attemptCount: 0,
    lastReply: null,
    updatedAt: minutesAgo(10),
    reason: null,
    ...overrides,
  };
}

function attempt(n: number, outcome: DeliveryAttempt['outcome'] = 'deferred'): DeliveryAttempt {
  return {
    at: new Date(NOW.getTime() + n * 1000).toISOString(),
    code: outcome === 'delivered' ? 250 : outcome === 'failed' ? 550 : 451,
    response: `${outcome} reply number ${n}`,
    outcome,
  };
}

const ids = (records: Array<{ sesMessageId: string }>) => records.map((record) => record.sesMessageId);

/** Zero-padded ids, so id order and string order agree. */
const nth = (prefix: string, i: number) => `${prefix}${String(i).padStart(3, '0')}`;

/** Every page of a query, following cursors; bounded so a cursor that never ends fails the test. */
export async function allPages(
  index: MessageIndex,
  mailbox: string,
  query: MailboxPageQuery,
  now: Date = NOW,
  maxPages = 200,
): Promise<MailboxPage[]> {
  const pages: MailboxPage[] = [];
  let cursor: string | null = query.cursor ?? null;
  do {
    if (pages.length >= maxPages) throw new Error(`still a next cursor after ${maxPages} pages`);
    const page = await index.listMailboxPage(mailbox, { ...query, cursor }, now);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

const allIds = (pages: MailboxPage[]) => pages.flatMap((page) => ids(page.entries));

/** receivedAt `days` days (and `minutes` minutes) before NOW. */
export function daysAgo(days: number, minutes = 0): string {
  return new Date(NOW.getTime() - days * 86_400_000 - minutes * 60_000).toISOString();
}

/** A message as ingest leaves it: record plus one delivery state per envelope recipient. */
export async function putReceived(index: MessageIndex, record: MessageRecord): Promise<void> {
  await index.putMessage(record);
  for (const recipient of record.envelopeRecipients) {
    await index.createDeliveryState(
      makeState(record.sesMessageId, recipient, { receivedAt: record.receivedAt, expiresAt: record.expiresAt }),
    );
  }
}

/** Every page of a search, following cursors; bounded so a cursor that never ends fails the test. */
export async function allSearchPages(
  index: MessageIndex,
  query: MessageSearchQuery,
  now: Date = NOW,
  maxPages = 500,
): Promise<MessageSearchPage[]> {
  const pages: MessageSearchPage[] = [];
  let cursor: string | null = query.cursor ?? null;
  do {
    if (pages.length >= maxPages) throw new Error(`still a next cursor after ${maxPages} pages`);
    const page = await index.searchMessages({ ...query, cursor }, now);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

export async function allReceivedPages(
  index: MessageIndex,
  query: ReceivedRangeQuery,
  now: Date = NOW,
  maxPages = 500,
): Promise<ReceivedRangePage[]> {
  const pages: ReceivedRangePage[] = [];
  let cursor: string | null = query.cursor ?? null;
  do {
    if (pages.length >= maxPages) throw new Error(`still a next cursor after ${maxPages} pages`);
    const page = await index.listReceived({ ...query, cursor }, now);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

const searchIds = (pages: MessageSearchPage[]) => pages.flatMap((page) => ids(page.messages));
const receivedIds = (pages: ReceivedRangePage[]) => pages.flatMap((page) => ids(page.messages));

export function describeMessageIndexContract(name: string, makeIndex: () => Promise<IndexUnderTest>): void {
  describe(`MessageIndex contract: ${name}`, () => {
    let index: MessageIndex;
    let addresses: IndexUnderTest['addresses'];
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      const made = await makeIndex();
      index = made.index;
      addresses = made.addresses;
      cleanup = made.cleanup?.bind(made);
    });

    afterEach(async () => {
      await cleanup?.();
    });

    describe('address map', () => {
      it('maps addresses case-insensitively and knows nothing of unknown addresses', async () => {
        // Prepare
        await addresses.putAddresses([{ address: 'sales@corp.test', mailbox: 'alice@corp.test' }]);
        // Act
        const alias = await index.mailboxFor('  <sales@CORP.test> ');
        const unknown = await index.mailboxFor('nobody@corp.test');
        // Assess
        expect(alias).toBe('alice@corp.test');
        expect(unknown).toBeNull();
      });

      it('a later mapping of the same address replaces the earlier one', async () => {
        // Prepare
        await addresses.putAddresses([{ address: 'sales@corp.test', mailbox: 'alice@corp.test' }]);
        // Act
        await addresses.putAddresses([{ address: 'sales@corp.test', mailbox: 'bob@corp.test' }]);
        // Assess
        expect(await index.mailboxFor('sales@corp.test')).toBe('bob@corp.test');
      });
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

    describe('delivery states', () => {
      it('creates a state once: a re-ingest never resets progress', async () => {
        // Prepare
        await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
        await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(1), 'deferred', null);
        // Act
        await index.createDeliveryState(makeState('m1', 'Alice@Corp.Test'));
        // Assess
        const [state] = await index.getDeliveryStates('m1', NOW);
        expect(state).toMatchObject({ state: 'deferred', attemptCount: 1, recipient: 'alice@corp.test' });
      });

      it('lists the live states of one message', async () => {
        // Prepare
        await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
        await index.createDeliveryState(makeState('m1', 'bob@corp.test', { state: 'delivered' }));
        await index.createDeliveryState(makeState('m1', 'old@corp.test', { expiresAt: EXPIRED }));
        await index.createDeliveryState(makeState('m2', 'carol@corp.test'));
        // Act
        const states = await index.getDeliveryStates('m1', NOW);
        // Assess
        const sorted = [...states].sort((a, b) => a.recipient.localeCompare(b.recipient));
        expect(sorted).toEqual([makeState('m1', 'alice@corp.test'), makeState('m1', 'bob@corp.test', { state: 'delivered' })]);
        expect(await index.getDeliveryStates('m-none', NOW)).toEqual([]);
      });

      it('records an attempt: appended, counted, state, last reply, time and reason set', async () => {
        // Prepare
        await index.createDeliveryState(makeState('m1', 'Bob@Corp.Test'));
        await index.recordDeliveryAttempt('m1', 'bob@corp.test', attempt(1), 'deferred', null);
        // Act
        await index.recordDeliveryAttempt('m1', 'BOB@corp.test', attempt(2, 'failed'), 'failed', 'permanent failure: 550');
        // Assess
        const [state] = await index.getDeliveryStates('m1', NOW);
        expect(state).toEqual(
          makeState('m1', 'Bob@Corp.Test', {
            state: 'failed',
            attempts: [attempt(1), attempt(2, 'failed')],
            attemptCount: 2,
            lastReply: attempt(2, 'failed').response,
            updatedAt: attempt(2, 'failed').at,
            reason: 'permanent failure: 550',
          }),
        );
      });

      it('keeps the configuration fault an attempt failed on, and none where there was none', async () => {
        // Prepare
        await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
        const refused = { ...attempt(1), code: 535, configurationFault: 'auth' as const };
        // Act
        await index.recordDeliveryAttempt('m1', 'alice@corp.test', refused, 'deferred', null);
        await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(2), 'deferred', null);
        // Assess
        const [state] = await index.getDeliveryStates('m1', NOW);
        expect(state!.attempts).toEqual([refused, attempt(2)]);
        expect(state!.attempts[1]).not.toHaveProperty('configurationFault');
      });

      it(`keeps the last ${MAX_STORED_ATTEMPTS} attempts and counts them all`, async () => {
        // Prepare
        await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
        // Act
        for (let n = 1; n <= MAX_STORED_ATTEMPTS + 5; n += 1) {
          await index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(n), 'deferred', null);
        }
        // Assess
        const [state] = await index.getDeliveryStates('m1', NOW);
        expect(state?.attemptCount).toBe(MAX_STORED_ATTEMPTS + 5);
        expect(state?.attempts).toHaveLength(MAX_STORED_ATTEMPTS);
        expect(state?.attempts[0]).toEqual(attempt(6));
        expect(state?.attempts.at(-1)).toEqual(attempt(MAX_STORED_ATTEMPTS + 5));
      });

      it('loses no attempt when several workers record at once', async () => {
        // Prepare
        await index.createDeliveryState(makeState('m1', 'alice@corp.test'));
        // Act
        await Promise.all(
          Array.from({ length: 8 }, (_, n) => index.recordDeliveryAttempt('m1', 'alice@corp.test', attempt(n), 'deferred', null)),
        );
        // Assess
        const [state] = await index.getDeliveryStates('m1', NOW);
        expect(state?.attemptCount).toBe(8);
        expect(new Set(state?.attempts.map((a) => a.response))).toEqual(new Set(Array.from({ length: 8 }, (_, n) => attempt(n).response)));
      });

      it('refuses an attempt for a recipient without a state', async () => {
        // Act
        const recording = index.recordDeliveryAttempt('m-none', 'alice@corp.test', attempt(1), 'deferred', null);
        // Assess
        await expect(recording).rejects.toThrow();
      });
    });

    describe('once-gate', () => {
      const LEASE = 60_000;
      const later = (ms: number) => new Date(NOW.getTime() + ms);

      it('gives the gate to one owner; others are busy, the owner may re-enter', async () => {
        // Act
        const first = await index.acquireOnce('enqueue#m1', 'worker-a', NOW, LEASE);
        const other = await index.acquireOnce('enqueue#m1', 'worker-b', later(1000), LEASE);
        const again = await index.acquireOnce('enqueue#m1', 'worker-a', later(2000), LEASE);
        // Assess
        expect([first, other, again]).toEqual(['acquired', 'busy', 'acquired']);
      });

      it('lets exactly one of two racing owners acquire', async () => {
        // Act
        const races = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            Promise.all([
              index.acquireOnce(`relay#race${i}#0`, 'worker-a', NOW, LEASE),
              index.acquireOnce(`relay#race${i}#0`, 'worker-b', NOW, LEASE),
            ]),
          ),
        );
        // Assess
        for (const results of races) expect([...results].sort()).toEqual(['acquired', 'busy']);
      });

      it('lets another owner take over an expired lease; the old owner can then neither complete nor release', async () => {
        // Prepare
        await index.acquireOnce('relay#m1#0', 'worker-a', NOW, LEASE);
        // Act
        const takeover = await index.acquireOnce('relay#m1#0', 'worker-b', later(LEASE + 1), LEASE);
        await index.completeOnce('relay#m1#0', 'worker-a');
        await index.releaseOnce('relay#m1#0', 'worker-a');
        const oldOwner = await index.acquireOnce('relay#m1#0', 'worker-a', later(LEASE + 2), LEASE);
        // Assess
        expect(takeover).toBe('acquired');
        expect(oldOwner).toBe('busy');
      });

      it('stays done once completed, for every owner and after a release attempt', async () => {
        // Prepare
        await index.acquireOnce('enqueue#m1', 'worker-a', NOW, LEASE);
        await index.completeOnce('enqueue#m1', 'worker-a');
        // Act
        await index.releaseOnce('enqueue#m1', 'worker-a');
        const sameOwner = await index.acquireOnce('enqueue#m1', 'worker-a', later(1), LEASE);
        const otherOwner = await index.acquireOnce('enqueue#m1', 'worker-b', later(LEASE * 10), LEASE);
        // Assess
        expect([sameOwner, otherOwner]).toEqual(['done', 'done']);
      });

      it('frees the gate on release by its owner, not on release by anyone else', async () => {
        // Prepare
        await index.acquireOnce('enqueue#m1', 'worker-a', NOW, LEASE);
        // Act
        await index.releaseOnce('enqueue#m1', 'worker-b');
        const whileHeld = await index.acquireOnce('enqueue#m1', 'worker-b', later(1), LEASE);
        await index.releaseOnce('enqueue#m1', 'worker-a');
        const afterRelease = await index.acquireOnce('enqueue#m1', 'worker-b', later(2), LEASE);
        // Assess
        expect([whileHeld, afterRelease]).toEqual(['busy', 'acquired']);
      });

      it('keeps gates apart by key', async () => {
        // Act
        const a = await index.acquireOnce('relay#m1#0', 'worker-a', NOW, LEASE);
        const b = await index.acquireOnce('relay#m1#1', 'worker-b', NOW, LEASE);
        // Assess
        expect([a, b]).toEqual(['acquired', 'acquired']);
      });
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
        await index.putMailboxEntry(
          makeEntry(ALICE, 'mb-1', { receivedAt: daysAgo(2), recipients: ['alice@corp.test', 'sales@corp.test'] }),
        );
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
        const nobody = await index.listReceived(
          { mailbox: 'nobody@corp.test', since: daysAgo(3), until: NOW.toISOString(), limit: 5 },
          NOW,
        );
        // Assess
        expect(empty).toEqual({ messages: [], nextCursor: null });
        expect(nobody).toEqual({ messages: [], nextCursor: null });
      });
    });

    describe('attempts made outside the forward (recordExtraAttempt)', () => {
      it("adds the attempt to the history; delivered wins, anything else keeps the forward's state", async () => {
        // Prepare
        await index.createDeliveryState(
          makeState('x1', 'a@corp.test', {
            state: 'failed',
            reason: 'permanent failure: 550',
            attemptCount: 1,
            attempts: [attempt(1, 'failed')],
          }),
        );
        await index.createDeliveryState(makeState('x1', 'b@corp.test', { state: 'deferred', attemptCount: 1, attempts: [attempt(1)] }));
        // Act
        await index.recordExtraAttempt('x1', 'A@corp.test', { ...attempt(2, 'delivered'), response: 'resend r1: 250 ok' });
        await index.recordExtraAttempt('x1', 'b@corp.test', { ...attempt(3, 'failed'), response: 'resend r1: 550 no' });
        await index.recordExtraAttempt('x1', 'nobody@corp.test', attempt(4, 'delivered'));
        // Assess
        const states = (await index.getDeliveryStates('x1', NOW)).sort((x, y) => x.recipient.localeCompare(y.recipient));
        expect(states.map((state) => [state.recipient, state.state, state.reason, state.attemptCount, state.lastReply])).toEqual([
          ['a@corp.test', 'delivered', null, 2, 'resend r1: 250 ok'],
          ['b@corp.test', 'deferred', null, 2, 'resend r1: 550 no'],
        ]);
        expect(states[0]?.attempts.at(-1)).toEqual({ ...attempt(2, 'delivered'), response: 'resend r1: 250 ok' });
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
  });
}
