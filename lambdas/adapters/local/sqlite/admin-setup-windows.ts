// The break-glass admins' TOTP setup windows in the embedded store: one row per admin
// (username in comparison form). Reads compare `until` (the DynamoDB item's TTL deletes
// late, local mode has no sweeper); purgeExpired removes the closed ones.
import { normalizeAddress } from '../../../core/addresses.ts';
import type { AdminSetupWindows } from '../../../ports/admin-setup-windows.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { epochSeconds } from './expiry.ts';

export const ADMIN_SETUP_SCHEMA = [
  // until in epoch milliseconds; expires_at (epoch seconds, rounded up) for the purge.
  'CREATE TABLE IF NOT EXISTS admin_setup (username TEXT PRIMARY KEY, until INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID',
] as const;

export class SqliteAdminSetupWindows implements AdminSetupWindows {
  private readonly upsert;
  private readonly select;
  private readonly remove;
  private readonly purge;

  constructor(db: LocalDatabase) {
    ensureSchema(db, ADMIN_SETUP_SCHEMA);
    this.upsert = db.prepare('INSERT OR REPLACE INTO admin_setup (username, until, expires_at) VALUES (?, ?, ?)');
    this.select = db.prepare<[string], { until: number }>('SELECT until FROM admin_setup WHERE username = ?');
    this.remove = db.prepare('DELETE FROM admin_setup WHERE username = ?');
    this.purge = db.prepare('DELETE FROM admin_setup WHERE expires_at <= ?');
  }

  async open(username: string, until: Date): Promise<void> {
    this.upsert.run(normalizeAddress(username), until.getTime(), Math.ceil(until.getTime() / 1000));
  }

  async isOpen(username: string, now: Date): Promise<boolean> {
    const row = this.select.get(normalizeAddress(username));
    return row !== undefined && row.until > now.getTime();
  }

  async close(username: string): Promise<void> {
    this.remove.run(normalizeAddress(username));
  }

  /** Deletes the windows closed at `now`; how many. */
  purgeExpired(now: Date): number {
    return this.purge.run(epochSeconds(now)).changes;
  }
}
