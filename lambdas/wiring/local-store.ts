// Local mode's store: every table-backed port on one SQLite file, <dataDir>/shadowmail.db
// (adapters/local/sqlite/). The running stack and a CLI command each open it in their own
// process — WAL lets them work beside each other — so this is the one place that builds
// the local ports from the database, for both. Local mode has no TTL sweeper: expired
// rows are purged here at start and then hourly (the retention is weeks).
import { access } from 'node:fs/promises';
import { SqliteAdminSetupWindows } from '../adapters/local/sqlite/admin-setup-windows.ts';
import { SqliteAuditLog } from '../adapters/local/sqlite/audit-log.ts';
import { changesSoFar, type LocalDatabase, makeDurable, openLocalDatabase } from '../adapters/local/sqlite/database.ts';
import { SqliteDirectoryStore } from '../adapters/local/sqlite/directory-store.ts';
import { SqliteMessageIndex } from '../adapters/local/sqlite/message-index.ts';
import { SqliteRawMessages } from '../adapters/local/sqlite/raw-messages.ts';
import { SqliteResendJobs } from '../adapters/local/sqlite/resend-jobs.ts';
import { SqliteSendCounter } from '../adapters/local/sqlite/send-counter.ts';
import { SqliteSessionStore } from '../adapters/local/sqlite/session-store.ts';
import { SqliteSingleUse } from '../adapters/local/sqlite/single-use.ts';
import { ShadowmailError } from '../core/errors.ts';
import type { LocalPaths } from './local-data-dir.ts';

export interface LocalStore {
  db: LocalDatabase;
  index: SqliteMessageIndex;
  directory: SqliteDirectoryStore;
  sessions: SqliteSessionStore;
  audit: SqliteAuditLog;
  sendCounter: SqliteSendCounter;
  singleUse: SqliteSingleUse;
  resendJobs: SqliteResendJobs;
  adminSetup: SqliteAdminSetupWindows;
  /** Received messages kept as rows (localRawMailStore puts them beside the raw files). */
  rawRows: SqliteRawMessages;
  /** Puts every commit so far on disk (one fsync of the write-ahead log, shared; see database.ts). */
  makeDurable(): Promise<void>;
  /** Deletes every row no read could return at `now`; returns how many. */
  purgeExpired(now: Date): Promise<number>;
  close(): void;
}

/** Opens (creating if needed) the store file and its tables. */
export function openLocalStore(path: string): LocalStore {
  const db = openLocalDatabase(path);
  const index = new SqliteMessageIndex(db);
  const sessions = new SqliteSessionStore(db);
  const sendCounter = new SqliteSendCounter(db);
  const singleUse = new SqliteSingleUse(db);
  const resendJobs = new SqliteResendJobs(db);
  const adminSetup = new SqliteAdminSetupWindows(db);
  const expiring = [sessions, sendCounter, singleUse, resendJobs, adminSetup];
  return {
    db,
    index,
    directory: new SqliteDirectoryStore(db),
    sessions,
    audit: new SqliteAuditLog(db),
    sendCounter,
    singleUse,
    resendJobs,
    adminSetup,
    rawRows: new SqliteRawMessages(db),
    makeDurable: () => makeDurable(db),
    purgeExpired: async (now) => (await index.purgeExpired(now)) + expiring.reduce((sum, port) => sum + port.purgeExpired(now), 0),
    close: () => {
      if (db.open) db.close();
    },
  };
}

/**
 * For a CLI command beside the running stack: its commits are fsynced before it exits.
 * Closing does not do it while the stack keeps the file open (the last connection's close
 * checkpoints), and the stack's timer only sees the stack's own writes.
 */
export async function closeDurably(store: Pick<LocalStore, 'makeDurable' | 'close'>): Promise<void> {
  try {
    await store.makeDurable();
  } finally {
    store.close();
  }
}

/** How often the running stack purges expired rows. */
export const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** Purges now and then every `intervalMs`; a failed purge is logged and tried again next time. */
export function startExpiryPurge(
  store: Pick<LocalStore, 'purgeExpired'>,
  options: { now: () => Date; log: (line: string) => void; intervalMs?: number },
): { stop(): void } {
  const purge = () =>
    store.purgeExpired(options.now()).then(
      (purged) => {
        if (purged > 0) options.log(`store: purged ${purged} expired rows`);
      },
      (error: unknown) => options.log(`store: purging expired rows failed: ${(error as Error).message}`),
    );
  void purge();
  const timer = setInterval(() => void purge(), options.intervalMs ?? PURGE_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** How long a commit outside a queue handler (the webmail's, the CLI's) may wait for its fsync. */
export const DURABILITY_INTERVAL_MS = 1_000;

/**
 * Commits are fsynced in groups (database.ts): a 250 waits for one; everything else (the
 * queue handlers' writes, sessions, sent mail, audit) is put on disk by this timer within
 * DURABILITY_INTERVAL_MS, and only when something was written since the last time.
 */
export function startDurabilityTimer(
  store: Pick<LocalStore, 'db' | 'makeDurable'>,
  options: { log: (line: string) => void; intervalMs?: number },
): { stop(): Promise<void> } {
  let synced = changesSoFar(store.db);
  let running: Promise<void> | null = null;
  const syncIfWritten = async (): Promise<void> => {
    try {
      const changes = changesSoFar(store.db);
      if (changes === synced) return;
      await store.makeDurable();
      synced = changes;
    } catch (error) {
      options.log(`store: fsync failed: ${(error as Error).message}`);
    }
  };
  // One at a time: a tick while the last fsync still runs waits for it instead.
  const tick = (): Promise<void> => {
    if (running) return running;
    const current = syncIfWritten().finally(() => {
      if (running === current) running = null;
    });
    running = current;
    return current;
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? DURABILITY_INTERVAL_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      await tick();
    },
  };
}

/**
 * A data directory written by a version before the SQLite store holds its tables in a
 * `dynamodb/` LevelDB folder. Starting beside it would look like an empty store — mail,
 * directory and audit trail silently gone — so local mode and the CLI refuse instead.
 */
export async function refuseLegacyStore(paths: Pick<LocalPaths, 'root' | 'database' | 'legacyDynamodb'>): Promise<void> {
  if (!(await exists(paths.legacyDynamodb)) || (await exists(paths.database))) return;
  throw new ShadowmailError(
    'LEGACY_STORE',
    `${paths.root} holds data of an earlier shadowmail version (${paths.legacyDynamodb}, the embedded dynalite store) ` +
      `and no ${paths.database}: this version keeps local data in SQLite and does not read the old folder. ` +
      `Run the earlier version to export or resend what you need, or move the data directory aside to start afresh ` +
      `(see README, "Local data from earlier versions").`,
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
