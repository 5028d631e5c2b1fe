// Local mode's embedded store: one SQLite file under the data directory, opened in
// process through better-sqlite3 (synchronous calls, microseconds each: no server,
// no HTTP, no JSON round trip per item as with dynalite).
// Durability: WAL with synchronous=NORMAL. A commit is in the write-ahead log (the
// kernel's page cache) when it returns, so it survives a SIGKILL; it reaches the disk
// with the next fsync of the log (https://www.sqlite.org/pragma.html#pragma_synchronous:
// "WAL mode is always consistent with synchronous=NORMAL, but WAL mode does lose
// durability"; checkpoints sync the log before and the database file after copying).
// `makeDurable` is that fsync, of the -wal file, off the event loop and shared by
// concurrent callers: every commit before it is on disk when it resolves. Local mode
// calls it before a 250 and once a second while anything was written. A power cut keeps
// a prefix of the log's commits (design.md 12.28), so a later commit is never kept
// without an earlier one: a queue consumer deletes its message without an fsync first.
// One fsync per group instead of one per write: an index write per commit at FULL
// measured ~15 fsyncs per message; a FULL commit per batch blocked the event loop
// ~0.9 ms per message (issue 18). Several processes
// (the running stack and a CLI command) may open the same file: WAL lets readers
// run beside the one writer, and busy_timeout waits for the writer's lock instead of
// failing at once.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { syncShared } from '../fsync.ts';

export type LocalDatabase = Database.Database;

/** How long a write waits for another process's write lock before it fails (SQLITE_BUSY). */
export const BUSY_TIMEOUT_MS = 5_000;

/** Opens (creating if needed) the store at `path`, or a private in-memory one for ':memory:'. */
export function openLocalDatabase(path: string): LocalDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = ON');
  ensureSchema(db, DURABILITY_SCHEMA);
  return db;
}

const DURABILITY_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS durability (id INTEGER PRIMARY KEY CHECK (id = 1), fsyncs INTEGER NOT NULL)',
  'INSERT OR IGNORE INTO durability (id, fsyncs) VALUES (1, 0)',
] as const;

/**
 * Puts every commit made so far on this file on disk: an fsync of the write-ahead log
 * (the file holding every commit since the last checkpoint, which synced the ones
 * before), shared with concurrent callers. Without a log file (nothing written yet, or
 * an in-memory database) there is nothing the log could lose; a FULL commit then
 * stands in, which is what makeDurable did before.
 */
export async function makeDurable(db: LocalDatabase): Promise<void> {
  if (db.memory) return;
  try {
    await syncShared(`${db.name}-wal`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    commitAtFull(db);
  }
}

/** One commit at synchronous=FULL, which fsyncs the log before it returns (blocks the caller). */
function commitAtFull(db: LocalDatabase): void {
  db.pragma('synchronous = FULL');
  try {
    db.prepare('UPDATE durability SET fsyncs = fsyncs + 1 WHERE id = 1').run();
  } finally {
    db.pragma('synchronous = NORMAL');
  }
}

/** Commits on this connection so far (SQLite's total_changes()): a cheap "was anything written?". */
export function changesSoFar(db: LocalDatabase): number {
  return (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
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
