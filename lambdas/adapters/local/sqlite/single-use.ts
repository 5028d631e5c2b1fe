// Single-use keys in the embedded store: one row per key, taken by one statement that
// inserts it or takes over an expired row, so exactly one of racing callers (also in
// other processes on the same file) gets it. Reads compare the expiry themselves.
import type { SingleUse } from '../../../ports/single-use.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { epochSeconds } from './expiry.ts';

export const SINGLE_USE_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS single_use (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID',
  'CREATE INDEX IF NOT EXISTS single_use_by_expiry ON single_use (expires_at)',
] as const;

export class SqliteSingleUse implements SingleUse {
  private readonly takeKey;
  private readonly select;
  private readonly deleteOwned;
  private readonly purge;

  constructor(db: LocalDatabase) {
    ensureSchema(db, SINGLE_USE_SCHEMA);
    this.takeKey = db.prepare(
      `INSERT INTO single_use (key, owner, expires_at) VALUES (@key, @owner, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE single_use.expires_at <= @now`,
    );
    this.select = db.prepare<[string], { expires_at: number }>('SELECT expires_at FROM single_use WHERE key = ?');
    this.deleteOwned = db.prepare('DELETE FROM single_use WHERE key = ? AND owner = ?');
    this.purge = db.prepare('DELETE FROM single_use WHERE expires_at <= ?');
  }

  async take(key: string, owner: string, expiresAt: Date, now: Date): Promise<boolean> {
    return this.takeKey.run({ key, owner, expiresAt: epochSeconds(expiresAt), now: epochSeconds(now) }).changes === 1;
  }

  async isTaken(key: string, now: Date): Promise<boolean> {
    const row = this.select.get(key);
    return row !== undefined && row.expires_at > epochSeconds(now);
  }

  async giveBack(key: string, owner: string): Promise<void> {
    this.deleteOwned.run(key, owner);
  }

  /** Deletes the keys expired at `now` (free again either way); how many. */
  purgeExpired(now: Date): number {
    return this.purge.run(epochSeconds(now)).changes;
  }
}
