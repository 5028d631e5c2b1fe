// The once-gate in the embedded store: one `once_gate` row per key, taken in an
// IMMEDIATE transaction (read and write under the write lock), so of two racing
// owners, in one process or two, exactly one acquires. A gate is kept
// gateRetentionSeconds after it was acquired, then reads as absent and is purged.
import { DEFAULT_GATE_RETENTION_SECONDS, type LeaseResult, type OnceGate } from '../../../ports/once-gate.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { type ExpiringRows, epochSeconds } from './expiry.ts';

export const ONCE_GATE_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS once_gate (
     gate TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     until_ms INTEGER NOT NULL,
     done INTEGER NOT NULL,
     expires_at INTEGER NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS once_gate_by_expiry ON once_gate (expires_at)',
] as const;

interface GateRow {
  owner: string;
  until_ms: number;
  done: number;
  expires_at: number;
}

export class SqliteOnceGate implements OnceGate, ExpiringRows {
  private readonly acquire: (key: string, owner: string, now: Date, leaseMs: number) => LeaseResult;
  private readonly complete;
  private readonly release;
  private readonly purge;

  constructor(db: LocalDatabase, gateRetentionSeconds = DEFAULT_GATE_RETENTION_SECONDS) {
    ensureSchema(db, ONCE_GATE_SCHEMA);
    const select = db.prepare<[string], GateRow>('SELECT owner, until_ms, done, expires_at FROM once_gate WHERE gate = ?');
    const take = db.prepare<[string, string, number, number]>(
      'INSERT OR REPLACE INTO once_gate (gate, owner, until_ms, done, expires_at) VALUES (?, ?, ?, 0, ?)',
    );
    this.acquire = db.transaction((key: string, owner: string, now: Date, leaseMs: number): LeaseResult => {
      const gate = select.get(key);
      if (gate && gate.expires_at > epochSeconds(now)) {
        if (gate.done === 1) return 'done';
        if (gate.owner !== owner && gate.until_ms > now.getTime()) return 'busy';
      }
      take.run(key, owner, now.getTime() + leaseMs, epochSeconds(now) + gateRetentionSeconds);
      return 'acquired';
    }).immediate;
    this.complete = db.prepare<[string, string]>('UPDATE once_gate SET done = 1 WHERE gate = ? AND owner = ?');
    this.release = db.prepare<[string, string]>('DELETE FROM once_gate WHERE gate = ? AND owner = ? AND done = 0');
    this.purge = db.prepare<[number]>('DELETE FROM once_gate WHERE expires_at <= ?');
  }

  async acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    return this.acquire(key, owner, now, leaseMs);
  }

  async completeOnce(key: string, owner: string): Promise<void> {
    this.complete.run(key, owner);
  }

  async releaseOnce(key: string, owner: string): Promise<void> {
    this.release.run(key, owner);
  }

  purgeExpired(now: Date): number {
    return this.purge.run(epochSeconds(now)).changes;
  }
}
