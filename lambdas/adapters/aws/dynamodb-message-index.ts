// The message index on DynamoDB (one table, see message-table.ts for the item
// layout). Behaves like test/support/memory-message-index.ts, which is the
// reference; the shared contract tests run against both.
//
// Choices worth knowing:
// - No transactions (dynalite has none): every write is a single conditional
//   PutItem/UpdateItem/DeleteItem, or an idempotent BatchWriteItem of lookup items.
// - Records and mailbox entries are stored as a `data` map, or gzipped JSON in
//   `dataGz` when the JSON exceeds 64 KB (a message with thousands of attachments).
//   If even that exceeds 300 KB the longest lists (attachments, To, Cc, …) are
//   halved until it fits: the index is a summary, the raw message in S3 stays
//   complete, and failing here would stop the message from ever being forwarded.
// - A mailbox entry keeps `folder` and `read` as top-level attributes too, so user
//   flags can later be changed with one UpdateItem; they win over the payload.
//   `visibility` and a lower-cased `searchText` (core/mailbox.ts searchTextOf) are
//   top-level too, so a page query filters on the server and only matches travel.
//   Entries written before these existed lack them: the filter lets such items
//   through and the shared predicate, applied to every item read, decides.
// - Mailbox pages: a Query newest first, filtered, that keeps reading until the page
//   is full or the partition ends, but never evaluates more than the page budget
//   (items and requests) in one call; then it returns what it has, possibly nothing,
//   with a cursor that continues behind the last evaluated item. The first request
//   asks for limit + 1 items (an unfiltered page costs one request and knows whether
//   there is a next one); each further request asks for four times as many.
//   The cursor is a position (sort key without `MSG#`); the next page reads
//   `sk BETWEEN 'MSG#' AND 'MSG#<position>'` and skips the item at the position
//   itself, so any well-formed position is a valid query, not only keys that exist.
// - A pointer item (MBX#<mailbox> / ID#<sesMessageId>) holds the entry's receivedAt,
//   so one id finds its entry with two GetItems. It is written after the entry; an
//   entry without one (a crash in between, or written before pointers existed) is
//   found through the message record's receivedAt, which ingest gives the entry too.
// - Delivery attempts keep the last MAX_STORED_ATTEMPTS; response texts are cut
//   at MAX_REPLY_BYTES, so a delivery item stays well below 400 KB. The append is
//   a read-modify-write guarded by attemptCount (it grows by one per attempt, so
//   it is a version): a concurrent writer makes the condition fail and we re-read.
// - Once-gates expire (TTL) gateRetentionSeconds after they were acquired;
//   redelivery of the same SQS message cannot happen that late.
// - Admin search (searchMessages) reads one lookup partition (RCPT/FROM/MID) or, for a
//   search by subject or time alone, the DAY partitions of the range newest first
//   (the day lookup is written with the delivery states, so it lists received mail
//   only). The time range is the key condition on gsi1sk; the records are fetched in
//   BatchGets and every criterion re-checked with core/trace.ts's predicate. One call
//   reads at most the search budget (requests and items) and then answers with what
//   it has and a cursor at the last position it looked at, possibly an empty page.
//   listReceived (bulk resend) reads a mailbox partition or the DAY partitions oldest
//   first in the same way. Mail indexed before the day lookup existed is found by
//   recipient, sender or Message-ID; a re-ingest adds its day lookup.
// - Lookup items are written after the record: a crash in between is repaired by
//   the re-ingest, which rewrites them from the record already stored. Reads
//   re-check every fetched record against the query, so a lookup item can never
//   make a record match that the record itself does not.
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { keyPart, messageTableKeys as keys, type LookupKind, MESSAGE_TABLE } from '../../contract/message-table.ts';
import { addressOfMailbox, normalizeAddress, normalizeMessageId } from '../../core/addresses.ts';
import { InvalidInputError, NotFoundError, RetryableError } from '../../core/errors.ts';
import {
  checkPageLimit,
  decodeCursor,
  encodeCursor,
  isFolder,
  matchesPageQuery,
  normalizeSearch,
  searchTextOf,
} from '../../core/mailbox.ts';
import type { DeliveryAttempt, DeliveryState, DeliveryStateName, MailboxEntry, MessageRecord } from '../../core/model.ts';
import { isLive } from '../../core/retention.ts';
import { cursorPosition, dayOf, daysBetween, matchesMessageSearch, positionCursor, searchLookup } from '../../core/trace.ts';
import type {
  Folder,
  LeaseResult,
  MailboxPage,
  MailboxPageQuery,
  MessageIndex,
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
  ReceivedRef,
  TraceQuery,
} from '../../ports/message-index.ts';
import { errorName } from './message-table.ts';

export const MAX_STORED_ATTEMPTS = 50;
/** SMTP replies stored per attempt (and lastReply/reason) are cut to this many UTF-8 bytes. */
export const MAX_REPLY_BYTES = 2048;
export const PLAIN_PAYLOAD_MAX_BYTES = 64 * 1024;
export const COMPRESSED_PAYLOAD_MAX_BYTES = 300 * 1024;
const DEFAULT_GATE_RETENTION_SECONDS = 30 * 86_400;
const DEFAULT_TRACE_LIMIT = 100;
const VERSIONED_WRITE_TRIES = 40;
const ACQUIRE_TRIES = 5;
const BATCH_ROUNDS = 10;
const BATCH_WRITE_SIZE = 25;
const BATCH_GET_SIZE = 100;
const ENTRY_PREFIX = 'MSG#';
/** Ids longer than this cannot be SES message ids (and would not fit a key). */
const MAX_ID_BYTES = 512;
export const DEFAULT_PAGE_BUDGET: PageBudget = { items: 10_000, requests: 16 };
/** Bound on one searchMessages or listReceived call (Query and BatchGet requests, lookup items evaluated). */
export const DEFAULT_SEARCH_BUDGET: PageBudget = { items: 5_000, requests: 40 };
/** Sort key bounds: every position (an ISO time, '#', an id) sorts between them. */
const LOWEST_POSITION = '0';
const HIGHEST_POSITION = '\uffff';
const PAGE_REQUEST_GROWTH = 4;

/** How much one mailbox page call may read before it returns a cursor instead. */
export interface PageBudget {
  /** Items evaluated (DynamoDB's ScannedCount, before the filter); one more may be read to see whether the partition ends. */
  items: number;
  /** Query requests. */
  requests: number;
}

export interface DynamoDbMessageIndexOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Items per Query page; unset means DynamoDB's own 1 MB pages. Tests set it small. */
  queryPageSize?: number;
  /** How long a once-gate is kept after it was acquired (TTL). Default 30 days. */
  gateRetentionSeconds?: number;
  /** Bound on one mailbox page call. Default DEFAULT_PAGE_BUDGET. */
  pageBudget?: PageBudget;
  /** Bound on one searchMessages / listReceived call. Default DEFAULT_SEARCH_BUDGET. */
  searchBudget?: PageBudget;
}

type Item = Record<string, unknown>;

export class DynamoDbMessageIndex implements MessageIndex {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly pageSize: number | undefined;
  private readonly gateRetentionSeconds: number;
  private readonly pageBudget: PageBudget;
  private readonly searchBudget: PageBudget;

  constructor(options: DynamoDbMessageIndexOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.table = options.tableName;
    this.pageSize = options.queryPageSize;
    this.gateRetentionSeconds = options.gateRetentionSeconds ?? DEFAULT_GATE_RETENTION_SECONDS;
    this.pageBudget = options.pageBudget ?? DEFAULT_PAGE_BUDGET;
    this.searchBudget = options.searchBudget ?? DEFAULT_SEARCH_BUDGET;
  }

  async mailboxFor(address: string): Promise<string | null> {
    const item = await this.get(keys.address(normalizeAddress(address)));
    return typeof item?.mailbox === 'string' ? item.mailbox : null;
  }

  async putAddress(address: string, mailbox: string): Promise<void> {
    const normalized = normalizeAddress(address);
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.address(normalized), type: 'address', address: normalized, mailbox: normalizeAddress(mailbox) },
      }),
    );
  }

  async putMessage(record: MessageRecord): Promise<void> {
    const { value, payload } = fitPayload(record, shrinkRecord);
    let stored: MessageRecord = value;
    const written = await this.putIfAbsent({
      ...keys.message(record.sesMessageId),
      type: 'message',
      expiresAt: record.expiresAt,
      ...payload,
    });
    if (!written) {
      const existing = await this.get(keys.message(record.sesMessageId));
      if (!existing) return;
      stored = decodePayload<MessageRecord>(existing);
    }
    await this.writeLookups(stored);
  }

  async getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    const item = await this.get(keys.message(sesMessageId));
    if (!item || !isLive(expiry(item), now)) return null;
    return decodePayload<MessageRecord>(item);
  }

  async putMailboxEntry(entry: MailboxEntry): Promise<void> {
    const mailbox = normalizeAddress(entry.mailbox);
    const { value, payload } = fitPayload(entry, shrinkEntry);
    await this.putIfAbsent({
      ...keys.mailboxEntry(mailbox, entry.receivedAt, entry.sesMessageId),
      type: 'entry',
      expiresAt: entry.expiresAt,
      folder: entry.folder,
      read: entry.read,
      visibility: entry.visibility,
      searchText: searchTextOf(value),
      ...payload,
    });
    await this.putIfAbsent({
      ...keys.mailboxEntryPointer(mailbox, entry.sesMessageId),
      type: 'entry-pointer',
      receivedAt: entry.receivedAt,
      expiresAt: entry.expiresAt,
    });
  }

  async listMailbox(mailbox: string, now: Date, limit: number): Promise<MailboxEntry[]> {
    const entries: MailboxEntry[] = [];
    if (limit <= 0) return entries;
    const pages = this.queryPages(
      {
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': keys.mailboxPartition(normalizeAddress(mailbox)), ':prefix': 'MSG#' },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      now,
    );
    for await (const page of pages) {
      for (const item of page) {
        entries.push(toEntry(item));
        if (entries.length >= limit) return entries;
      }
    }
    return entries;
  }

  async listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage> {
    checkPageLimit(query.limit);
    if (!isFolder(query.folder)) throw new InvalidInputError('unknown folder');
    const before = decodeCursor(query.cursor);
    const needle = normalizeSearch(query.search);
    const upper = before === null ? null : `${ENTRY_PREFIX}${before}`;

    const names: Record<string, string> = { '#pk': 'pk', '#sk': 'sk', '#expiresAt': MESSAGE_TABLE.ttlAttribute, '#folder': 'folder' };
    const values: Record<string, unknown> = {
      ':pk': keys.mailboxPartition(normalizeAddress(mailbox)),
      ':prefix': ENTRY_PREFIX,
      ':now': Math.floor(now.getTime() / 1000),
      ':folder': query.folder,
    };
    const filters = ['#expiresAt > :now', '#folder = :folder'];
    if (query.includeQuarantined !== true) {
      names['#visibility'] = 'visibility';
      values[':quarantined'] = 'quarantined';
      filters.push('(attribute_not_exists(#visibility) OR #visibility <> :quarantined)');
    }
    if (needle !== '') {
      names['#searchText'] = 'searchText';
      values[':needle'] = needle;
      filters.push('(attribute_not_exists(#searchText) OR contains(#searchText, :needle))');
    }
    if (upper !== null) values[':upper'] = upper;

    const entries: MailboxEntry[] = [];
    let lastSk = '';
    let startKey: Record<string, unknown> | undefined;
    let scanned = 0;
    let requestLimit = query.limit + 1;
    for (let requests = 1; ; requests += 1) {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression:
            upper === null ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk AND #sk BETWEEN :prefix AND :upper',
          FilterExpression: filters.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          ConsistentRead: true,
          // One item beyond the budget tells a partition that ends exactly there from a longer one.
          Limit: Math.max(1, Math.min(requestLimit, this.pageSize ?? requestLimit, this.pageBudget.items + 1 - scanned)),
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      scanned += page.ScannedCount ?? 0;
      let moreMatches = false;
      for (const item of page.Items ?? []) {
        if (item.sk === upper) continue;
        const entry = toEntry(item);
        if (!matchesPageQuery(entry, query, needle, now)) continue;
        if (entries.length === query.limit) {
          moreMatches = true;
          break;
        }
        entries.push(entry);
        lastSk = String(item.sk);
      }
      startKey = page.LastEvaluatedKey;
      if (entries.length === query.limit) {
        return { entries, nextCursor: moreMatches || startKey ? cursorAt(lastSk) : null };
      }
      if (!startKey) return { entries, nextCursor: null };
      if (scanned >= this.pageBudget.items || requests >= this.pageBudget.requests) {
        return { entries, nextCursor: cursorAt(String(startKey.sk)) };
      }
      requestLimit *= PAGE_REQUEST_GROWTH;
    }
  }

  async getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null> {
    const key = await this.entryKeyOf(normalizeAddress(mailbox), sesMessageId);
    const item = key && (await this.get(key));
    if (!item || !isLive(expiry(item), now)) return null;
    return toEntry(item);
  }

  async updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void> {
    if (changes.folder !== undefined && !isFolder(changes.folder)) throw new InvalidInputError('unknown folder');
    const key = await this.entryKeyOf(normalizeAddress(mailbox), sesMessageId);
    const notFound = () => new NotFoundError(`no entry ${sesMessageId} in ${mailbox}`);
    if (!key) throw notFound();
    const sets: string[] = [];
    const names: Record<string, string> = { '#pk': 'pk' };
    const values: Record<string, unknown> = {};
    if (changes.read !== undefined) {
      sets.push('#read = :read');
      names['#read'] = 'read';
      values[':read'] = changes.read === true;
    }
    if (changes.folder !== undefined) {
      sets.push('#folder = :folder');
      names['#folder'] = 'folder';
      values[':folder'] = changes.folder;
    }
    if (sets.length === 0) {
      if (!(await this.get(key))) throw notFound();
      return;
    }
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `SET ${sets.join(', ')}`,
          // Without it UpdateItem would create a bare item where none is.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw notFound();
      throw error;
    }
  }

  async createDeliveryState(state: DeliveryState): Promise<void> {
    await this.putIfAbsent({
      ...keys.delivery(state.sesMessageId, normalizeAddress(state.recipient)),
      type: 'delivery',
      sesMessageId: state.sesMessageId,
      recipient: state.recipient,
      state: state.state,
      receivedAt: state.receivedAt,
      expiresAt: state.expiresAt,
      attempts: state.attempts.slice(-MAX_STORED_ATTEMPTS).map(capAttempt),
      attemptCount: state.attemptCount,
      lastReply: capNullable(state.lastReply),
      updatedAt: state.updatedAt,
      reason: capNullable(state.reason),
    });
    // The day lookup marks received mail (Sent copies get no delivery states). Written
    // after the state and on every re-ingest, so a crash in between is repaired.
    const day = dayOf(state.receivedAt);
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.lookup(state.sesMessageId, 'DAY', day),
          type: 'lookup',
          [MESSAGE_TABLE.lookupIndex.partitionKey]: keys.lookupIndexPartition('DAY', day),
          [MESSAGE_TABLE.lookupIndex.sortKey]: keys.lookupIndexSort(state.receivedAt, state.sesMessageId),
          expiresAt: state.expiresAt,
        },
      }),
    );
  }

  async getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]> {
    const states: DeliveryState[] = [];
    const pages = this.queryPages(
      {
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': keys.messagePartition(sesMessageId), ':prefix': 'DLV#' },
        ConsistentRead: true,
      },
      now,
    );
    for await (const page of pages) states.push(...page.map(toDeliveryState));
    return states;
  }

  async recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
  ): Promise<void> {
    const key = keys.delivery(sesMessageId, normalizeAddress(recipient));
    for (let round = 0; round < VERSIONED_WRITE_TRIES; round += 1) {
      const item = await this.get(key);
      if (!item) throw new InvalidInputError(`no delivery state for ${sesMessageId} / ${recipient}`);
      const current = toDeliveryState(item);
      const stored = capAttempt(attempt);
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression:
              'SET #attempts = :attempts, #count = :next, #state = :state, #lastReply = :lastReply, #updatedAt = :updatedAt, #reason = :reason',
            ConditionExpression: '#count = :count',
            ExpressionAttributeNames: {
              '#attempts': 'attempts',
              '#count': 'attemptCount',
              '#state': 'state',
              '#lastReply': 'lastReply',
              '#updatedAt': 'updatedAt',
              '#reason': 'reason',
            },
            ExpressionAttributeValues: {
              ':attempts': [...current.attempts, stored].slice(-MAX_STORED_ATTEMPTS),
              ':count': current.attemptCount,
              ':next': current.attemptCount + 1,
              ':state': state,
              ':lastReply': stored.response,
              ':updatedAt': attempt.at,
              ':reason': capNullable(reason),
            },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // Another writer got in between: back off a little, with jitter, and re-read.
        await sleep(Math.random() * 5 * Math.min(round + 1, 10));
      }
    }
    throw new RetryableError(`delivery state ${sesMessageId} / ${recipient} kept changing under us`);
  }

  async acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    const nowMs = now.getTime();
    const nowSeconds = Math.floor(nowMs / 1000);
    const gateKey = keys.gate(key);
    for (let round = 0; round < ACQUIRE_TRIES; round += 1) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              ...gateKey,
              type: 'gate',
              gate: key,
              owner,
              until: nowMs + leaseMs,
              done: false,
              expiresAt: nowSeconds + this.gateRetentionSeconds,
            },
            ConditionExpression:
              'attribute_not_exists(#pk) OR #expiresAt <= :nowSeconds OR (#done = :false AND (#until <= :nowMs OR #owner = :owner))',
            ExpressionAttributeNames: {
              '#pk': 'pk',
              '#expiresAt': 'expiresAt',
              '#done': 'done',
              '#until': 'until',
              '#owner': 'owner',
            },
            ExpressionAttributeValues: { ':nowSeconds': nowSeconds, ':false': false, ':nowMs': nowMs, ':owner': owner },
          }),
        );
        return 'acquired';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      // dynalite cannot return the item that failed the condition, so read it.
      const gate = await this.get(gateKey);
      if (!gate || Number(gate.expiresAt) <= nowSeconds) continue;
      if (gate.done === true) return 'done';
      if (gate.owner !== owner && Number(gate.until) > nowMs) return 'busy';
      // It changed between our write and our read (released or expired): try again.
    }
    return 'busy';
  }

  async completeOnce(key: string, owner: string): Promise<void> {
    await ignoringConditionFailure(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.gate(key),
          UpdateExpression: 'SET #done = :true',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#done': 'done', '#owner': 'owner' },
          ExpressionAttributeValues: { ':true': true, ':owner': owner },
        }),
      ),
    );
  }

  async releaseOnce(key: string, owner: string): Promise<void> {
    await ignoringConditionFailure(
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.gate(key),
          ConditionExpression: '#owner = :owner AND #done = :false',
          ExpressionAttributeNames: { '#done': 'done', '#owner': 'owner' },
          ExpressionAttributeValues: { ':false': false, ':owner': owner },
        }),
      ),
    );
  }

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
    const pages = this.queryPages(
      {
        IndexName: lookupIndex.name,
        KeyConditionExpression: '#gpk = :gpk',
        ExpressionAttributeNames: { '#gpk': lookupIndex.partitionKey },
        ExpressionAttributeValues: { ':gpk': keys.lookupIndexPartition(...criterion) },
        ScanIndexForward: false,
      },
      now,
    );
    const seen = new Set<string>();
    for await (const page of pages) {
      const ids = page.map((item) => String(item.pk).slice('MSG#'.length)).filter((id) => !seen.has(id) && seen.add(id));
      let offset = 0;
      while (offset < ids.length && results.length < limit) {
        const chunk = ids.slice(offset, offset + Math.min(BATCH_GET_SIZE, limit - results.length));
        offset += chunk.length;
        const records = await this.getMessages(chunk);
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
    const budget = new Budget(this.searchBudget);
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
          const records = await this.getMessages(
            chunk.map((item) => String(item.pk).slice('MSG#'.length)),
            budget,
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
              } satisfies Omit<QueryCommandInput, 'TableName'>,
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
            } satisfies Omit<QueryCommandInput, 'TableName'>,
          }));
    const budget = new Budget(this.searchBudget);
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

  async recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void> {
    const key = keys.delivery(sesMessageId, normalizeAddress(recipient));
    for (let round = 0; round < VERSIONED_WRITE_TRIES; round += 1) {
      const item = await this.get(key);
      if (!item) return;
      const current = toDeliveryState(item);
      const stored = capAttempt(attempt);
      const delivered = attempt.outcome === 'delivered';
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression:
              'SET #attempts = :attempts, #count = :next, #state = :state, #lastReply = :lastReply, #updatedAt = :updatedAt, #reason = :reason',
            ConditionExpression: '#count = :count',
            ExpressionAttributeNames: {
              '#attempts': 'attempts',
              '#count': 'attemptCount',
              '#state': 'state',
              '#lastReply': 'lastReply',
              '#updatedAt': 'updatedAt',
              '#reason': 'reason',
            },
            ExpressionAttributeValues: {
              ':attempts': [...current.attempts, stored].slice(-MAX_STORED_ATTEMPTS),
              ':count': current.attemptCount,
              ':next': current.attemptCount + 1,
              ':state': delivered ? 'delivered' : current.state,
              ':lastReply': stored.response,
              ':updatedAt': attempt.at,
              ':reason': delivered ? null : current.reason,
            },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        await sleep(Math.random() * 5 * Math.min(round + 1, 10));
      }
    }
    throw new RetryableError(`delivery state ${sesMessageId} / ${recipient} kept changing under us`);
  }

  /** One Query request with the TTL filter, counted against a budget. */
  private async queryOnce(
    input: Omit<QueryCommandInput, 'TableName'>,
    startKey: Item | undefined,
    now: Date,
    budget: Budget,
  ): Promise<{ items: Item[]; lastKey: Item | undefined }> {
    const page = await this.doc.send(
      new QueryCommand({
        ...input,
        TableName: this.table,
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

  /** The key of a mailbox entry by id: through its pointer, else through the message record. */
  private async entryKeyOf(mailbox: string, sesMessageId: string): Promise<{ pk: string; sk: string } | null> {
    if (sesMessageId === '' || Buffer.byteLength(sesMessageId, 'utf8') > MAX_ID_BYTES) return null;
    const pointer = await this.get(keys.mailboxEntryPointer(mailbox, sesMessageId));
    let receivedAt = typeof pointer?.receivedAt === 'string' ? pointer.receivedAt : null;
    if (receivedAt === null) {
      const record = await this.get(keys.message(sesMessageId));
      if (record) receivedAt = decodePayload<MessageRecord>(record).receivedAt;
    }
    return receivedAt === null ? null : keys.mailboxEntry(mailbox, receivedAt, sesMessageId);
  }

  private async get(key: { pk: string; sk: string }): Promise<Item | undefined> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    return item;
  }

  /** true when written, false when an item with this key already existed. */
  private async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Query pages with live items only; FilterExpression applies after Limit, so pages may be empty. */
  private async *queryPages(input: Omit<QueryCommandInput, 'TableName'>, now: Date): AsyncGenerator<Item[]> {
    const names = { ...input.ExpressionAttributeNames, '#expiresAt': MESSAGE_TABLE.ttlAttribute };
    const values = { ...input.ExpressionAttributeValues, ':now': Math.floor(now.getTime() / 1000) };
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          ...input,
          TableName: this.table,
          FilterExpression: '#expiresAt > :now',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...(this.pageSize !== undefined && { Limit: this.pageSize }),
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      yield page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private async writeLookups(record: MessageRecord): Promise<void> {
    const sortValue = keys.lookupIndexSort(record.receivedAt, record.sesMessageId);
    const requests = lookupsOf(record).map(([kind, value]) => ({
      PutRequest: {
        Item: {
          ...keys.lookup(record.sesMessageId, kind, value),
          type: 'lookup',
          [MESSAGE_TABLE.lookupIndex.partitionKey]: keys.lookupIndexPartition(kind, value),
          [MESSAGE_TABLE.lookupIndex.sortKey]: sortValue,
          expiresAt: record.expiresAt,
        },
      },
    }));
    for (let offset = 0; offset < requests.length; offset += BATCH_WRITE_SIZE) {
      let pending = requests.slice(offset, offset + BATCH_WRITE_SIZE);
      for (let round = 0; pending.length > 0; round += 1) {
        if (round >= BATCH_ROUNDS) throw new RetryableError(`lookup items of ${record.sesMessageId} not written (throttled)`);
        if (round > 0) await sleep(Math.min(1000, 25 * 2 ** round));
        const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (result.UnprocessedItems?.[this.table] ?? []) as typeof pending;
      }
    }
  }

  private async getMessages(ids: string[], budget?: Budget): Promise<Map<string, MessageRecord>> {
    const records = new Map<string, MessageRecord>();
    let pending = ids.map((id) => keys.message(id));
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= BATCH_ROUNDS) throw new RetryableError('message records not read (throttled)');
      if (round > 0) await sleep(Math.min(1000, 25 * 2 ** round));
      budget?.spend(1, 0);
      const result = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of result.Responses?.[this.table] ?? []) {
        const record = decodePayload<MessageRecord>(item);
        records.set(record.sesMessageId, record);
      }
      pending = (result.UnprocessedKeys?.[this.table]?.Keys ?? []) as typeof pending;
    }
    return records;
  }
}

/** How much one search call may still read. */
class Budget {
  private requests = 0;
  private items = 0;
  constructor(private readonly limit: PageBudget) {}
  spend(requests: number, items: number): void {
    this.requests += requests;
    this.items += items;
  }
  spent(): boolean {
    return this.requests >= this.limit.requests || this.items >= this.limit.items;
  }
  itemsLeft(): number {
    return this.limit.items - this.items;
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

function lookupsOf(record: MessageRecord): Array<[LookupKind, string]> {
  const lookups = new Map<string, [LookupKind, string]>();
  const add = (kind: LookupKind, value: string) => lookups.set(`${kind}#${keyPart(value)}`, [kind, value]);
  for (const recipient of record.envelopeRecipients) add('RCPT', normalizeAddress(recipient));
  add('FROM', normalizeAddress(record.envelopeFrom));
  for (const from of record.summary.from) add('FROM', addressOfMailbox(from));
  if (record.summary.messageIdHeader !== null) add('MID', normalizeMessageId(record.summary.messageIdHeader));
  return [...lookups.values()];
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

/** A stored entry; the top-level user flags win over the payload written at ingest. */
function toEntry(item: Item): MailboxEntry {
  const entry = decodePayload<MailboxEntry>(item);
  return {
    ...entry,
    folder: (typeof item.folder === 'string' ? item.folder : entry.folder) as Folder,
    read: typeof item.read === 'boolean' ? item.read : entry.read,
  };
}

/** The cursor that continues below a sort key. */
function cursorAt(sk: string): string {
  return encodeCursor(sk.slice(ENTRY_PREFIX.length));
}

function toDeliveryState(item: Item): DeliveryState {
  return {
    sesMessageId: item.sesMessageId as string,
    recipient: item.recipient as string,
    state: item.state as DeliveryStateName,
    receivedAt: item.receivedAt as string,
    expiresAt: item.expiresAt as number,
    attempts: (item.attempts ?? []) as DeliveryAttempt[],
    attemptCount: item.attemptCount as number,
    lastReply: (item.lastReply ?? null) as string | null,
    updatedAt: item.updatedAt as string,
    reason: (item.reason ?? null) as string | null,
  };
}

function expiry(item: Item): { expiresAt: number } {
  return { expiresAt: Number(item.expiresAt) };
}

async function ignoringConditionFailure(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

function isConditionFailure(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
}

// ---- payload encoding ----------------------------------------------------------

type Payload = { data: unknown } | { dataGz: Uint8Array };

function encodePayload(value: unknown): Payload | null {
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json, 'utf8') <= PLAIN_PAYLOAD_MAX_BYTES) return { data: value };
  const compressed = gzipSync(json);
  return compressed.length <= COMPRESSED_PAYLOAD_MAX_BYTES ? { dataGz: compressed } : null;
}

function decodePayload<T>(item: Item): T {
  if (item.dataGz instanceof Uint8Array) return JSON.parse(gunzipSync(item.dataGz).toString('utf8')) as T;
  return item.data as T;
}

/** The value as it will be stored (shrunk if it had to be) and its encoding. */
function fitPayload<T>(value: T, shrink: (copy: T) => boolean): { value: T; payload: Payload } {
  let current = value;
  // Each shrink halves a list or cuts a string, so this ends long before the bound.
  for (let step = 0; step < 200; step += 1) {
    const payload = encodePayload(current);
    if (payload) return { value: current, payload };
    if (step === 0) current = structuredClone(value);
    if (!shrink(current)) break;
  }
  throw new InvalidInputError('index item too large even after shrinking its lists');
}

const MAX_KEPT_STRING = 10_000;

interface Shrinkable {
  size: number;
  shrink(): void;
}

/** Halves the largest list or cuts the largest over-long string; false when nothing is left to cut. */
function shrinkLargest(candidates: Shrinkable[]): boolean {
  const largest = candidates.filter((candidate) => candidate.size > 0).sort((a, b) => b.size - a.size)[0];
  if (!largest) return false;
  largest.shrink();
  return true;
}

function listOf<T extends object, K extends keyof T>(owner: T, key: K): Shrinkable {
  const list = owner[key] as unknown[];
  return {
    size: list.length === 0 ? 0 : JSON.stringify(list).length,
    shrink: () => {
      owner[key] = list.slice(0, Math.floor(list.length / 2)) as T[K];
    },
  };
}

function stringOf<T extends object, K extends keyof T>(owner: T, key: K): Shrinkable {
  const text = owner[key] as string | null;
  return {
    size: text !== null && text.length > MAX_KEPT_STRING ? text.length : 0,
    shrink: () => {
      owner[key] = (text ?? '').slice(0, MAX_KEPT_STRING) as T[K];
    },
  };
}

function shrinkRecord(record: MessageRecord): boolean {
  const summary = record.summary;
  return shrinkLargest([
    ...(['attachments', 'to', 'cc', 'replyTo', 'references', 'from', 'forwardStamps'] as const).map((key) => listOf(summary, key)),
    ...(['subject', 'snippet', 'inReplyTo', 'messageIdHeader', 'parseError'] as const).map((key) => stringOf(summary, key)),
  ]);
}

function shrinkEntry(entry: MailboxEntry): boolean {
  return shrinkLargest([
    ...(['attachments', 'to', 'cc', 'from', 'recipients'] as const).map((key) => listOf(entry, key)),
    ...(['subject', 'snippet'] as const).map((key) => stringOf(entry, key)),
  ]);
}

function capAttempt(attempt: DeliveryAttempt): DeliveryAttempt {
  return { ...attempt, response: capUtf8(attempt.response) };
}

function capNullable(text: string | null): string | null {
  return text === null ? null : capUtf8(text);
}

function capUtf8(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_REPLY_BYTES) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > MAX_REPLY_BYTES) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
