// Trace, admin search and the received-mail list over the embedded store's tables: a
// lookup's index range (message_lookup), or the records of a time range that have live
// delivery states (received mail; Sent copies have none), newest first by position.
// Every record read is re-checked with core/trace.ts's predicate; one call examines at
// most `budget` rows before it answers with a cursor, so a search whose matches are
// rare stays a bounded call, as on DynamoDB.
import { normalizeAddress } from '../../../core/addresses.ts';
import { InvalidInputError } from '../../../core/errors.ts';
import { checkPageLimit } from '../../../core/mailbox.ts';
import type { MessageRecord } from '../../../core/model.ts';
import { cursorPosition, matchesMessageSearch, positionCursor, searchLookup, type TraceLookup } from '../../../core/trace.ts';
import type {
  MessageSearch,
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
  ReceivedRef,
  TraceQuery,
} from '../../../ports/message-search.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { DELIVERY_SCHEMA } from './delivery-log.ts';
import { epochSeconds } from './expiry.ts';
import { MAILBOX_ENTRY_SCHEMA, toEntry } from './mailbox-entries.ts';
import { MESSAGE_SCHEMA } from './message-records.ts';
import { ABOVE_EVERY_POSITION } from './positions.ts';

/** Rows one searchMessages call examines at most (DynamoDB's search budget reads as many items). */
export const DEFAULT_SEARCH_BUDGET = 5_000;
const DEFAULT_TRACE_LIMIT = 100;

interface RecordRow {
  position: string;
  record: string;
}

export class SqliteMessageSearch implements MessageSearch {
  private readonly byLookup;
  private readonly received;
  private readonly receivedIds;
  private readonly receivedEntries;

  constructor(
    db: LocalDatabase,
    private readonly budget = DEFAULT_SEARCH_BUDGET,
  ) {
    ensureSchema(db, [...MESSAGE_SCHEMA, ...MAILBOX_ENTRY_SCHEMA, ...DELIVERY_SCHEMA]);
    this.byLookup = db.prepare<[kind: string, value: string, lower: string, upper: string, live: number], RecordRow>(
      `SELECT l.position, m.record FROM message_lookup l JOIN message m ON m.ses_message_id = l.ses_message_id
       WHERE l.kind = ? AND l.value = ? AND l.position >= ? AND l.position < ? AND m.expires_at > ?
       ORDER BY l.position DESC`,
    );
    this.received = db.prepare<[lower: string, upper: string, live: number, liveState: number], RecordRow>(
      `SELECT m.position, m.record FROM message m
       WHERE m.position >= ? AND m.position < ? AND m.expires_at > ?
         AND EXISTS (SELECT 1 FROM delivery d WHERE d.ses_message_id = m.ses_message_id AND d.expires_at > ?)
       ORDER BY m.position DESC`,
    );
    this.receivedIds = db.prepare<[since: string, after: string, until: string, live: number, limit: number], ReceivedId>(
      `SELECT DISTINCT position, ses_message_id FROM delivery
       WHERE position >= ? AND position > ? AND position < ? AND expires_at > ?
       ORDER BY position LIMIT ?`,
    );
    this.receivedEntries = db.prepare<
      [mailbox: string, since: string, after: string, until: string, live: number, limit: number],
      { folder: string; is_read: number; entry: string; position: string }
    >(
      `SELECT position, folder, is_read, entry FROM mailbox_entry
       WHERE mailbox = ? AND position >= ? AND position > ? AND position < ? AND expires_at > ? AND folder <> 'sent'
       ORDER BY position LIMIT ?`,
    );
  }

  async findMessages(query: TraceQuery, now: Date): Promise<MessageRecord[]> {
    const lookup: TraceLookup | null =
      query.recipient !== undefined
        ? { kind: 'RCPT', value: query.recipient }
        : query.sender !== undefined
          ? { kind: 'FROM', value: query.sender }
          : query.messageIdHeader !== undefined
            ? { kind: 'MID', value: query.messageIdHeader }
            : null;
    const limit = query.limit ?? DEFAULT_TRACE_LIMIT;
    if (!lookup || limit <= 0) return [];
    const records: MessageRecord[] = [];
    for (const row of this.byLookup.iterate(lookup.kind, lookup.value, '', ABOVE_EVERY_POSITION, epochSeconds(now))) {
      records.push(JSON.parse(row.record) as MessageRecord);
      if (records.length >= limit) break;
    }
    return records;
  }

  async searchMessages(query: MessageSearchQuery, now: Date): Promise<MessageSearchPage> {
    checkPageLimit(query.limit);
    const before = cursorPosition(query.cursor);
    const lookup = searchLookup(query);
    if (!lookup && (query.since === undefined || query.until === undefined)) {
      throw new InvalidInputError('a search without recipient, sender or Message-ID needs since and until');
    }
    // A position starts with receivedAt: receivedAt ≥ since and < until are position ≥ since and < until.
    const lower = query.since ?? '';
    const upper = [query.until, before].reduce<string>(
      (bound, next) => (next != null && next < bound ? next : bound),
      ABOVE_EVERY_POSITION,
    );
    const live = epochSeconds(now);
    const rows = lookup
      ? this.byLookup.iterate(lookup.kind, lookup.value, lower, upper, live)
      : this.received.iterate(lower, upper, live, live);
    const messages: MessageRecord[] = [];
    let examined = 0;
    let lastExamined = '';
    let lastReturned = '';
    for (const row of rows) {
      if (examined === this.budget) {
        // More rows wait: continue below what this call has looked at.
        return { messages, nextCursor: positionCursor(messages.length === query.limit ? lastReturned : lastExamined) };
      }
      examined += 1;
      lastExamined = row.position;
      const record = JSON.parse(row.record) as MessageRecord;
      if (!matchesMessageSearch(record, query, now)) continue;
      if (messages.length === query.limit) return { messages, nextCursor: positionCursor(lastReturned) };
      messages.push(record);
      lastReturned = row.position;
    }
    return { messages, nextCursor: null };
  }

  async listReceived(query: ReceivedRangeQuery, now: Date): Promise<ReceivedRangePage> {
    checkPageLimit(query.limit);
    const after = cursorPosition(query.cursor) ?? '';
    const live = epochSeconds(now);
    // One row beyond the page tells whether there is a next one.
    const refs: Array<ReceivedRef & { position: string }> =
      query.mailbox === undefined
        ? this.receivedIds.all(query.since, after, query.until, live, query.limit + 1).map(({ position, ses_message_id: id }) => ({
            sesMessageId: id,
            receivedAt: position.slice(0, position.length - id.length - 1),
            recipients: null,
            position,
          }))
        : this.receivedEntries.all(normalizeAddress(query.mailbox), query.since, after, query.until, live, query.limit + 1).map((row) => {
            const entry = toEntry(row);
            return {
              sesMessageId: entry.sesMessageId,
              receivedAt: entry.receivedAt,
              recipients: [...entry.recipients],
              position: row.position,
            };
          });
    const page = refs.slice(0, query.limit);
    return {
      messages: page.map(({ position: _position, ...ref }) => ref),
      nextCursor: refs.length > query.limit ? positionCursor(page.at(-1)!.position) : null,
    };
  }
}

interface ReceivedId {
  position: string;
  ses_message_id: string;
}
