// Local mode end to end, as a newcomer runs it: mail sent over SMTP reaches the
// built-in primary sink byte for byte and `shadowmail trace` finds it.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WEB_BODY_BYTES } from '../../../lambdas/core/payload-limits.ts';
import { type LocalProcess, localEnv, runCli, spawnLocal, startLocal } from '../../support/local-process.ts';
import { waitFor } from '../../support/wait.ts';

function rawMessage(n: number): string {
  return [
    `From: Partner <partner@elsewhere.test>`,
    `To: Alice <alice@corp.test>`,
    `Subject: local e2e ${n} – Grüße`,
    `Date: Sat, 28 Nov 2026 10:00:00 +0000`,
    `Message-ID: <local-e2e-${n}@elsewhere.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `Message ${n}.`,
    '.a line that starts with a dot',
    '..two dots',
    'Umlaute: äöü ß',
    '',
  ].join('\r\n');
}

describe('local mode with the built-in primary sink', () => {
  let dataDir: string;
  let local: LocalProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-local-'));
    local = await startLocal(dataDir);
  });

  afterAll(async () => {
    await local?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('relays every message unchanged to the primary with its envelope, and trace shows it delivered', async () => {
    // Prepare
    const transport = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true });
    const count = 12;

    // Act: bob only in the envelope (BCC)
    for (let n = 0; n < count; n += 1) {
      const info = await transport.sendMail({
        envelope: { from: 'partner@elsewhere.test', to: ['alice@corp.test', 'bob@corp.test'] },
        raw: rawMessage(n),
      });
      expect(info.accepted).toEqual(['alice@corp.test', 'bob@corp.test']);
    }
    transport.close();

    // Assess
    const primaryDir = join(dataDir, 'primary');
    const emls = await waitFor('all messages at the primary', async () => {
      const names = (await readdir(primaryDir).catch(() => [])).filter((name) => name.endsWith('.eml'));
      return names.length >= count ? names : undefined;
    });
    expect(emls).toHaveLength(count);
    const received = new Map<string, Buffer>();
    for (const name of emls) {
      const bytes = await readFile(join(primaryDir, name));
      const envelope = JSON.parse(await readFile(join(primaryDir, name.replace(/\.eml$/, '.json')), 'utf8'));
      expect(envelope.from).toBe('partner@elsewhere.test');
      expect(envelope.recipients).toEqual(['alice@corp.test', 'bob@corp.test']);
      const firstLineEnd = bytes.indexOf('\r\n');
      expect(bytes.subarray(0, firstLineEnd).toString()).toMatch(/^X-Shadowmail-Forwarded: shadowmail; id=[a-z0-9]+; /);
      const body = bytes.subarray(firstLineEnd + 2);
      const n = /local e2e (\d+)/.exec(body.toString())![1]!;
      received.set(n, body);
    }
    for (let n = 0; n < count; n += 1) expect(received.get(String(n))).toEqual(Buffer.from(rawMessage(n)));

    const traced = await waitFor('delivered states in trace', async () => {
      const result = await runCli(['trace', '--recipient', 'BOB@corp.test', '--json'], localEnv(dataDir));
      expect(result.code, result.stderr).toBe(0);
      const messages = JSON.parse(result.stdout) as { deliveries: { recipient: string; state: string }[] }[];
      return messages.length === count && messages.every((m) => m.deliveries.every((d) => d.state === 'delivered')) ? messages : undefined;
    });
    expect(traced[0]?.deliveries.map((d) => d.recipient).sort()).toEqual(['alice@corp.test', 'bob@corp.test']);

    const byMessageId = await runCli(['trace', '--message-id', '<local-e2e-3@elsewhere.test>'], localEnv(dataDir));
    expect(byMessageId.stdout).toContain('local e2e 3');
    expect(byMessageId.stdout).toMatch(/alice@corp\.test\s+delivered\s+attempts 1/);
  });

  it('refuses recipients outside the configured domains: never an open relay', async () => {
    const transport = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true });

    const attempt = transport.sendMail({
      envelope: { from: 'spammer@elsewhere.test', to: ['victim@elsewhere.test'] },
      raw: rawMessage(99),
    });

    await expect(attempt).rejects.toMatchObject({ responseCode: 550 });
    transport.close();
  });

  it('refuses a request body larger than API Gateway and Lambda would deliver, before reading it (413), as in AWS', async () => {
    // Prepare: one byte over the webmail's limit, once with its length announced and once
    // chunked without; the server may answer before the upload ends (a browser shows that answer).
    const oneOver = Buffer.alloc(MAX_WEB_BODY_BYTES + 1, 'x');
    const post = (body: Buffer, chunked: boolean) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port: local.runtime.httpPort,
            path: '/mail/send',
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'accept-language': 'en',
              ...(chunked ? {} : { 'content-length': String(body.length) }),
            },
          },
          (response) => {
            let text = '';
            response
              .setEncoding('utf8')
              .on('data', (chunk: string) => (text += chunk))
              .on('end', () => resolve({ status: response.statusCode ?? 0, text }));
          },
        );
        // The server closes once it answered; the rest of the upload then meets a closed socket.
        // The socket itself needs the listener too: its last writes may fail after the response
        // detached it from the request (an uncaught EPIPE otherwise).
        const ignoreClosed = (error: NodeJS.ErrnoException) =>
          ['EPIPE', 'ECONNRESET'].includes(error.code ?? '') ? undefined : reject(error);
        request.on('error', ignoreClosed);
        request.on('socket', (socket) => socket.on('error', ignoreClosed));
        for (let at = 0; at < body.length; at += 256 * 1024) request.write(body.subarray(at, at + 256 * 1024));
        request.end();
      });

    // Act
    const declared = await post(oneOver, false);
    const streamed = await post(oneOver, true);
    const within = await post(Buffer.alloc(1024, 'x'), false);

    // Assess: refused for its size; the small one gets as far as the failover gate.
    expect(declared.status).toBe(413);
    expect(declared.text).toContain('Too much for one form');
    expect(streamed.status).toBe(413);
    expect(within.status).not.toBe(413);
  });

  it('refuses a second process on the same data directory', async () => {
    const second = spawnLocal(localEnv(dataDir));
    let stderr = '';
    second.stderr!.on('data', (chunk) => (stderr += chunk));

    const code = await new Promise<number | null>((r) => second.once('exit', (c) => r(c)));

    expect(code).toBe(1);
    expect(stderr).toMatch(/^shadowmail: the data directory .* is in use by process \d+\n$/);
  });
});

describe('local mode start-up', () => {
  it.each([
    ['SHADOWMAIL_SMTP_PORT', 'abc'],
    ['SHADOWMAIL_DOMAINS', 'not a domain'],
    ['SHADOWMAIL_PRIMARY', 'exchange.corp.test'],
  ])('stops on %s=%j with one line naming the variable', async (variable, value) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-badconf-'));
    const child = spawnLocal(localEnv(dataDir, { [variable]: value }));
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));

    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));

    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^shadowmail: ${variable}: `));
    await rm(dataDir, { recursive: true, force: true });
  });
});
