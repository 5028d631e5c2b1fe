// fsync for local mode's files: a file's bytes, and a directory's entries after a
// rename (POSIX makes a rename durable only with an fsync of the directory).
import { open } from 'node:fs/promises';

let fsyncs = 0;

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
    fsyncs++;
  } finally {
    await handle.close();
  }
}

/** fsyncs this process has completed through fsyncPath: what tests of group commits count. */
export function fsyncsSoFar(): number {
  return fsyncs;
}

/**
 * Group commit for fsyncs of one path: every write or rename that happened before an
 * fsync of it started is made durable by it, so concurrent callers share one.
 */
class SharedSync {
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

const sharedSyncs = new Map<string, SharedSync>();

/**
 * Makes everything written to the file or directory at `path` so far durable (for a
 * directory: the renames into or out of it): one fsync, shared by concurrent callers.
 */
export function syncShared(path: string): Promise<void> {
  let sync = sharedSyncs.get(path);
  if (!sync) {
    // Dropped once idle: the raw store's directories are many over a year.
    const created = new SharedSync(path, () => {
      if (sharedSyncs.get(path) === created) sharedSyncs.delete(path);
    });
    sync = created;
    sharedSyncs.set(path, sync);
  }
  return sync.sync();
}
