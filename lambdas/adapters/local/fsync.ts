// fsync for local mode's files: a file's bytes, and a directory's entries after a
// rename (POSIX makes a rename durable only with an fsync of the directory).
//
// Only the fsync itself goes to libuv's thread pool: it waits for the disk, and the event
// loop must not. open, write, close, rename and unlink of a small file run synchronously:
// they touch the page cache, not the disk, and each trip through the thread pool costs
// the main thread more than the call itself (~30 µs against ~5–20 µs measured here;
// docs/design.md §12.23).
import { closeSync, fsync, openSync, writeSync } from 'node:fs';

let fsyncs = 0;

/** fsyncs an open descriptor in the thread pool; the caller still owns (and closes) it. */
export function fsyncDescriptor(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fsync(fd, (error) => {
      if (error) return reject(error);
      fsyncs++;
      resolve();
    });
  });
}

export async function fsyncPath(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await fsyncDescriptor(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `bytes` to a new file at `path` (flags 'wx': never over an existing one) and
 * resolves once they are on disk. On failure the partial file stays for the caller to remove.
 */
export async function writeDurably(path: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const fd = openSync(path, 'wx');
  try {
    for (const chunk of bytes instanceof Uint8Array ? [bytes] : bytes) {
      let written = 0;
      while (written < chunk.length) written += writeSync(fd, chunk, written);
    }
    await fsyncDescriptor(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs this process has completed through this module: what tests of group commits count. */
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
