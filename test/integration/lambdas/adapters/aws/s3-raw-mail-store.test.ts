// The S3 raw mail store against s3rver (an S3-compatible server, in-process,
// on 127.0.0.1 with a temporary directory): bytes come back exactly as stored,
// missing objects are RawMessageMissingError, and 40 MB bodies are streamed.
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RawMailStore } from '../../../../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { RawMessageMissingError } from '../../../../../lambdas/core/errors.ts';
import { type RunningS3rver, startS3rver } from '../../../../support/s3rver.ts';

const BUCKET = 'raw-mail';
const FORTY_MB = 40 * 1024 * 1024;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every byte value, and line endings that a text-mode copy would damage. */
function awkwardBytes(): Buffer {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  return Buffer.concat([
    Buffer.from('Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\n'),
    all,
    Buffer.from('\r\n.\r\nlone LF\nlone CR\rNUL\0\0 8-bit: \xe4\xf6\xfc\xff\r\n', 'latin1'),
    all.reverse(),
  ]);
}

describe('S3RawMailStore on s3rver', () => {
  let s3: RunningS3rver | undefined;
  let client: S3Client;
  let store: S3RawMailStore;

  beforeAll(async () => {
    const started = performance.now();
    s3 = await startS3rver([BUCKET]);
    console.info(`s3rver ready in ${Math.round(performance.now() - started)} ms`);
    client = s3.client;
    store = new S3RawMailStore(client);
  });

  afterAll(async () => {
    await s3?.close();
  });

  it('returns a buffer written byte for byte, CR, LF, NUL and 8-bit included', async () => {
    // Prepare
    const bytes = awkwardBytes();
    const location = { bucket: BUCKET, key: 'raw/buffer-message' };
    // Act
    await store.put(location, bytes);
    const size = await store.size(location);
    const read = await readAll(await store.open(location));
    // Assess
    expect(size).toBe(bytes.length);
    expect(read.equals(bytes)).toBe(true);
  });

  it('returns a stream written in pieces byte for byte', async () => {
    // Prepare
    const bytes = awkwardBytes();
    const location = { bucket: BUCKET, key: 'raw/stream-message' };
    const pieces = [bytes.subarray(0, 7), bytes.subarray(7, 300), bytes.subarray(300)];
    // Act
    await store.put(location, Readable.from(pieces));
    const read = await readAll(await store.open(location));
    // Assess
    expect(read.equals(bytes)).toBe(true);
    expect(await store.size(location)).toBe(bytes.length);
  });

  it('reports a missing object as RawMessageMissingError, keeping the S3 error as cause', async () => {
    // Prepare
    const location = { bucket: BUCKET, key: 'raw/not-there' };
    const failure = (error: unknown) => error;
    // Act
    const openError = await store.open(location).then(() => null, failure);
    const sizeError = await store.size(location).then(() => null, failure);
    // Assess
    expect(openError).toBeInstanceOf(RawMessageMissingError);
    expect(sizeError).toBeInstanceOf(RawMessageMissingError);
    expect((openError as RawMessageMissingError).key).toBe('raw/not-there');
    expect(((openError as Error).cause as Error).name).toBe('NoSuchKey');
    expect(((sizeError as Error).cause as Error).name).toBe('NotFound');
  });

  it('streams a 40 MB message without reading it all before handing it over', async () => {
    // Prepare
    const location = { bucket: BUCKET, key: 'raw/forty-megabytes' };
    const written = createHash('sha256');
    async function* body() {
      for (let sent = 0; sent < FORTY_MB; sent += 1024 * 1024) {
        const chunk = randomBytes(1024 * 1024);
        written.update(chunk);
        yield chunk;
      }
    }
    const putStarted = performance.now();
    await store.put(location, Readable.from(body()));
    const putMs = performance.now() - putStarted;

    // Act
    const readStarted = performance.now();
    const stream = await store.open(location);
    await sleep(300);
    const socket = (stream as Readable & { socket?: Socket }).socket;
    const receivedBeforeReading = socket?.bytesRead ?? Number.NaN;
    const read = createHash('sha256');
    let length = 0;
    for await (const chunk of stream) {
      read.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    const readMs = performance.now() - readStarted;
    console.info(
      `40 MB: put ${Math.round(putMs)} ms, streamed read ${Math.round(readMs)} ms (incl. 300 ms pause), ${receivedBeforeReading} bytes received before reading`,
    );

    // Assess
    expect(await store.size(location)).toBe(FORTY_MB);
    expect(length).toBe(FORTY_MB);
    expect(read.digest('hex')).toBe(written.digest('hex'));
    // Unread, the body waits in socket buffers (a few MB at most), not in memory.
    expect(receivedBeforeReading).toBeLessThan(FORTY_MB / 2);
  });
});
