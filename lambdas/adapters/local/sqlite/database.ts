// Local mode's embedded store: one SQLite file under the data directory, opened in
// process through better-sqlite3 (synchronous calls, microseconds each: no server,
// no HTTP, no JSON round trip per item as with dynalite).
// Durability: WAL with synchronous=FULL makes every commit fsync the write-ahead log
// before it returns (https://www.sqlite.org/pragma.html#pragma_synchronous), so a
// write the caller saw finish survives a SIGKILL or a power cut. Several processes
// (the running stack and a CLI command) may open the same file: WAL lets readers
// run beside the one writer, and busy_timeout waits for the writer's lock instead of
// failing at once.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type LocalDatabase = Database.Database;

/** How long a write waits for another process's write lock before it fails (SQLITE_BUSY). */
export const BUSY_TIMEOUT_MS = 5_000;

/** Opens (creating if needed) the store at `path`, or a private in-memory one for ':memory:'. */
export function openLocalDatabase(path: string): LocalDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * Creates the tables and indexes of one adapter if they are missing. Each adapter owns
 * its statements (CREATE … IF NOT EXISTS) and calls this in its constructor, so an
 * adapter can be opened on its own in a test and a new one adds its tables to an old file.
 */
export function ensureSchema(db: LocalDatabase, statements: readonly string[]): void {
  // IMMEDIATE: some statements write (a seed row), after the CREATEs read the schema. A
  // deferred transaction fails at once with "database is locked" when another process
  // (the running stack) committed in between; the write lock first waits (busy_timeout).
  db.transaction(() => {
    for (const statement of statements) db.exec(statement);
  }).immediate();
}
