// Raw mail on the local disk (local mode's stand-in for the S3 bucket):
// <root>/<bucket>/<key>, written to a temporary file, fsynced and renamed,
// so a message is either whole on disk or not there at all.

import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError, RawMessageMissingError } from '../../core/errors.ts';
import type { RawLocation } from '../../core/model.ts';
import type { RawMailStore, RawMailWriter } from '../../ports/raw-mail-store.ts';
import { fsyncPath, syncShared } from './fsync.ts';

export class FsRawMailStore implements RawMailStore, RawMailWriter {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  pathOf(location: RawLocation): string {
    const path = resolve(this.root, location.bucket, location.key);
    if (!path.startsWith(this.root + sep)) throw new InvalidInputError(`raw location escapes the store: ${location.key}`);
    return path;
  }

  async open(location: RawLocation): Promise<Readable> {
    await this.size(location);
    return createReadStream(this.pathOf(location));
  }

  async size(location: RawLocation): Promise<number> {
    try {
      return (await stat(this.pathOf(location))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RawMessageMissingError(location.key, { cause: error });
      throw error;
    }
  }

  async put(location: RawLocation, body: Readable | Buffer): Promise<void> {
    const target = this.pathOf(location);
    await mkdir(dirname(target), { recursive: true });
    const temporary = join(dirname(target), `.tmp-${randomUUID()}`);
    await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, createWriteStream(temporary));
    await fsyncPath(temporary);
    await rename(temporary, target);
    await syncShared(dirname(target));
  }

  /**
   * Moves a written and already fsynced file into the store without copying (same file
   * system): the caller wrote it (local mode's SMTP spool), so only the rename is made durable.
   */
  async adopt(location: RawLocation, file: string): Promise<void> {
    const target = this.pathOf(location);
    await mkdir(dirname(target), { recursive: true });
    await rename(file, target);
    await syncShared(dirname(target));
  }
}
