// fsync for local mode's files: a file's bytes, and a directory's entries after a
// rename (POSIX makes a rename durable only with an fsync of the directory).
import { open } from 'node:fs/promises';

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Group commit for directory fsyncs: every rename that happened before an fsync of
 * the directory started is made durable by it, so concurrent sends share one.
 */
class DirectorySync {
  private current: Promise<void> | null = null;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly path: string,
    private readonly onIdle: () => void,
  ) {}

  sync(): Promise<void> {
    if (this.pending) return this.pending;
    const previous = this.current ?? Promise.resolve();
    const mine = previous
      .catch(() => undefined)
      .then(async () => {
        this.pending = null;
        await fsyncPath(this.path);
      });
    this.pending = mine;
    this.current = mine;
    const clear = (): void => {
      if (this.current !== mine) return;
      this.current = null;
      this.onIdle();
    };
    mine.then(clear, clear);
    return mine;
  }
}

const directorySyncs = new Map<string, DirectorySync>();

/**
 * Makes every rename into (or out of) the directory so far durable: one fsync of the
 * directory, shared by the renames of concurrent callers (group commit).
 */
export function syncDirectory(path: string): Promise<void> {
  let sync = directorySyncs.get(path);
  if (!sync) {
    // Dropped once idle: the raw store's directories are many over a year.
    const created = new DirectorySync(path, () => {
      if (directorySyncs.get(path) === created) directorySyncs.delete(path);
    });
    sync = created;
    directorySyncs.set(path, sync);
  }
  return sync.sync();
}
