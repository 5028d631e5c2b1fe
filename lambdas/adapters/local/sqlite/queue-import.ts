// Before issue 18's store-backed queues, local mode kept its ingest and forward queues as
// directories of files (file-queue.ts). A data directory from then may still hold messages
// there: they are taken over at start, never dropped. Each keeps its id, so a crash between
// the import and the deletion of its file imports it once (INSERT OR IGNORE), not twice.
import { unlink } from 'node:fs/promises';
import { leftoverMessages } from '../file-queue.ts';
import { MAX_DELAY_SECONDS } from '../local-queue.ts';
import { type LocalDatabase, makeDurable } from './database.ts';
import type { SqliteQueue } from './queue.ts';

/** Moves the messages of the file queue in `dir` into `queue`; returns how many. */
export async function importFileQueue(dir: string, queue: SqliteQueue, db: LocalDatabase): Promise<number> {
  const messages = await leftoverMessages(dir);
  if (messages.length === 0) return 0;
  const now = Date.now();
  db.transaction(() => {
    for (const message of messages) {
      // A lease's consumer is gone (this process holds the data directory): visible at once.
      const until = message.inFlight ? now : message.visibleAt;
      const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((until - now) / 1000)));
      queue.write(message.body, delaySeconds, message.id);
    }
  }).immediate();
  // On disk before the files go.
  await makeDurable(db);
  for (const message of messages) {
    await unlink(message.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  return messages.length;
}
