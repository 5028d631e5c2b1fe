// The draft store and its browser uploads. Local mode: FsDraftStore behind the local
// S3-compatible POST endpoint, with forms presigned by the same code as for S3 — the
// endpoint checks signature, expiry, content-length-range, key, redirect and extra
// fields, so every attack on a form is tried here against a real verifier. AWS:
// S3DraftStore against s3rver (an S3-compatible server, in-process), which accepts
// POST uploads but checks no policy at all: there the flow is tested, and the policy
// the AWS adapter signs is read back and posted to the local verifier as well.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3DraftStore } from '../../../../lambdas/adapters/aws/s3-draft-store.ts';
import { makeS3Client } from '../../../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { presignedUploadForm } from '../../../../lambdas/adapters/aws/s3-upload-form.ts';
import { FsDraftStore } from '../../../../lambdas/adapters/local/fs-draft-store.ts';
import { FsRawMailStore } from '../../../../lambdas/adapters/local/fs-raw-mail-store.ts';
import { type S3PostEndpoint, startS3PostEndpoint } from '../../../../lambdas/adapters/local/s3-post-endpoint.ts';
import { draftKeys, draftOwner, FILENAME_VARIABLE, type SavedDraft } from '../../../../lambdas/core/drafts.ts';
import type { DraftStore, UploadForm } from '../../../../lambdas/ports/draft-store.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';
import { type RunningS3rver, startS3rver } from '../../../support/s3rver.ts';

const BUCKET = 'inbound';
const MB = 1024 * 1024;
const CREDENTIALS = { accessKeyId: 'LOCALUPLOADS', secretAccessKey: randomBytes(24).toString('base64url') };
const REDIRECT = 'http://127.0.0.1:8787/mail/drafts/x/uploaded?slot=1';
const ALICE = draftOwner('alice@corp.test');
const BOB = draftOwner('bob@corp.test');

const DRAFT: SavedDraft = {
  mode: 'new',
  to: 'bob@corp.test',
  cc: '',
  bcc: '',
  subject: 'Plans',
  text: 'See attached.',
  inReplyTo: '',
  references: '',
  originalId: '',
  keep: [],
};

/** Posts `form` as a browser does: the fields in order, the file last. */
async function post(
  form: UploadForm,
  file: { name: string; bytes: Buffer },
  change: (fields: [string, string][]) => [string, string][] = (f) => f,
  url = form.url,
) {
  const body = new FormData();
  for (const [name, value] of change(form.fields.map(([n, v]) => [n, v]))) body.append(name, value);
  body.append('file', new File([new Uint8Array(file.bytes)], file.name, { type: 'application/octet-stream' }));
  return fetch(`${url}`, { method: 'POST', body, redirect: 'manual' });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function policyOf(form: UploadForm): { expiration: string; conditions: unknown[] } {
  return JSON.parse(Buffer.from(new Map(form.fields).get('Policy')!, 'base64').toString('utf8')) as {
    expiration: string;
    conditions: unknown[];
  };
}

describe('local mode: FsDraftStore behind the S3-compatible POST endpoint', () => {
  let dir = '';
  let endpoint: S3PostEndpoint;
  let client: S3Client;
  let files: FsRawMailStore;
  let store: DraftStore;
  const clock = new ManualClock(new Date().toISOString());

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-drafts-'));
    files = new FsRawMailStore(dir);
    endpoint = await startS3PostEndpoint({
      host: '127.0.0.1',
      port: 0,
      credentials: CREDENTIALS,
      region: 'local',
      buckets: [BUCKET],
      writer: files,
      clock,
      maxBodyBytes: 6 * MB,
    });
    client = makeS3Client({ endpoint: endpoint.url, forcePathStyle: true, region: 'local', credentials: CREDENTIALS });
    store = new FsDraftStore(files, {
      bucket: BUCKET,
      clock,
      sign: (request) => presignedUploadForm(createPresignedPost, client, request),
    });
  });

  afterAll(async () => {
    client?.destroy();
    await endpoint?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the fields, takes a file through the form, lists, opens, removes and discards it', async () => {
    // Prepare
    const draftId = randomUUID();
    const bytes = randomBytes(5 * MB);
    await store.save(ALICE, draftId, DRAFT);

    // Act
    const form = await store.uploadForm(ALICE, draftId, { maxBytes: 5 * MB, redirect: REDIRECT, expiresInSeconds: 900 });
    const response = await post(form, { name: 'Plan (final) ä.pdf', bytes });
    const location = new URL(response.headers.get('location') ?? 'http://missing/');
    const listed = await store.uploads(ALICE, draftId);
    const content = await readAll(await store.open(listed[0]!));
    const loaded = await store.load(ALICE, draftId);
    const bobsView = await store.uploads(BOB, draftId);
    await store.remove(ALICE, draftId, listed[0]!.id);
    const afterRemove = await store.uploads(ALICE, draftId);
    await store.discard(ALICE, draftId);

    // Assess
    expect(response.status).toBe(303);
    expect(`${location.origin}${location.pathname}`).toBe('http://127.0.0.1:8787/mail/drafts/x/uploaded');
    expect(location.searchParams.get('slot')).toBe('1');
    expect(location.searchParams.get('bucket')).toBe(BUCKET);
    expect(location.searchParams.get('key')).toBe(listed[0]!.location.key);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ filename: 'Plan (final) ä.pdf', size: 5 * MB });
    expect(listed[0]!.location.key.startsWith(draftKeys(ALICE, draftId).files)).toBe(true);
    expect(content.equals(bytes)).toBe(true);
    expect(loaded).toEqual(DRAFT);
    expect(bobsView).toEqual([]);
    expect(afterRemove).toEqual([]);
    expect(await store.load(ALICE, draftId)).toBeNull();
  });

  it('lists files in the order they were uploaded', async () => {
    // Prepare
    const draftId = randomUUID();
    const names = ['first.txt', 'second.txt', 'third.txt'];

    // Act
    for (const name of names) {
      clock.advance(1000);
      await post(await store.uploadForm(ALICE, draftId, { maxBytes: MB, redirect: REDIRECT, expiresInSeconds: 900 }), {
        name,
        bytes: Buffer.from(name),
      });
    }

    // Assess
    expect((await store.uploads(ALICE, draftId)).map((upload) => upload.filename)).toEqual(names);
  });

  const attacks: [string, (form: UploadForm) => Promise<Response>, number, RegExp][] = [
    ['a file one byte over the limit', (form) => post(form, { name: 'big.bin', bytes: Buffer.alloc(MB + 1) }), 400, /EntityTooLarge/],
    ['an empty file', (form) => post(form, { name: 'empty.txt', bytes: Buffer.alloc(0) }), 400, /EntityTooSmall/],
    [
      "a key in another user's draft",
      (form) =>
        post(form, { name: 'x.txt', bytes: Buffer.from('x') }, (fields) =>
          fields.map(([n, v]) => [n, n === 'key' ? v.replace(ALICE, BOB) : v]),
        ),
      403,
      /Policy Condition failed/,
    ],
    [
      'a key outside the uploads prefix',
      (form) =>
        post(form, { name: 'x.txt', bytes: Buffer.from('x') }, (fields) => fields.map(([n, v]) => [n, n === 'key' ? 'sent/forged' : v])),
      403,
      /Policy Condition failed/,
    ],
    [
      'another redirect',
      (form) =>
        post(form, { name: 'x.txt', bytes: Buffer.from('x') }, (fields) =>
          fields.map(([n, v]) => [n, n === 'success_action_redirect' ? 'https://evil.test/' : v]),
        ),
      403,
      /Policy Condition failed/,
    ],
    [
      'an extra field',
      (form) => post(form, { name: 'x.txt', bytes: Buffer.from('x') }, (fields) => [...fields, ['Content-Type', 'text/html']]),
      403,
      /Extra input fields: content-type/,
    ],
    [
      'a policy with a larger limit',
      (form) =>
        post(form, { name: 'x.txt', bytes: Buffer.from('x') }, (fields) =>
          fields.map(([n, v]) => [
            n,
            n === 'Policy'
              ? Buffer.from(
                  Buffer.from(v, 'base64')
                    .toString()
                    .replace(/1048576/, '99999999'),
                ).toString('base64')
              : v,
          ]),
        ),
      403,
      /SignatureDoesNotMatch/,
    ],
    ['a file name with a path', (form) => post(form, { name: '../../../escape.txt', bytes: Buffer.from('x') }), 400, /InvalidArgument/],
    [
      'another bucket',
      (form) => post(form, { name: 'x.txt', bytes: Buffer.from('x') }, (f) => f, form.url.replace(/\/inbound$/, '/other')),
      404,
      /NoSuchBucket/,
    ],
  ];

  it.each(attacks)('refuses %s, and stores nothing', async (_name, attack, status, code) => {
    // Prepare
    const draftId = randomUUID();
    const form = await store.uploadForm(ALICE, draftId, { maxBytes: MB, redirect: REDIRECT, expiresInSeconds: 900 });

    // Act
    const response = await attack(form);
    const body = await response.text();

    // Assess
    expect(response.status).toBe(status);
    expect(body).toMatch(code);
    expect(await store.uploads(ALICE, draftId)).toEqual([]);
    expect(await store.uploads(BOB, draftId)).toEqual([]);
    expect(await readdir(join(dir, BUCKET)).catch(() => [])).not.toContain('sent');
  });

  it('refuses a form after its expiry, and takes it before', async () => {
    // Prepare
    const draftId = randomUUID();
    const form = await store.uploadForm(ALICE, draftId, { maxBytes: MB, redirect: REDIRECT, expiresInSeconds: 60 });

    // Act
    clock.advance(61_000);
    const late = await post(form, { name: 'late.txt', bytes: Buffer.from('late') });
    clock.advance(-61_000);
    const inTime = await post(form, { name: 'in-time.txt', bytes: Buffer.from('in time') });

    // Assess
    expect(late.status).toBe(403);
    expect(await late.text()).toMatch(/Policy expired/);
    expect(inTime.status).toBe(303);
    expect((await store.uploads(ALICE, draftId)).map((upload) => upload.filename)).toEqual(['in-time.txt']);
  });

  it('refuses a request larger than its bound before reading it', async () => {
    // Prepare
    const draftId = randomUUID();
    const form = await store.uploadForm(ALICE, draftId, { maxBytes: 10 * MB, redirect: REDIRECT, expiresInSeconds: 900 });

    // Act: the policy would allow it; the endpoint's own bound (6 MB) does not.
    const response = await post(form, { name: 'huge.bin', bytes: Buffer.alloc(7 * MB) });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/EntityTooLarge/);
    expect(await store.uploads(ALICE, draftId)).toEqual([]);
  });
});

describe('AWS: S3DraftStore on s3rver', () => {
  let s3: RunningS3rver;
  let store: S3DraftStore;
  const clock = new ManualClock(new Date().toISOString());

  beforeAll(async () => {
    s3 = await startS3rver([BUCKET]);
    store = new S3DraftStore(s3.client, { bucket: BUCKET, clock });
  });

  afterAll(async () => s3?.close());

  it('signs a policy that fixes bucket, key prefix, size range, redirect and a short expiry', async () => {
    // Act
    const draftId = randomUUID();
    const form = await store.uploadForm(ALICE, draftId, { maxBytes: 25 * MB, redirect: REDIRECT, expiresInSeconds: 900 });
    const policy = policyOf(form);
    const fields = new Map(form.fields);

    // Assess
    expect(form.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/inbound$/);
    expect(fields.get('key')).toMatch(new RegExp(`^${draftKeys(ALICE, draftId).files}[0-9a-z]{9}-[0-9a-f]{12}/\\$\\{filename\\}$`));
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 1, 25 * MB],
        ['starts-with', '$key', fields.get('key')!.replace(FILENAME_VARIABLE, '')],
        { success_action_redirect: REDIRECT },
        { bucket: BUCKET },
        { 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256' },
      ]),
    );
    const lifetime = Date.parse(policy.expiration) - Date.now();
    expect(lifetime).toBeGreaterThan(890_000);
    expect(lifetime).toBeLessThanOrEqual(900_000);
    expect(form.fields.at(0)?.[0]).toBe('key');
  });

  it('takes the presigned POST (s3rver checks no policy) and redirects with the key', async () => {
    // Prepare
    const draftId = randomUUID();
    const form = await store.uploadForm(ALICE, draftId, { maxBytes: MB, redirect: REDIRECT, expiresInSeconds: 900 });

    // Act
    const response = await post(form, { name: 'note.txt', bytes: Buffer.from('a note') });

    // Assess: s3rver does not put the file name into ${filename}; S3 and the local endpoint do.
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get('location')!).searchParams.get('key')).toBe(new Map(form.fields).get('key'));
  });

  it('keeps the fields, lists the files S3 stored for the draft (only those), opens, removes and discards them', async () => {
    // Prepare: objects where S3 puts uploads (the POST itself is tested above and against the local verifier).
    const draftId = randomUUID();
    const keys = draftKeys(ALICE, draftId);
    const one = randomBytes(7 * MB);
    await store.save(ALICE, draftId, DRAFT);
    for (const [key, body] of [
      [`${keys.files}00000000a-0123456789ab/one.bin`, one],
      [`${keys.files}00000000b-0123456789ab/two.txt`, Buffer.from('two')],
      [`${keys.files}not-a-slot/ignored.txt`, Buffer.from('x')],
      [`${draftKeys(BOB, draftId).files}00000000a-0123456789ab/bobs.txt`, Buffer.from('bob')],
    ] as const) {
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    }

    // Act
    const loaded = await store.load(ALICE, draftId);
    const listed = await store.uploads(ALICE, draftId);
    const content = await readAll(await store.open(listed[0]!));
    await store.remove(ALICE, draftId, listed[1]!.id);
    const afterRemove = await store.uploads(ALICE, draftId);
    await store.discard(ALICE, draftId);

    // Assess
    expect(loaded).toEqual(DRAFT);
    expect(listed.map((upload) => [upload.filename, upload.size])).toEqual([
      ['one.bin', 7 * MB],
      ['two.txt', 3],
    ]);
    expect(content.equals(one)).toBe(true);
    expect(afterRemove.map((upload) => upload.filename)).toEqual(['one.bin']);
    expect(await store.load(ALICE, draftId)).toBeNull();
    expect(await store.uploads(ALICE, draftId)).toEqual([]);
    expect((await store.uploads(BOB, draftId)).map((upload) => upload.filename)).toEqual(['bobs.txt']);
  });
});

describe("the AWS adapter's form against the local verifier", () => {
  it('is accepted as signed, and refused when its limit is exceeded', async () => {
    // Prepare: S3DraftStore signs for "S3" at the local endpoint with the endpoint's key pair.
    const dir = await mkdtemp(join(tmpdir(), 'shadowmail-drafts-cross-'));
    const clock = new ManualClock(new Date().toISOString());
    const files = new FsRawMailStore(dir);
    const endpoint = await startS3PostEndpoint({
      host: '127.0.0.1',
      port: 0,
      credentials: CREDENTIALS,
      region: 'local',
      buckets: [BUCKET],
      writer: files,
      clock,
      maxBodyBytes: 2 * MB,
    });
    const client = makeS3Client({ endpoint: endpoint.url, forcePathStyle: true, region: 'local', credentials: CREDENTIALS });
    try {
      const aws = new S3DraftStore(client, { bucket: BUCKET, clock });
      const draftId = randomUUID();

      // Act
      const ok = await post(await aws.uploadForm(ALICE, draftId, { maxBytes: 100, redirect: REDIRECT, expiresInSeconds: 900 }), {
        name: 'ok.txt',
        bytes: Buffer.alloc(100),
      });
      const tooLarge = await post(await aws.uploadForm(ALICE, draftId, { maxBytes: 100, redirect: REDIRECT, expiresInSeconds: 900 }), {
        name: 'big.txt',
        bytes: Buffer.alloc(101),
      });

      // Assess
      expect(ok.status).toBe(303);
      expect(tooLarge.status).toBe(400);
      expect(
        (
          await new FsDraftStore(files, {
            bucket: BUCKET,
            clock,
            sign: (request) => presignedUploadForm(createPresignedPost, client, request),
          }).uploads(ALICE, draftId)
        ).map((u) => u.filename),
      ).toEqual(['ok.txt']);
    } finally {
      client.destroy();
      await endpoint.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
