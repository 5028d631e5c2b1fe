// Use case: "did this message reach us, and did Exchange take it?" — the admin's
// message trace across every mailbox: by recipient, sender, Message-ID, subject and
// time range, paged newest first, with each recipient's delivery state and every
// attempt (time, SMTP code, the primary's reply). Admin searches and raw downloads
// are audited (adminTraceSearch, openRawMessage).
//
// The second half holds the search semantics both index adapters share (the match
// predicate, the position a cursor continues from), so memory and DynamoDB agree.
import type { Readable } from 'node:stream';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeliveryLog } from '../ports/delivery-log.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type { MessageSearch, MessageSearchQuery, TraceQuery } from '../ports/message-search.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import { addressOfMailbox, normalizeAddress, normalizeMessageId } from './addresses.ts';
import { audited } from './audit.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import { decodeCursor, encodeCursor, normalizeSearch } from './mailbox.ts';
import type { DeliveryState, MessageRecord } from './model.ts';
import { isLive } from './retention.ts';
import { parseTime } from './time-input.ts';

export interface TracedMessage {
  message: MessageRecord;
  deliveries: DeliveryState[];
}

/** Without recipient, sender or Message-ID a search covers this many days unless `since` says otherwise. */
export const DEFAULT_TRACE_WINDOW_DAYS = 31;
export const MAX_TRACE_WINDOW_DAYS = 3660;
export const DEFAULT_TRACE_PAGE = 50;
export const MAX_TRACE_PAGE = 500;

/** The first trace: exactly one of recipient, sender or Message-ID, up to `limit` messages (the CLI's trace before paging). */
export async function traceMessages(query: TraceQuery, index: MessageSearch & DeliveryLog, now: Date): Promise<TracedMessage[]> {
  const criteria = [query.recipient, query.sender, query.messageIdHeader].filter((value) => value !== undefined);
  if (criteria.length !== 1) throw new InvalidInputError('trace needs exactly one of recipient, sender or message id');
  const normalized: TraceQuery = {
    limit: query.limit ?? 100,
    ...(query.recipient !== undefined && { recipient: normalizeAddress(query.recipient) }),
    ...(query.sender !== undefined && { sender: normalizeAddress(query.sender) }),
    ...(query.messageIdHeader !== undefined && { messageIdHeader: normalizeMessageId(query.messageIdHeader) }),
  };
  const messages = await index.findMessages(normalized, now);
  const traced = await withDeliveries(messages, index, now);
  return traced.sort((a, b) => b.message.receivedAt.localeCompare(a.message.receivedAt));
}

export interface TraceSearchInput {
  recipient?: string;
  sender?: string;
  /** The Message-ID header, with or without angle brackets. */
  messageId?: string;
  /** Case-insensitive substring of the subject. */
  subject?: string;
  since?: string | Date;
  until?: string | Date;
  cursor?: string | null;
  limit?: number;
}

export interface TracePage {
  messages: TracedMessage[];
  nextCursor: string | null;
  /** The query as run (normalized, with the time range filled in): show it, audit it. */
  query: MessageSearchQuery;
}

export interface TraceDeps {
  index: MessageRecords & DeliveryLog & MessageSearch;
  clock: Clock;
}

/**
 * Checks and normalizes a search: addresses and Message-ID in comparison form, the
 * subject folded, the range [since, until) in ISO UTC. A search by subject or time
 * alone gets a window (the last 31 days unless since is given).
 */
export function normalizeTraceSearch(input: TraceSearchInput, now: Date): MessageSearchQuery {
  const limit = input.limit ?? DEFAULT_TRACE_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TRACE_PAGE) {
    throw new InvalidInputError(`page size must be a whole number from 1 to ${MAX_TRACE_PAGE}`);
  }
  const recipient = optionalAddress(input.recipient, 'recipient');
  const sender = input.sender === undefined ? undefined : normalizeAddress(input.sender);
  const messageIdHeader = input.messageId === undefined || input.messageId.trim() === '' ? undefined : normalizeMessageId(input.messageId);
  const subject = input.subject === undefined ? '' : normalizeSearch(input.subject);
  let since = input.since === undefined || input.since === '' ? undefined : parseTime(input.since, 'since');
  let until = input.until === undefined || input.until === '' ? undefined : parseTime(input.until, 'until');
  const selective = recipient !== undefined || sender !== undefined || messageIdHeader !== undefined;
  if (!selective) {
    until ??= new Date(now.getTime() + 60_000);
    since ??= new Date(until.getTime() - DEFAULT_TRACE_WINDOW_DAYS * 86_400_000);
  }
  if (since && until) {
    if (since.getTime() >= until.getTime()) throw new InvalidInputError('since must be before until');
    if (!selective && until.getTime() - since.getTime() > MAX_TRACE_WINDOW_DAYS * 86_400_000) {
      throw new InvalidInputError(`a search without recipient, sender or Message-ID covers at most ${MAX_TRACE_WINDOW_DAYS} days`);
    }
  }
  decodeCursor(input.cursor);
  return {
    limit,
    cursor: input.cursor ?? null,
    ...(recipient !== undefined && { recipient }),
    ...(sender !== undefined && { sender }),
    ...(messageIdHeader !== undefined && { messageIdHeader }),
    ...(subject !== '' && { subject }),
    ...(since && { since: since.toISOString() }),
    ...(until && { until: until.toISOString() }),
  };
}

/** One page of a trace search, newest first, each message with its delivery states and attempts. */
export async function searchTrace(input: TraceSearchInput, deps: TraceDeps): Promise<TracePage> {
  const now = deps.clock.now();
  const query = normalizeTraceSearch(input, now);
  const page = await deps.index.searchMessages(query, now);
  return { messages: await withDeliveries(page.messages, deps.index, now), nextCursor: page.nextCursor, query };
}

/** searchTrace for an admin, recorded in the audit log as trace.search. */
export async function adminTraceSearch(actor: string, input: TraceSearchInput, deps: TraceDeps & { audit: AuditLog }): Promise<TracePage> {
  const details = {
    recipient: input.recipient ?? null,
    sender: input.sender ?? null,
    messageId: input.messageId ?? null,
    subject: input.subject ?? null,
    since: input.since === undefined ? null : String(input.since instanceof Date ? input.since.toISOString() : input.since),
    until: input.until === undefined ? null : String(input.until instanceof Date ? input.until.toISOString() : input.until),
    page: input.cursor ? 'next' : 'first',
  };
  return audited(
    deps.audit,
    deps.clock,
    { actor, action: 'trace.search', details },
    () => searchTrace(input, deps),
    (page) => ({
      results: page.messages.length,
    }),
  );
}

/** One message's trace by its id (the SES message id trace shows); NotFoundError when unknown or expired. */
export async function traceOne(sesMessageId: string, deps: TraceDeps): Promise<TracedMessage> {
  const now = deps.clock.now();
  const record = isPlausibleId(sesMessageId) ? await deps.index.getMessage(sesMessageId, now) : null;
  if (!record) throw new NotFoundError(`no message ${sesMessageId}`);
  return { message: record, deliveries: await deps.index.getDeliveryStates(sesMessageId, now) };
}

export interface RawDownload {
  record: MessageRecord;
  /** A file name for the download: `<sesMessageId>.eml`. */
  filename: string;
  size: number;
  /** The stored bytes, unchanged. The caller must read or destroy it. */
  body: Readable;
}

/** The stored .eml of a message for an admin, recorded as message.raw-download. */
export async function openRawMessage(
  actor: string,
  sesMessageId: string,
  deps: TraceDeps & { rawStore: RawMailStore; audit: AuditLog },
): Promise<RawDownload> {
  return audited(
    deps.audit,
    deps.clock,
    { actor, action: 'message.raw-download', target: sesMessageId },
    async () => {
      const now = deps.clock.now();
      const record = isPlausibleId(sesMessageId) ? await deps.index.getMessage(sesMessageId, now) : null;
      if (!record) throw new NotFoundError(`no message ${sesMessageId}`);
      const size = await deps.rawStore.size(record.raw);
      const body = await deps.rawStore.open(record.raw);
      return { record, filename: `${sesMessageId.replace(/[^A-Za-z0-9._-]/g, '_')}.eml`, size, body };
    },
    (download) => ({ size: download.size }),
  );
}

async function withDeliveries(messages: MessageRecord[], index: DeliveryLog, now: Date): Promise<TracedMessage[]> {
  const traced: TracedMessage[] = [];
  for (const message of messages) traced.push({ message, deliveries: await index.getDeliveryStates(message.sesMessageId, now) });
  return traced;
}

// ---- search semantics shared by the index adapters ---------------------------------

/** Where a message sits in a search: newest first is descending order of this string (the lookup index's sort key). */
export function searchPosition(record: Pick<MessageRecord, 'receivedAt' | 'sesMessageId'>): string {
  return `${record.receivedAt}#${record.sesMessageId}`;
}

export const positionCursor = (position: string): string => encodeCursor(position);
/** The position a cursor continues from (below it for searches, above it for listReceived); null for the first page. */
export const cursorPosition = (cursor: string | null | undefined): string | null => decodeCursor(cursor);

/** Whether a record belongs to a search's result (everything but the cursor). */
export function matchesMessageSearch(record: MessageRecord, query: MessageSearchQuery, now: Date): boolean {
  if (!isLive(record, now)) return false;
  if (query.since !== undefined && record.receivedAt < query.since) return false;
  if (query.until !== undefined && record.receivedAt >= query.until) return false;
  if (query.recipient !== undefined && !record.envelopeRecipients.some((recipient) => normalizeAddress(recipient) === query.recipient))
    return false;
  if (
    query.sender !== undefined &&
    normalizeAddress(record.envelopeFrom) !== query.sender &&
    !record.summary.from.some((from) => addressOfMailbox(from) === query.sender)
  ) {
    return false;
  }
  if (
    query.messageIdHeader !== undefined &&
    (record.summary.messageIdHeader === null || normalizeMessageId(record.summary.messageIdHeader) !== query.messageIdHeader)
  ) {
    return false;
  }
  if (query.subject !== undefined && query.subject !== '' && !foldSubject(record.summary.subject).includes(query.subject)) return false;
  return true;
}

/** A value an index finds messages by: an envelope recipient, a sender or a Message-ID, in comparison form. */
export interface TraceLookup {
  kind: 'RCPT' | 'FROM' | 'MID';
  value: string;
}

/** The lookups an index keeps for a message, each once: its envelope recipients, senders (envelope and From) and Message-ID. */
export function traceLookupsOf(record: MessageRecord): TraceLookup[] {
  const lookups = new Map<string, TraceLookup>();
  const add = (kind: TraceLookup['kind'], value: string) => lookups.set(`${kind}#${value}`, { kind, value });
  for (const recipient of record.envelopeRecipients) add('RCPT', normalizeAddress(recipient));
  add('FROM', normalizeAddress(record.envelopeFrom));
  for (const from of record.summary.from) add('FROM', addressOfMailbox(from));
  if (record.summary.messageIdHeader !== null) add('MID', normalizeMessageId(record.summary.messageIdHeader));
  return [...lookups.values()];
}

/** The driving criterion of a search: a lookup the index keeps, or null for the day partitions. */
export function searchLookup(query: MessageSearchQuery): TraceLookup | null {
  if (query.messageIdHeader !== undefined) return { kind: 'MID', value: query.messageIdHeader };
  if (query.recipient !== undefined) return { kind: 'RCPT', value: query.recipient };
  if (query.sender !== undefined) return { kind: 'FROM', value: query.sender };
  return null;
}

/** The UTC day (yyyy-mm-dd) of an ISO time: the partition of the day lookup. */
export function dayOf(iso: string): string {
  const parsed = Date.parse(iso);
  return Number.isNaN(parsed) ? iso.slice(0, 10) : new Date(parsed).toISOString().slice(0, 10);
}

/** Days from `first` to `last` (yyyy-mm-dd, inclusive), in the direction given. */
export function daysBetween(first: string, last: string, newestFirst: boolean): string[] {
  const days: string[] = [];
  const start = Date.parse(`${first}T00:00:00.000Z`);
  const end = Date.parse(`${last}T00:00:00.000Z`);
  for (let at = start; at <= end && days.length <= MAX_TRACE_WINDOW_DAYS + 1; at += 86_400_000)
    days.push(new Date(at).toISOString().slice(0, 10));
  return newestFirst ? days.reverse() : days;
}

/** The subject as search compares it (see normalizeSearch in mailbox.ts). */
function foldSubject(subject: string): string {
  return subject.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
}

function optionalAddress(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const address = normalizeAddress(value);
  if (address === '') throw new InvalidInputError(`${name} must be an address`);
  return address;
}

function isPlausibleId(value: string): boolean {
  return /^[\x21-\x7e]{1,256}$/.test(value);
}
