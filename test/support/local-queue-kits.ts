// How the local queues' contract (local-queue-contract.ts) and its child process
// (queue-child.ts) open each kind of queue.
import { join } from 'node:path';
import { FileQueue } from '../../lambdas/adapters/local/file-queue.ts';
import { type LocalDatabase, openLocalDatabase } from '../../lambdas/adapters/local/sqlite/database.ts';
import { SqliteQueue } from '../../lambdas/adapters/local/sqlite/queue.ts';
import type { LocalQueueKit } from './local-queue-contract.ts';

/** The store file a SQLite queue under `dir` lives in (a new connection each call, as another process or a restart has). */
export function sqliteQueueFile(dir: string): LocalDatabase {
  return openLocalDatabase(join(dir, 'queue.db'));
}

// A long rescan interval: messages of another process must arrive through fs.watch.
export const fileQueueKit: LocalQueueKit = {
  kind: 'file',
  open: (dir, name, visibilityTimeoutSeconds) => new FileQueue(join(dir, name), { visibilityTimeoutSeconds, rescanIntervalMs: 60_000 }),
  closeAll: () => undefined,
};

const connections: LocalDatabase[] = [];
export const sqliteQueueKit: LocalQueueKit = {
  kind: 'sqlite',
  open: (dir, name, visibilityTimeoutSeconds) => {
    const db = sqliteQueueFile(dir);
    connections.push(db);
    return new SqliteQueue(db, name, { visibilityTimeoutSeconds });
  },
  closeAll: () => {
    for (const db of connections.splice(0)) if (db.open) db.close();
  },
};
