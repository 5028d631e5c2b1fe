// Admin search and the bulk-resend listing on the lookup index (gsi1): one lookup
// partition, or the DAY partitions of the range; every fetched record is re-checked
// with core/trace.ts's predicate, and one call reads at most the search budget before
// it answers with a cursor. Details: docs/design.md (the data model).
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, type LookupKind, MESSAGE_TABLE } from '../../contract/message-table.ts';
import { addressOfMailbox, normalizeAddress, normalizeMessageId } from '../../core/addresses.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { checkPageLimit } from '../../core/mailbox.ts';
import type { MessageRecord } from '../../core/model.ts';
import { isLive } from '../../core/retention.ts';
import { cursorPosition, dayOf, daysBetween, matchesMessageSearch, positionCursor, searchLookup } from '../../core/trace.ts';
import type {
  MessageSearch,
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
  ReceivedRef,
  TraceQuery,
} from '../../ports/message-search.ts';
import { ENTRY_PREFIX, toEntry } from './dynamodb-mailbox-entries.ts';
import { readRecords } from './dynamodb-message-records.ts';
import {
  BATCH_GET_SIZE,
  type DynamoTable,
  type Item,
  type PageBudget,
  type QueryInput,
  queryLive,
  ReadBudget,
} from './dynamodb-toolkit.ts';

/** Bound on one searchMessages or listReceived call (Query and BatchGet requests, lookup items evaluated). */
export const DEFAULT_SEARCH_BUDGET: PageBudget = { items: 5_000, requests: 40 };
const DEFAULT_TRACE_LIMIT = 100;
/** Sort key bounds: every position (an ISO time, '#', an id) sorts between them. */
const LOWEST_POSITION = '0';
const HIGHEST_POSITION = '\uffff';

export class DynamoDbMessageSearch implements MessageSearch {
  constructor(
    private readonly table: DynamoTable,
    /** Items per Query page; unset means DynamoDB's own 1 MB pages. */
    private readonly pageSize: number | undefined,
    private readonly searchBudget: PageBudget = DEFAULT_SEARCH_BUDGET,
  ) {}

  async findMessages(query: TraceQuery, now: Date): Promise<MessageRecord[]> {
    const criterion: [LookupKind, string] | null =
      query.recipient !== undefined
        ? ['RCPT', query.recipient]
        : query.sender !== undefined
          ? ['FROM', query.sender]
          : query.messageIdHeader !== undefined
            ? ['MID', query.messageIdHeader]
            : null;
    const limit = query.limit ?? DEFAULT_TRACE_LIMIT;
    const results: MessageRecord[] = [];
    if (!criterion || limit <= 0) return results;

    const { lookupIndex } = MESSAGE_TABLE;
    const pages = queryLive(
      this.table,
      {
        IndexName: lookupIndex.name,
        KeyConditionExpression: '#gpk = :gpk',
        ExpressionAttributeNames: { '#gpk': lookupIndex.partitionKey },
        ExpressionAttributeValues: { ':gpk': keys.lookupIndexPartition(...criterion) },
        ScanIndexForward: false,
      },
      now,
      this.pageSize,
    );
    const seen = new Set<string>();
    for await (const page of pages) {
      const ids = page.map((item) => String(item.pk).slice('MSG#'.length)).filter((id) => !seen.has(id) && seen.add(id));
      let offset = 0;
      while (offset < ids.length && results.length < limit) {
        const chunk = ids.slice(offset, offset + Math.min(BATCH_GET_SIZE, limit - results.length));
        offset += chunk.length;
        const records = await readRecords(this.table, chunk);
        for (const id of chunk) {
          const record = records.get(id);
          if (record && isLive(record, now) && matchesTrace(record, query)) results.push(record);
        }
      }
      if (results.length >= limit) break;
    }
    return results.slice(0, limit);
  }

  async searchMessages(query: MessageSearchQuery, now: Date): Promise<MessageSearchPage> {
    checkPageLimit(query.limit);
    const before = cursorPosition(query.cursor);
    const lookup = searchLookup(query);
    if (!lookup && (query.since === undefined || query.until === undefined)) {
      throw new InvalidInputError('a search without recipient, sender or Message-ID needs since and until');
    }
    const lower = query.since ?? LOWEST_POSITION;
    const upper = minString(query.until ?? HIGHEST_POSITION, before ?? HIGHEST_POSITION);
    const messages: MessageRecord[] = [];
    if (lower > upper) return { messages, nextCursor: null };
    const partitions = lookup
      ? [{ partition: keys.lookupIndexPartition(lookup.kind, lookup.value), day: null }]
      : daysBetween(dayOf(lower), dayOf(upper), true).map((day) => ({ partition: keys.lookupIndexPartition('DAY', day), day }));
    const budget = new ReadBudget(this.searchBudget);
    const { lookupIndex } = MESSAGE_TABLE;
    // Everything from the top of the range down to `resume` has been looked at.
    let resume: string | null = null;
    for (const { partition, day } of partitions) {
      let startKey: Item | undefined;
      do {
        if (budget.spent()) return { messages, nextCursor: resume === null ? null : positionCursor(resume) };
        const page = await this.queryOnce(
          {
            IndexName: lookupIndex.name,
            KeyConditionExpression: '#gpk = :gpk AND #gsk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#gpk': lookupIndex.partitionKey, '#gsk': lookupIndex.sortKey },
            ExpressionAttributeValues: { ':gpk': partition, ':lo': lower, ':hi': upper },
            ScanIndexForward: false,
          },
          startKey,
          now,
          budget,
        );
        const items = page.items.filter((item) => item[lookupIndex.sortKey] !== before);
        for (let offset = 0; offset < items.length; offset += BATCH_GET_SIZE) {
          const chunk = items.slice(offset, offset + BATCH_GET_SIZE);
          const records = await readRecords(
            this.table,
            chunk.map((item) => String(item.pk).slice('MSG#'.length)),
            () => budget.spend(1, 0),
          );
          for (const item of chunk) {
            const position = String(item[lookupIndex.sortKey]);
            resume = position;
            const record = records.get(String(item.pk).slice('MSG#'.length));
            if (!record || !matchesMessageSearch(record, query, now)) continue;
            messages.push(record);
            if (messages.length >= query.limit) return { messages, nextCursor: positionCursor(position) };
          }
        }
        startKey = page.lastKey;
        if (startKey) resume = String(startKey[lookupIndex.sortKey]);
      } while (startKey);
      // A day is done: whatever is left lies below its first moment.
      if (day !== null) resume = `${day}T00:00:00.000Z`;
    }
    return { messages, nextCursor: null };
  }

  async listReceived(query: ReceivedRangeQuery, now: Date): Promise<ReceivedRangePage> {
    checkPageLimit(query.limit);
    const after = cursorPosition(query.cursor);
    const lower = after !== null && after > query.since ? after : query.since;
    const upper = query.until;
    const messages: ReceivedRef[] = [];
    if (lower >= upper) return { messages, nextCursor: null };
    const mailbox = query.mailbox === undefined ? null : normalizeAddress(query.mailbox);
    const { lookupIndex } = MESSAGE_TABLE;
    const scans =
      mailbox !== null
        ? [
            {
              day: null,
              prefix: ENTRY_PREFIX,
              sortKey: 'sk',
              input: {
                KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
                ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
                ExpressionAttributeValues: {
                  ':pk': keys.mailboxPartition(mailbox),
                  ':lo': `${ENTRY_PREFIX}${lower}`,
                  ':hi': `${ENTRY_PREFIX}${upper}`,
                },
                ScanIndexForward: true,
                ConsistentRead: true,
              } satisfies QueryInput,
            },
          ]
        : daysBetween(dayOf(lower), dayOf(upper), false).map((day) => ({
            day,
            prefix: '',
            sortKey: lookupIndex.sortKey,
            input: {
              IndexName: lookupIndex.name,
              KeyConditionExpression: '#gpk = :gpk AND #gsk BETWEEN :lo AND :hi',
              ExpressionAttributeNames: { '#gpk': lookupIndex.partitionKey, '#gsk': lookupIndex.sortKey },
              ExpressionAttributeValues: { ':gpk': keys.lookupIndexPartition('DAY', day), ':lo': lower, ':hi': upper },
              ScanIndexForward: true,
            } satisfies QueryInput,
          }));
    const budget = new ReadBudget(this.searchBudget);
    // Everything from the bottom of the range up to `resume` has been looked at.
    let resume: string | null = null;
    for (const scan of scans) {
      let startKey: Item | undefined;
      do {
        if (budget.spent()) return { messages, nextCursor: resume === null ? null : positionCursor(resume) };
        const page = await this.queryOnce(scan.input, startKey, now, budget);
        for (const item of page.items) {
          const position = String(item[scan.sortKey]).slice(scan.prefix.length);
          if (position === after) continue;
          resume = position;
          const ref = mailbox !== null ? receivedEntry(item) : receivedLookup(item, position);
          if (ref === null) continue;
          messages.push(ref);
          if (messages.length >= query.limit) return { messages, nextCursor: positionCursor(position) };
        }
        startKey = page.lastKey;
        if (startKey) resume = String(startKey[scan.sortKey]).slice(scan.prefix.length);
      } while (startKey);
      // A day is done: whatever is left lies at or after the next day's first moment.
      if (scan.day !== null) resume = new Date(Date.parse(`${scan.day}T00:00:00.000Z`) + 86_400_000).toISOString();
    }
    return { messages, nextCursor: null };
  }

  /** One Query request with the TTL filter, counted against a budget. */
  private async queryOnce(
    input: QueryInput,
    startKey: Item | undefined,
    now: Date,
    budget: ReadBudget,
  ): Promise<{ items: Item[]; lastKey: Item | undefined }> {
    const page = await this.table.doc.send(
      new QueryCommand({
        ...input,
        TableName: this.table.name,
        FilterExpression: '#expiresAt > :now',
        ExpressionAttributeNames: { ...input.ExpressionAttributeNames, '#expiresAt': MESSAGE_TABLE.ttlAttribute },
        ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ':now': Math.floor(now.getTime() / 1000) },
        Limit: this.pageSize ?? Math.max(1, Math.min(1000, budget.itemsLeft())),
        ...(startKey && { ExclusiveStartKey: startKey }),
      }),
    );
    budget.spend(1, page.ScannedCount ?? page.Items?.length ?? 0);
    return { items: page.Items ?? [], lastKey: page.LastEvaluatedKey };
  }
}

function minString(a: string, b: string): string {
  return a < b ? a : b;
}

/** A mailbox entry as bulk resend sees it; Sent copies are not received mail. */
function receivedEntry(item: Item): ReceivedRef | null {
  const entry = toEntry(item);
  if (entry.folder === 'sent') return null;
  return { sesMessageId: entry.sesMessageId, receivedAt: entry.receivedAt, recipients: [...entry.recipients] };
}

function receivedLookup(item: Item, position: string): ReceivedRef {
  const hash = position.indexOf('#');
  return {
    sesMessageId: String(item.pk).slice('MSG#'.length),
    receivedAt: hash < 0 ? position : position.slice(0, hash),
    recipients: null,
  };
}

/** The same predicate as the reference implementation, applied to every fetched record. */
function matchesTrace(record: MessageRecord, query: TraceQuery): boolean {
  if (query.recipient !== undefined) {
    return record.envelopeRecipients.some((recipient) => normalizeAddress(recipient) === query.recipient);
  }
  if (query.sender !== undefined) {
    return (
      normalizeAddress(record.envelopeFrom) === query.sender || record.summary.from.some((from) => addressOfMailbox(from) === query.sender)
    );
  }
  if (query.messageIdHeader !== undefined) {
    return record.summary.messageIdHeader !== null && normalizeMessageId(record.summary.messageIdHeader) === query.messageIdHeader;
  }
  return false;
}
