// Local mode's stand-in for S3's browser uploads (POST Object with a SigV4 POST policy),
// so the webmail's upload forms work locally as they do against S3 and the browser tests
// go through the real flow: it checks what S3 checks and answers errors as S3 does
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html).
// Unlike S3 it refuses a file name with a path in it: here keys become file paths.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type ServerType, serve } from '@hono/node-server';
import { FILENAME_VARIABLE } from '../../core/drafts.ts';
import type { Clock } from '../../ports/clock.ts';
import type { RawMailWriter } from '../../ports/raw-mail-store.ts';

/** Form fields and boundaries besides the file may not exceed 20 KB at S3. */
export const POST_FORM_OVERHEAD_BYTES = 20 * 1024;

export interface S3PostEndpointOptions {
  host: string;
  port: number;
  /** The one key pair local forms are signed with (local mode makes a random one). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  buckets: string[];
  writer: RawMailWriter;
  clock: Clock;
  /** Requests larger than this are refused before they are read. */
  maxBodyBytes: number;
}

export interface S3PostEndpoint {
  /** http://host:port */
  url: string;
  port: number;
  close(): Promise<void>;
}

type Condition = { kind: 'eq' | 'starts-with'; field: string; value: string } | { kind: 'range'; min: number; max: number };

class S3PostError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const deny = (message: string) => new S3PostError(403, 'AccessDenied', message);
const invalid = (message: string) => new S3PostError(400, 'InvalidArgument', message);

/** Answers one POST Object request (exported for tests that need no listener). */
export function s3PostHandler(options: Omit<S3PostEndpointOptions, 'host' | 'port'>): (request: Request) => Promise<Response> {
  return async (request) => {
    try {
      return await handle(request, options);
    } catch (error) {
      if (error instanceof S3PostError) return errorResponse(error);
      throw error;
    }
  };
}

export async function startS3PostEndpoint(options: S3PostEndpointOptions): Promise<S3PostEndpoint> {
  const handler = s3PostHandler(options);
  const server = await new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const started = serve({ fetch: handler, hostname: options.host, port: options.port }, (info) =>
      resolve({ server: started, port: info.port }),
    );
    started.once('error', reject);
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${server.port}`,
    port: server.port,
    close: () => new Promise((resolve) => server.server.close(() => resolve())),
  };
}

async function handle(request: Request, options: Omit<S3PostEndpointOptions, 'host' | 'port'>): Promise<Response> {
  const url = new URL(request.url);
  const bucket = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
  if (request.method !== 'POST') throw new S3PostError(405, 'MethodNotAllowed', 'only browser uploads (POST) are served here');
  if (!options.buckets.includes(bucket)) throw new S3PostError(404, 'NoSuchBucket', 'The specified bucket does not exist');
  if (!/^multipart\/form-data\b/i.test(request.headers.get('content-type') ?? '')) {
    throw new S3PostError(412, 'PreconditionFailed', 'Bucket POST must be of the enclosure-type multipart/form-data');
  }
  // Refused before anything is read: a declared length over the bound, or a body that grows past it.
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (declared > options.maxBodyBytes)
    throw new S3PostError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
  const form = await new Request(request.url, {
    method: 'POST',
    headers: request.headers,
    body: await readBounded(request, options.maxBodyBytes),
  }).formData();

  // Fields up to the file count; S3 ignores whatever follows it.
  const fields = new Map<string, string>();
  let file: File | null = null;
  for (const [name, value] of form.entries()) {
    if (name === 'file') {
      if (typeof value === 'string') throw invalid('POST requires exactly one file upload per request.');
      file = value;
      break;
    }
    if (typeof value === 'string') fields.set(name.toLowerCase(), value);
  }
  if (!file) throw invalid('POST requires exactly one file upload per request.');

  verifySignature(fields, options);
  const policy = parsePolicy(fields.get('policy')!);
  if (Date.parse(policy.expiration) <= options.clock.now().getTime()) throw deny('Invalid according to Policy: Policy expired.');

  const key = fields.get('key');
  if (key === undefined || key === '') throw invalid("Bucket POST must contain a field named 'key'.");
  const values = new Map(fields);
  values.set('bucket', bucket);
  const covered = new Set<string>();
  for (const condition of policy.conditions) {
    if (condition.kind === 'range') {
      if (file.size > condition.max) throw new S3PostError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
      if (file.size < condition.min)
        throw new S3PostError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size');
      continue;
    }
    covered.add(condition.field);
    const given = values.get(condition.field) ?? '';
    const holds = condition.kind === 'eq' ? given === condition.value : given.startsWith(condition.value);
    if (!holds)
      throw deny(
        `Invalid according to Policy: Policy Condition failed: ["${condition.kind}", "$${condition.field}", ${JSON.stringify(condition.value)}]`,
      );
  }
  if (!covered.has('bucket')) throw deny('Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", ...]');
  const extra = [...fields.keys()].filter(
    (name) => !covered.has(name) && !['policy', 'x-amz-signature'].includes(name) && !name.startsWith('x-ignore-'),
  );
  if (extra.length > 0) throw deny(`Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);

  const finalKey = key.includes(FILENAME_VARIABLE) ? key.replaceAll(FILENAME_VARIABLE, safeFilename(file.name)) : key;
  if (finalKey.split('/').some((segment) => segment === '' || segment === '.' || segment === '..'))
    throw invalid('keys with empty, . or .. segments cannot be stored here');
  const content = Buffer.from(await file.arrayBuffer());
  await options.writer.put({ bucket, key: finalKey }, content);
  const etag = `"${createHash('md5').update(content).digest('hex')}"`;

  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (redirect) {
    let location: URL;
    try {
      location = new URL(redirect);
    } catch {
      throw invalid('success_action_redirect is not a URL');
    }
    location.searchParams.append('bucket', bucket);
    location.searchParams.append('key', finalKey);
    location.searchParams.append('etag', etag);
    return new Response(null, { status: 303, headers: { Location: location.href, ETag: etag } });
  }
  const status = ['200', '201'].includes(fields.get('success_action_status') ?? '') ? Number(fields.get('success_action_status')) : 204;
  return new Response(status === 204 ? null : '', { status, headers: { ETag: etag } });
}

/** The request body, refused once it grows past `max` bytes (a missing or false Content-Length included). */
async function readBounded(request: Request, max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > max) throw new S3PostError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks);
}

function verifySignature(
  fields: Map<string, string>,
  options: { credentials: { accessKeyId: string; secretAccessKey: string }; region: string },
): void {
  const policy = fields.get('policy');
  const algorithm = fields.get('x-amz-algorithm');
  const credential = fields.get('x-amz-credential');
  const date = fields.get('x-amz-date');
  const signature = fields.get('x-amz-signature');
  if (!policy || !credential || !date || !signature)
    throw deny('Bucket POST must contain the fields policy, x-amz-credential, x-amz-date and x-amz-signature');
  if (algorithm !== 'AWS4-HMAC-SHA256') throw invalid('x-amz-algorithm must be AWS4-HMAC-SHA256');
  const [accessKeyId, shortDate, region, service, terminator] = credential.split('/');
  if (accessKeyId !== options.credentials.accessKeyId) throw deny('The AWS Access Key Id you provided does not exist in our records.');
  if (shortDate !== date.slice(0, 8) || region !== options.region || service !== 's3' || terminator !== 'aws4_request')
    throw deny('x-amz-credential has the wrong scope');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${options.credentials.secretAccessKey}`, shortDate), region), service), 'aws4_request');
  const expected = Buffer.from(hmac(signingKey, policy).toString('hex'));
  const given = Buffer.from(signature.toLowerCase());
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new S3PostError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
}

function parsePolicy(base64: string): { expiration: string; conditions: Condition[] } {
  let document: { expiration?: unknown; conditions?: unknown };
  try {
    document = JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as typeof document;
  } catch {
    throw invalid('Invalid Policy: Invalid JSON.');
  }
  if (typeof document.expiration !== 'string' || !Array.isArray(document.conditions))
    throw invalid('Invalid Policy: expiration and conditions are required.');
  const conditions = document.conditions.map((entry: unknown): Condition => {
    if (Array.isArray(entry)) {
      const [operator, a, b] = entry as [unknown, unknown, unknown];
      if (operator === 'content-length-range' && Number.isInteger(a) && Number.isInteger(b))
        return { kind: 'range', min: a as number, max: b as number };
      if ((operator === 'eq' || operator === 'starts-with') && typeof a === 'string' && a.startsWith('$') && typeof b === 'string') {
        return { kind: operator, field: a.slice(1).toLowerCase(), value: b };
      }
    } else if (entry && typeof entry === 'object' && Object.keys(entry).length === 1) {
      const [[field, value]] = Object.entries(entry) as [[string, unknown]];
      if (typeof value === 'string') return { kind: 'eq', field: field.toLowerCase(), value };
    }
    throw invalid(`Invalid Policy: Invalid condition ${JSON.stringify(entry)}`);
  });
  return { expiration: document.expiration, conditions };
}

function safeFilename(name: string): string {
  if (name === '' || /[/\\]/.test(name) || name.includes('\u0000') || name === '.' || name === '..')
    throw invalid('the file name must not contain a path');
  return name;
}

function errorResponse(error: S3PostError): Response {
  const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message></Error>`;
  return new Response(body, { status: error.status, headers: { 'Content-Type': 'application/xml' } });
}
