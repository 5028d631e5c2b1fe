// The SMTP spool of one message in local mode (inbound-smtp.ts). A message of up to
// KEEP_IN_MEMORY_BYTES stays in memory while it arrives and is handed over as bytes: the
// listener's `accept` puts it on disk (local mode: a row of the store, fsynced with the
// queue's row), and it is checked without being read back. A larger one spills to the
// file as it arrives and is fsynced there. Bytes past the size limit are counted and
// dropped, so neither memory nor disk use grows with them.
import { type FileHandle, open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { fsyncDescriptor } from './fsync.ts';

/** At the listener's default of 200 connections, at most 50 MiB held in memory. */
export const KEEP_IN_MEMORY_BYTES = 256 * 1024;

export class SpoolWriter extends Writable {
  /** Bytes received, including any past the limit. */
  seen = 0;
  private chunks: Buffer[] | null = [];
  private held = 0;
  private handle: FileHandle | null = null;
  private spilled = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly limit: number,
    private readonly sizeExceeded: () => boolean,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.seen += chunk.length;
    if (this.sizeExceeded() || this.seen > this.limit) {
      callback();
    } else if (this.chunks !== null && this.held + chunk.length <= KEEP_IN_MEMORY_BYTES) {
      this.chunks.push(chunk);
      this.held += chunk.length;
      callback();
    } else {
      this.pending = this.spill(chunk);
      this.pending.then(() => callback(), callback);
    }
  }

  private async spill(chunk: Buffer): Promise<void> {
    if (this.handle === null) {
      this.spilled = true;
      this.handle = await open(this.path, 'wx');
      const held = this.chunks ?? [];
      this.chunks = null;
      for (const earlier of held) await writeAll(this.handle, earlier);
    }
    await writeAll(this.handle, chunk);
  }

  /**
   * Once the last byte is in: resolves with the bytes when they were held in memory (not
   * written anywhere: making them durable is the caller's), and with undefined once a
   * message that spilled is fsynced in its file.
   */
  async commit(): Promise<Buffer | undefined> {
    await this.pending;
    if (this.handle !== null) {
      await fsyncDescriptor(this.handle.fd);
      return undefined;
    }
    return Buffer.concat(this.chunks ?? [], this.held);
  }

  /**
   * Closes the file if one was opened, also after a failure; removing it is the caller's.
   * Resolves with whether the file may exist (a spill began), so a message held in memory
   * costs no call to remove a file that was never made.
   */
  async release(): Promise<boolean> {
    // A spill still opening the file must not leave its descriptor behind.
    await this.pending.catch(() => undefined);
    this.chunks = null;
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => undefined);
    return this.spilled;
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += (await handle.write(bytes, written)).bytesWritten;
}
