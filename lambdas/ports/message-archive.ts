// Port: an archive being written with one file per message (a .zip of .eml files for
// `shadowmail export`). Nothing shows under the archive's name until commit(), so a
// failure or an abort leaves no half-written archive behind.
import type { Readable } from 'node:stream';

export interface MessageArchive {
  /**
   * Adds one file with these bytes, unchanged. Resolves once `body` has been read to its
   * end, so one message is in flight at a time; rejects (and the archive is unusable)
   * when `body` or the archive's own writing fails.
   */
  add(path: string, body: Readable, modifiedAt: Date): Promise<void>;
  /** Finishes the archive and puts it under its name; answers its size in bytes. */
  commit(): Promise<{ bytes: number }>;
  /** Drops everything written so far; nothing is left. Safe to call more than once. */
  abort(): Promise<void>;
}
