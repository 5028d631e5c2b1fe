// S3DownloadLinks against s3rver (an S3-compatible server, in-process, on
// 127.0.0.1 with a temporary directory): the extracted part lands under
// downloads/, and the presigned URL, fetched like a browser would, serves the
// same bytes as a download with the right name and type.
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3DownloadLinks } from '../../../../../lambdas/adapters/aws/s3-download-links.ts';
import { contentDispositionAttachment } from '../../../../../lambdas/core/content-disposition.ts';
import { InvalidInputError } from '../../../../../lambdas/core/errors.ts';
import { type RunningS3rver, startS3rver } from '../../../../support/s3rver.ts';

const BUCKET = 'raw-mail';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A stream in 64 KB pieces, as openAttachment hands them over. */
function streamOf(bytes: Buffer): Readable {
  return Readable.from(
    (function* pieces() {
      for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
    })(),
  );
}

describe('S3DownloadLinks on s3rver', () => {
  let s3: RunningS3rver;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startS3rver([BUCKET]);
    client = s3.client;
  });

  afterAll(async () => s3?.close());

  it('serves a 7 MB part byte for byte from a presigned URL, as a named download', async () => {
    // Prepare: more than a Lambda response could carry.
    const bytes = randomBytes(7 * 1024 * 1024);
    const links = new S3DownloadLinks(client, { bucket: BUCKET });
    const filename = 'Quartalszahlen € 2025 (final).pdf';

    // Act
    const url = await links.link({ key: 'msg-0001/2', filename, contentType: 'application/pdf', content: streamOf(bytes) });
    const response = await fetch(url);
    const body = Buffer.from(await response.arrayBuffer());

    // Assess: same bytes; headers from the signed overrides; stored under downloads/; short expiry.
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe(`/${BUCKET}/downloads/msg-0001/2`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(response.status).toBe(200);
    expect(body.length).toBe(bytes.length);
    expect(sha256(body)).toBe(sha256(bytes));
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-disposition')).toBe(contentDispositionAttachment(filename));
    expect(response.headers.get('content-disposition')).toContain("filename*=UTF-8''Quartalszahlen%20%E2%82%AC%202025%20%28final%29.pdf");
  });

  it('sends an unsafe media type as application/octet-stream', async () => {
    // Prepare
    const links = new S3DownloadLinks(client, { bucket: BUCKET });

    // Act
    const url = await links.link({
      key: 'msg-0002/0',
      filename: 'x.bin',
      contentType: 'text/html; charset="x"\r\nX-Evil: 1',
      content: streamOf(Buffer.from('data')),
    });
    const response = await fetch(url);

    // Assess
    expect(await response.text()).toBe('data');
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('x-evil')).toBeNull();
  });

  it('refuses keys that could leave the downloads prefix, storing nothing', async () => {
    // Prepare
    const links = new S3DownloadLinks(client, { bucket: BUCKET, prefix: 'unsafe-test/' });
    const attempts = ['../raw/message', 'a/../../raw/x', '/absolute', 'a//b', 'a\\b', 'spaces here', ''];

    // Act
    const outcomes = await Promise.all(
      attempts.map((key) =>
        links.link({ key, filename: 'x', contentType: 'text/plain', content: streamOf(Buffer.from('x')) }).then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );

    // Assess
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(InvalidInputError);
    const stored = await readdir(join(s3.directory, BUCKET), { recursive: true });
    expect(stored.filter((path) => path.startsWith('unsafe-test'))).toEqual([]);
  });

  it('signs links that stop working after their lifetime', async () => {
    // Prepare
    const links = new S3DownloadLinks(client, { bucket: BUCKET, expiresInSeconds: 1 });
    const url = await links.link({
      key: 'msg-0003/1',
      filename: 'late.txt',
      contentType: 'text/plain',
      content: streamOf(Buffer.from('late')),
    });

    // Act
    const early = await fetch(url);
    await sleep(2_100);
    const late = await fetch(url);

    // Assess
    expect(early.status).toBe(200);
    expect(late.status).toBe(403);
  });
});
