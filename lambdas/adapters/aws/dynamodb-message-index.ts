// The message index on DynamoDB: every role on one table (see message-table.ts for
// the item layout), one adapter per role. Behaves like test/support/memory-message-index.ts,
// the reference; the shared contract tests run against both. No transactions (dynalite
// has none): every write is a single conditional PutItem/UpdateItem/DeleteItem, or an
// idempotent BatchWriteItem.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RoleIndex } from '../role-index.ts';
import { DynamoDbAddressMap } from './dynamodb-address-map.ts';
import { DynamoDbDeliveryLog } from './dynamodb-delivery-log.ts';
import { DynamoDbMailboxEntries } from './dynamodb-mailbox-entries.ts';
import { DynamoDbMessageRecords } from './dynamodb-message-records.ts';
import { DynamoDbMessageSearch } from './dynamodb-message-search.ts';
import { DynamoDbOnceGate } from './dynamodb-once-gate.ts';
import { DynamoDbPendingRecipients } from './dynamodb-pending-recipients.ts';
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

export class DynamoDbMessageIndex extends RoleIndex {
  constructor(options: DynamoDbMessageIndexOptions) {
    const table = openTable(options.client, options.tableName);
    super({
      addresses: new DynamoDbAddressMap(table),
      records: new DynamoDbMessageRecords(table),
      entries: new DynamoDbMailboxEntries(table, options.queryPageSize, options.pageBudget),
      deliveries: new DynamoDbDeliveryLog(table, options.queryPageSize),
      search: new DynamoDbMessageSearch(table, options.queryPageSize, options.searchBudget),
      gate: new DynamoDbOnceGate(table, options.gateRetentionSeconds),
      pending: new DynamoDbPendingRecipients(options),
    });
  }
}
