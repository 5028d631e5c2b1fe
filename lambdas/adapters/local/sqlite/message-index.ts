// The message index on the embedded store: one table (or two) per role in one SQLite
// file, one adapter per role, combined as a RoleIndex like the DynamoDB index. It
// behaves like test/support/memory-message-index.ts, the reference; the shared contract
// tests run against all of them. Local mode has no TTL sweeper: purgeExpired deletes
// what reads already treat as absent.
import { RoleIndex } from '../../role-index.ts';
import { SqliteAddressMap } from './address-map.ts';
import type { LocalDatabase } from './database.ts';
import { SqliteDeliveryLog } from './delivery-log.ts';
import type { ExpiringRows } from './expiry.ts';
import { SqliteMailboxEntries } from './mailbox-entries.ts';
import { SqliteMessageRecords } from './message-records.ts';
import { SqliteMessageSearch } from './message-search.ts';
import { SqliteOnceGate } from './once-gate.ts';
import { SqlitePendingRecipients } from './pending-recipients.ts';

export interface SqliteMessageIndexOptions {
  /** How long a once-gate is kept after it was acquired. Default DEFAULT_GATE_RETENTION_SECONDS. */
  gateRetentionSeconds?: number;
  /** Rows one searchMessages call examines at most. Default DEFAULT_SEARCH_BUDGET; tests set it small. */
  searchBudget?: number;
}

export class SqliteMessageIndex extends RoleIndex {
  private readonly purge: (now: Date) => number;

  constructor(db: LocalDatabase, options: SqliteMessageIndexOptions = {}) {
    const records = new SqliteMessageRecords(db);
    const entries = new SqliteMailboxEntries(db);
    const deliveries = new SqliteDeliveryLog(db);
    const gate = new SqliteOnceGate(db, options.gateRetentionSeconds);
    const pending = new SqlitePendingRecipients(db);
    super({
      addresses: new SqliteAddressMap(db),
      records,
      entries,
      deliveries,
      search: new SqliteMessageSearch(db, options.searchBudget),
      gate,
      pending,
    });
    const expiring: ExpiringRows[] = [records, entries, deliveries, gate, pending];
    this.purge = db.transaction((now: Date) => expiring.reduce((purged, role) => purged + role.purgeExpired(now), 0));
  }

  /** Deletes every row expired at `now`, in one transaction; returns how many. */
  async purgeExpired(now: Date): Promise<number> {
    return this.purge(now);
  }
}
