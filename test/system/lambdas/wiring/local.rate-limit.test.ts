// Local mode's per-client request limit over real connections: one client address floods
// the webmail (with a fresh forged session cookie on every request, which buys nothing)
// and gets 429 with Retry-After and a German or English page, while a client from another
// address still reads and the health probe still answers. Loopback has a whole /8, so the
// two clients are 127.0.0.2 and 127.0.0.3 against the server on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalProcess, startLocal } from '../../../support/local-process.ts';

interface Answer {
  status: number;
  retryAfter: string | undefined;
  text: string;
}

function get(port: number, from: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, localAddress: from, headers, agent: false }, (response) => {
      let text = '';
      response
        .setEncoding('utf8')
        .on('data', (part: string) => (text += part))
        .on('end', () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'], text }));
    });
    request.on('error', reject).end();
  });
}

describe('local mode: a request limit per client', () => {
  let dataDir: string;
  let local: LocalProcess;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-rate-limit-'));
    // 2 per second, 10 at once: small, so the flood is short and the test does not race the refill.
    local = await startLocal(dataDir, { SHADOWMAIL_CLIENT_REQUESTS_PER_SECOND: '2', SHADOWMAIL_CLIENT_REQUEST_BURST: '10' }, 60_000);
  }, 90_000);
  afterAll(async () => {
    await local?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses the flooding address with 429 while another address reads and /healthz answers', async () => {
    // Arrange
    const port = local.runtime.httpPort;
    const forged = () => ({
      cookie: `shadowmail_session=${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
    });

    // Act
    const flood = await Promise.all(
      Array.from({ length: 60 }, () => get(port, '127.0.0.2', '/', { ...forged(), 'accept-language': 'de' })),
    );
    const reader = await get(port, '127.0.0.3', '/', { 'accept-language': 'en' });
    const health = await get(port, '127.0.0.2', '/healthz');
    const english = await get(port, '127.0.0.2', '/', { 'accept-language': 'en' });

    // Assess
    const passed = flood.filter((a) => a.status === 200).length;
    // The burst, and at most what refilled while the flood ran.
    expect(passed).toBeGreaterThanOrEqual(10);
    expect(passed).toBeLessThanOrEqual(14);
    const refused = flood.filter((a) => a.status === 429);
    expect(refused.length).toBe(60 - passed);
    expect(Number(refused[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.text).toContain('Zu viele Anfragen');
    expect(reader.status).toBe(200);
    expect(health.status).toBe(200);
    expect(english.status).toBe(429);
    expect(english.text).toContain('Too many requests');
  });
});
