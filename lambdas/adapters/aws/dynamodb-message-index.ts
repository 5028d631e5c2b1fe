// The message index on DynamoDB: every role on one table (see message-table.ts for
// the item layout), one adapter per role sharing the table. Behaves like
// test/support/memory-message-index.ts, the reference; the shared contract tests run
// against both. No transactions (dynalite has none): every write is a single
// conditional PutItem/UpdateItem/DeleteItem, or an idempotent BatchWriteItem.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DeliveryAttempt, DeliveryState, DeliveryStateName, MailboxEntry, MessageRecord } from '../../core/model.ts';
import type { AddressMap } from '../../ports/address-map.ts';
import type { DeliveryLog } from '../../ports/delivery-log.ts';
import type { Folder, MailboxEntries, MailboxPage, MailboxPageQuery } from '../../ports/mailbox-entries.ts';
import type { MessageIndex } from '../../ports/message-index.ts';
import type { MessageRecords } from '../../ports/message-records.ts';
import type {
  MessageSearch,
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
  TraceQuery,
} from '../../ports/message-search.ts';
import type { LeaseResult, OnceGate } from '../../ports/once-gate.ts';
import { DynamoDbAddressMap } from './dynamodb-address-map.ts';
import { DynamoDbDeliveryLog } from './dynamodb-delivery-log.ts';
import { DynamoDbMailboxEntries } from './dynamodb-mailbox-entries.ts';
import { DynamoDbMessageRecords } from './dynamodb-message-records.ts';
import { DynamoDbMessageSearch } from './dynamodb-message-search.ts';
import { DynamoDbOnceGate } from './dynamodb-once-gate.ts';
import { openTable, type PageBudget } from './dynamodb-toolkit.ts';

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

/** The role adapters of one table behind one object, for consumers that need several roles. */
export class DynamoDbMessageIndex implements MessageIndex {
  private readonly addresses: AddressMap;
  private readonly records: MessageRecords;
  private readonly entries: MailboxEntries;
  private readonly deliveries: DeliveryLog;
  private readonly search: MessageSearch;
  private readonly gate: OnceGate;

  constructor(options: DynamoDbMessageIndexOptions) {
    const table = openTable(options.client, options.tableName);
    this.addresses = new DynamoDbAddressMap(table);
    this.records = new DynamoDbMessageRecords(table);
    this.entries = new DynamoDbMailboxEntries(table, options.queryPageSize, options.pageBudget);
    this.deliveries = new DynamoDbDeliveryLog(table, options.queryPageSize);
    this.search = new DynamoDbMessageSearch(table, options.queryPageSize, options.searchBudget);
    this.gate = new DynamoDbOnceGate(table, options.gateRetentionSeconds);
  }

  mailboxFor(address: string): Promise<string | null> {
    return this.addresses.mailboxFor(address);
  }

  putMessage(record: MessageRecord): Promise<void> {
    return this.records.putMessage(record);
  }
  getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    return this.records.getMessage(sesMessageId, now);
  }

  putMailboxEntry(entry: MailboxEntry): Promise<void> {
    return this.entries.putMailboxEntry(entry);
  }
  listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage> {
    return this.entries.listMailboxPage(mailbox, query, now);
  }
  getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null> {
    return this.entries.getMailboxEntry(mailbox, sesMessageId, now);
  }
  updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void> {
    return this.entries.updateMailboxEntry(mailbox, sesMessageId, changes);
  }

  createDeliveryState(state: DeliveryState): Promise<void> {
    return this.deliveries.createDeliveryState(state);
  }
  getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]> {
    return this.deliveries.getDeliveryStates(sesMessageId, now);
  }
  recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
  ): Promise<void> {
    return this.deliveries.recordDeliveryAttempt(sesMessageId, recipient, attempt, state, reason);
  }
  recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void> {
    return this.deliveries.recordExtraAttempt(sesMessageId, recipient, attempt);
  }

  findMessages(query: TraceQuery, now: Date): Promise<MessageRecord[]> {
    return this.search.findMessages(query, now);
  }
  searchMessages(query: MessageSearchQuery, now: Date): Promise<MessageSearchPage> {
    return this.search.searchMessages(query, now);
  }
  listReceived(query: ReceivedRangeQuery, now: Date): Promise<ReceivedRangePage> {
    return this.search.listReceived(query, now);
  }

  acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    return this.gate.acquireOnce(key, owner, now, leaseMs);
  }
  completeOnce(key: string, owner: string): Promise<void> {
    return this.gate.completeOnce(key, owner);
  }
  releaseOnce(key: string, owner: string): Promise<void> {
    return this.gate.releaseOnce(key, owner);
  }
}
