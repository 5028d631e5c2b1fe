// A MessageArchive as a .zip file (yazl: streaming, ZIP64 when needed, UTF-8 names with
// the language encoding flag). Each body is piped through deflate straight into the file,
// so a 40 MB message is never held in memory; the zip is written to a hidden temporary
// file next to the target (owner-only: it holds someone's mail) and linked or renamed to
// its name only on commit, so a failure, an abort or a kill leaves no half zip under it.
import { randomUUID } from 'node:crypto';
import { link, lstat, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { ShadowmailError } from '../../core/errors.ts';
import type { MessageArchive } from '../../ports/message-archive.ts';
import { fsyncPath } from '../local/fsync.ts';

/** Unix mode of each file in the zip: unzip on Linux or macOS restores it, so the mail stays the owner's. */
const FILE_MODE = 0o100600;
/** Errors of link() on file systems without hard links (FAT, some network shares): rename after a check instead. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

export interface ZipFileArchiveOptions {
  /** Replace a file already at `path` (otherwise commit refuses, atomically, even one created meanwhile). */
  overwrite: boolean;
}

/** The hidden temporary file an archive for `target` is written to until commit. */
function temporaryArchivePath(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomUUID()}.partial`);
}

/** Opens a zip archive that commit() puts at `path`. */
export async function openZipFileArchive(path: string, options: ZipFileArchiveOptions): Promise<MessageArchive> {
  const target = resolve(path);
  const temporary = temporaryArchivePath(target);
  // wx: never follows or reuses anything already there; 0600 before a single byte is written.
  const handle = await open(temporary, 'wx', 0o600);
  return new ZipFileArchive(target, temporary, handle.createWriteStream(), options);
}

class ZipFileArchive implements MessageArchive {
  private readonly zip = new ZipFile();
  private readonly written: Promise<void>;
  private failure: Error | null = null;
  private readonly waiting = new Set<(error: Error) => void>();
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly target: string,
    private readonly temporary: string,
    private readonly output: NodeJS.WritableStream & { destroy(): void },
    private readonly options: ZipFileArchiveOptions,
  ) {
    this.zip.on('error', (error: Error) => this.fail(error));
    this.written = pipeline(this.zip.outputStream as Readable, output);
    this.written.catch((error: Error) => this.fail(error));
  }

  add(path: string, body: Readable, modifiedAt: Date): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.state !== 'open') return Promise.reject(new Error(`add to an archive that is ${this.state}`));
    return new Promise<void>((resolvePromise, reject) => {
      const settle = (error?: Error) => {
        this.waiting.delete(onFailure);
        body.off('end', onEnd).off('error', onError);
        if (error) reject(error);
        else resolvePromise();
      };
      const onFailure = (error: Error) => {
        body.destroy();
        settle(error);
      };
      const onEnd = () => settle();
      // yazl pipes the body without listening for its errors: a failed read fails the archive here.
      const onError = (error: Error) => {
        settle(error);
        this.fail(error);
      };
      this.waiting.add(onFailure);
      body.once('end', onEnd).once('error', onError);
      this.zip.addReadStreamLazy(path, { mtime: modifiedAt, mode: FILE_MODE }, (give) => give(null, body));
    });
  }

  async commit(): Promise<{ bytes: number }> {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') throw new Error(`commit of an archive that is ${this.state}`);
    this.state = 'committing';
    this.zip.end();
    await this.written;
    if (this.failure) throw this.failure;
    await fsyncPath(this.temporary);
    if (this.options.overwrite) await rename(this.temporary, this.target);
    else await this.linkWithoutReplacing();
    // A directory cannot be opened for fsync everywhere (Windows): the rename is done either way.
    await fsyncPath(dirname(this.target)).catch(() => undefined);
    this.state = 'committed';
    return { bytes: (await stat(this.target)).size };
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.fail(new ShadowmailError('ABORTED', 'the export was aborted'));
    (this.zip.outputStream as Readable).destroy();
    this.output.destroy();
    await this.written.catch(() => undefined);
    await rm(this.temporary, { force: true });
  }

  /** link() fails when the name is taken, so a file that appeared meanwhile is never replaced. */
  private async linkWithoutReplacing(): Promise<void> {
    try {
      await link(this.temporary, this.target);
      await unlink(this.temporary);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') throw new ShadowmailError('EXISTS', `${this.target} appeared while the export ran: it was not replaced`);
      if (!NO_HARD_LINKS.has(code)) throw error;
      if (
        await lstat(this.target).then(
          () => true,
          () => false,
        )
      )
        throw new ShadowmailError('EXISTS', `${this.target} appeared while the export ran: it was not replaced`);
      await rename(this.temporary, this.target);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const reject of [...this.waiting]) reject(this.failure);
  }
}
