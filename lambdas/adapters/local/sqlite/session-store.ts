// Webmail sessions in the embedded store: one row per session. Local mode has no TTL
// sweeper, so reads check expiresAt (as the DynamoDB adapter does, TTL deleting late)
// and purgeExpired removes what no read can return any more.
import type { SessionStore, StoredSession } from '../../../ports/session-store.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { epochSeconds } from './expiry.ts';

export const SESSION_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS session (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    directory_id TEXT,
    token_admin INTEGER NOT NULL CHECK (token_admin IN (0, 1)),
    break_glass_admin INTEGER NOT NULL CHECK (break_glass_admin IN (0, 1)),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    signed_out INTEGER NOT NULL CHECK (signed_out IN (0, 1))
  ) WITHOUT ROWID`,
  'CREATE INDEX IF NOT EXISTS session_by_expiry ON session (expires_at)',
] as const;

interface SessionRow {
  id: string;
  email: string;
  directory_id: string | null;
  token_admin: number;
  break_glass_admin: number;
  created_at: number;
  expires_at: number;
  signed_out: number;
}

export class SqliteSessionStore implements SessionStore {
  private readonly insert;
  private readonly select;
  private readonly markSignedOut;
  private readonly purge;

  constructor(db: LocalDatabase) {
    ensureSchema(db, SESSION_SCHEMA);
    // A plain INSERT: the id is 256 random bits, a collision fails (UNIQUE) instead of taking a session over.
    this.insert = db.prepare(
      `INSERT INTO session (id, email, directory_id, token_admin, break_glass_admin, created_at, expires_at, signed_out)
       VALUES (@id, @email, @directoryId, @tokenAdmin, @breakGlassAdmin, @createdAt, @expiresAt, @signedOut)`,
    );
    this.select = db.prepare<[string], SessionRow>('SELECT * FROM session WHERE id = ?');
    this.markSignedOut = db.prepare('UPDATE session SET signed_out = 1 WHERE id = ?');
    this.purge = db.prepare('DELETE FROM session WHERE expires_at <= ?');
  }

  async create(session: StoredSession): Promise<void> {
    this.insert.run({
      id: session.id,
      email: session.email,
      directoryId: session.directoryId ?? null,
      tokenAdmin: session.tokenAdmin ? 1 : 0,
      breakGlassAdmin: session.breakGlassAdmin === true ? 1 : 0,
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
      signedOut: session.signedOut ? 1 : 0,
    });
  }

  async get(id: string, now: Date): Promise<StoredSession | null> {
    const row = this.select.get(id);
    if (!row || !(row.expires_at > now.getTime() / 1000)) return null;
    return {
      id,
      email: row.email,
      ...(row.directory_id !== null && { directoryId: row.directory_id }),
      tokenAdmin: row.token_admin === 1,
      ...(row.break_glass_admin === 1 && { breakGlassAdmin: true }),
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      signedOut: row.signed_out === 1,
    };
  }

  async signOut(id: string): Promise<void> {
    this.markSignedOut.run(id);
  }

  /** Deletes the sessions expired at `now` (none of them can be read any more); how many. */
  purgeExpired(now: Date): number {
    return this.purge.run(epochSeconds(now)).changes;
  }
}
