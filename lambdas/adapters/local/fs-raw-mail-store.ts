// Raw mail on the local disk (local mode's stand-in for the S3 bucket):
// <root>/<bucket>/<key>, written to a temporary file, fsynced and renamed,
// so a message is either whole on disk or not there at all.

import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, renameSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError, RawMessageMissingError } from '../../core/errors.ts';
import type { RawLocation } from '../../core/model.ts';
import type { RawMailStore, RawMailWriter } from '../../ports/raw-mail-store.ts';
import { fsyncPath, syncShared, writeDurably } from './fsync.ts';

/**
 * Messages up to this size are read in one synchronous call and handed out from memory
 * (fsync.ts says why synchronous); larger ones are streamed from the file.
 */
const READ_AT_ONCE_BYTES = 1024 * 1024;

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

  private readonly directories = new Set<string>();

  async open(location: RawLocation): Promise<Readable> {
    const size = await this.size(location);
    const path = this.pathOf(location);
    if (size > READ_AT_ONCE_BYTES) return createReadStream(path);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RawMessageMissingError(location.key, { cause: error });
      throw error;
    }
    const stream = new Readable({ read() {} });
    stream.push(bytes);
    stream.push(null);
    return stream;
  }

  async size(location: RawLocation): Promise<number> {
    try {
      return statSync(this.pathOf(location)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RawMessageMissingError(location.key, { cause: error });
      throw error;
    }
  }

  async put(location: RawLocation, body: Readable | Buffer): Promise<void> {
    const target = this.pathOf(location);
    await mkdir(dirname(target), { recursive: true });
    const temporary = join(dirname(target), `.tmp-${randomUUID()}`);
    if (Buffer.isBuffer(body)) {
      await writeDurably(temporary, body);
    } else {
      await pipeline(body, createWriteStream(temporary));
      await fsyncPath(temporary);
    }
    renameSync(temporary, target);
    await syncShared(dirname(target));
  }

  /**
   * Moves a written and already fsynced file into the store without copying (same file
   * system): the caller wrote it (local mode's SMTP spool), so only the rename is made durable.
   */
  async adopt(location: RawLocation, file: string): Promise<void> {
    const target = this.pathOf(location);
    const directory = dirname(target);
    // Created once per process, not once per message; made again if it went meanwhile.
    if (!this.directories.has(directory)) await this.makeDirectory(directory);
    try {
      renameSync(file, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.makeDirectory(directory);
      renameSync(file, target);
    }
    await syncShared(directory);
  }

  private async makeDirectory(directory: string): Promise<void> {
    await mkdir(directory, { recursive: true });
    this.directories.add(directory);
  }
}
