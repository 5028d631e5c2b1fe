// Raw mail in S3: the bucket SES writes each received message to. Reads stream
// the object body (a 40 MB message never sits in memory); writes are for local
// mode and tests, where no SES writes the objects for us.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { RawMessageMissingError } from '../../core/errors.ts';
import type { RawLocation } from '../../core/model.ts';
import type { RawMailStore, RawMailWriter } from '../../ports/raw-mail-store.ts';

/**
 * Client settings that keep bytes unchanged: without WHEN_REQUIRED the SDK sends
 * streamed uploads aws-chunked with trailing checksums, which S3-compatible local
 * servers (s3rver) store framing and all; path style because such servers have no
 * bucket DNS names.
 */
export function makeS3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  });
}

/** For an S3-compatible server on this machine (s3rver in local mode and tests). */
export function makeLocalS3Client(endpoint: string): S3Client {
  return makeS3Client({
    endpoint,
    forcePathStyle: true,
    region: 'local',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

export class S3RawMailStore implements RawMailStore, RawMailWriter {
  constructor(private readonly client: S3Client) {}

  async open(location: RawLocation): Promise<Readable> {
    try {
      const { Body: body } = await this.client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
      if (!(body instanceof Readable)) throw new TypeError(`S3 body of ${location.key} is not a Node stream`);
      return body;
    } catch (error) {
      throw missingOr(error, location);
    }
  }

  async size(location: RawLocation): Promise<number> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      throw missingOr(error, location);
    }
  }

  async put(location: RawLocation, body: Readable | Buffer): Promise<void> {
    if (Buffer.isBuffer(body)) {
      await this.client.send(new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: body }));
      return;
    }
    // S3 needs the length up front; spool a stream of unknown length to a file
    // rather than to memory.
    const directory = await mkdtemp(join(tmpdir(), 'shadowmail-s3-put-'));
    try {
      const file = join(directory, 'body');
      await pipeline(body, createWriteStream(file));
      const { size } = await stat(file);
      await this.client.send(
        new PutObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          Body: createReadStream(file),
          ContentLength: size,
        }),
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
}

function missingOr(error: unknown, location: RawLocation): unknown {
  const name = typeof error === 'object' && error !== null && 'name' in error ? error.name : undefined;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket')) {
    return new RawMessageMissingError(location.key, { cause: error });
  }
  return error;
}
