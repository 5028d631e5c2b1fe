// What the MessageIndex contracts share: the index under test, fixed times, record,
// entry and state builders, and helpers that follow cursors. Use-case tests build
// their data with the same builders.
import type {
  AttachmentInfo,
  DeliveryAttempt,
  DeliveryState,
  MailboxEntry,
  MessageRecord,
  MessageSummary,
} from '../../../lambdas/core/model.ts';
import type { DeliveryLog } from '../../../lambdas/ports/delivery-log.ts';
import type { DirectoryStore } from '../../../lambdas/ports/directory.ts';
import type { MailboxEntries, MailboxPage, MailboxPageQuery } from '../../../lambdas/ports/mailbox-entries.ts';
import type { MessageIndex } from '../../../lambdas/ports/message-index.ts';
import type { MessageRecords } from '../../../lambdas/ports/message-records.ts';
import type {
  MessageSearch,
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
} from '../../../lambdas/ports/message-search.ts';

export interface IndexUnderTest {
  index: MessageIndex;
  /** The directory sync's write of the address map on the same store. */
  addresses: Pick<DirectoryStore, 'putAddresses'>;
  cleanup?(): Promise<void>;
}

export const NOW = new Date('2030-03-01T12:00:00.000Z');
export const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
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

export function attempt(n: number, outcome: DeliveryAttempt['outcome'] = 'deferred'): DeliveryAttempt {
  return {
    at: new Date(NOW.getTime() + n * 1000).toISOString(),
    code: outcome === 'delivered' ? 250 : outcome === 'failed' ? 550 : 451,
    response: `${outcome} reply number ${n}`,
    outcome,
  };
}

export const ids = (records: Array<{ sesMessageId: string }>) => records.map((record) => record.sesMessageId);

/** Zero-padded ids, so id order and string order agree. */
export const nth = (prefix: string, i: number) => `${prefix}${String(i).padStart(3, '0')}`;

/** Every page from `first` on, following cursors; bounded so a cursor that never ends fails the test. */
async function followCursors<Page extends { nextCursor: string | null }>(
  first: string | null | undefined,
  read: (cursor: string | null) => Promise<Page>,
  maxPages: number,
): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor = first ?? null;
  do {
    if (pages.length >= maxPages) throw new Error(`still a next cursor after ${maxPages} pages`);
    const page = await read(cursor);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

/** Every page of a mailbox query. */
export async function allPages(
  index: MailboxEntries,
  mailbox: string,
  query: MailboxPageQuery,
  now: Date = NOW,
  maxPages = 200,
): Promise<MailboxPage[]> {
  return followCursors(query.cursor, (cursor) => index.listMailboxPage(mailbox, { ...query, cursor }, now), maxPages);
}

export const allIds = (pages: MailboxPage[]) => pages.flatMap((page) => ids(page.entries));

/** receivedAt `days` days (and `minutes` minutes) before NOW. */
export function daysAgo(days: number, minutes = 0): string {
  return new Date(NOW.getTime() - days * 86_400_000 - minutes * 60_000).toISOString();
}

/** A message as ingest leaves it: record plus one delivery state per envelope recipient. */
export async function putReceived(index: MessageRecords & DeliveryLog, record: MessageRecord): Promise<void> {
  await index.putMessage(record);
  for (const recipient of record.envelopeRecipients) {
    await index.createDeliveryState(
      makeState(record.sesMessageId, recipient, { receivedAt: record.receivedAt, expiresAt: record.expiresAt }),
    );
  }
}

/** Every page of an admin search. */
export async function allSearchPages(
  index: MessageSearch,
  query: MessageSearchQuery,
  now: Date = NOW,
  maxPages = 500,
): Promise<MessageSearchPage[]> {
  return followCursors(query.cursor, (cursor) => index.searchMessages({ ...query, cursor }, now), maxPages);
}

/** Every page of a received-mail listing. */
export async function allReceivedPages(
  index: MessageSearch,
  query: ReceivedRangeQuery,
  now: Date = NOW,
  maxPages = 500,
): Promise<ReceivedRangePage[]> {
  return followCursors(query.cursor, (cursor) => index.listReceived({ ...query, cursor }, now), maxPages);
}

export const searchIds = (pages: MessageSearchPage[]) => pages.flatMap((page) => ids(page.messages));
export const receivedIds = (pages: ReceivedRangePage[]) => pages.flatMap((page) => ids(page.messages));
