// Local mode's HTTP server under a large upload from someone without a session: a 400 MB
// POST to /auth/logout is refused with 413 before its upload ends, and the process's
// memory stays where it was (it grew by 1.1 GB before issue 14).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalProcess, startLocal } from '../../../support/local-process.ts';

const MB = 1024 * 1024;

/** Resident memory of a process in bytes (Linux /proc). */
async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

interface Upload {
  status: number;
  text: string;
  /** Bytes handed to the socket before the answer came. */
  sentBeforeAnswer: number;
  ms: number;
}

/** POSTs `total` bytes (announced or chunked) in 1 MiB writes, stopping once the server answered. */
function upload(port: number, total: number, chunked: boolean, cookie?: string): Promise<Upload> {
  const started = Date.now();
  const chunk = Buffer.alloc(MB, 'x');
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/auth/logout',
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'accept-language': 'en',
          ...(chunked ? {} : { 'content-length': String(total) }),
          ...(cookie && { cookie }),
        },
      },
      (response) => {
        answered = true;
        const sentBeforeAnswer = sent;
        let text = '';
        response
          .setEncoding('utf8')
          .on('data', (part: string) => (text += part))
          .on('end', () => {
            request.destroy();
            resolve({ status: response.statusCode ?? 0, text, sentBeforeAnswer, ms: Date.now() - started });
          });
      },
    );
    const ignoreClosed = (error: NodeJS.ErrnoException) => (['EPIPE', 'ECONNRESET'].includes(error.code ?? '') ? undefined : reject(error));
    request.on('error', ignoreClosed);
    request.on('socket', (socket) => socket.on('error', ignoreClosed));
    const pump = (): void => {
      while (!answered && sent < total && !request.destroyed) {
        sent += chunk.length;
        if (!request.write(chunk)) return void request.once('drain', pump);
      }
      if (!answered && sent >= total) request.end();
    };
    pump();
  });
}

/** Writes the whole body chunked at once (a browser does not wait), then reads the answer; a reset is a failure. */
function eagerChunked(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path: '/auth/logout', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (response) => {
        response.on('error', reject).resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    const body = Buffer.alloc(bytes, 'x');
    for (let at = 0; at < bytes; at += 256 * 1024) request.write(body.subarray(at, at + 256 * 1024));
    request.end();
  });
}

describe('local mode refuses large bodies without a session before reading them', () => {
  let dataDir: string;
  let local: LocalProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-body-limit-'));
    local = await startLocal(dataDir, {}, 60_000);
  }, 90_000);

  afterAll(async () => {
    await local?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers a 400 MB POST to /auth/logout (announced, then chunked) with 413 at once, memory unchanged', async () => {
    // Prepare
    const before = await rss(local.runtime.pid);

    // Act
    const announced = await upload(local.runtime.httpPort, 400 * MB, false);
    const chunked = await upload(local.runtime.httpPort, 400 * MB, true);
    const after = await rss(local.runtime.pid);

    // Assess: answered long before 400 MB went out, and the process did not take them in.
    for (const result of [announced, chunked]) {
      expect(result.status).toBe(413);
      expect(result.sentBeforeAnswer).toBeLessThan(64 * MB);
      expect(result.ms).toBeLessThan(10_000);
    }
    expect(after - before).toBeLessThan(64 * MB);
  }, 60_000);

  it('answers 16 such uploads at once the same way, memory unchanged', async () => {
    // Prepare
    const before = await rss(local.runtime.pid);

    // Act
    const results = await Promise.all(Array.from({ length: 16 }, (_, n) => upload(local.runtime.httpPort, 400 * MB, n % 2 === 1)));
    const after = await rss(local.runtime.pid);

    // Assess
    expect(results.map((result) => result.status)).toEqual(Array(16).fill(413));
    expect(Math.max(...results.map((result) => result.sentBeforeAnswer))).toBeLessThan(64 * MB);
    expect(after - before).toBeLessThan(64 * MB);
  }, 60_000);

  it('lets the rest of a refused chunked body drain, so the sender reads the 413 rather than a reset', async () => {
    // Act
    const statuses: number[] = [];
    for (let n = 0; n < 8; n += 1) statuses.push(await eagerChunked(local.runtime.httpPort, 4 * MB));

    // Assess
    expect(statuses).toEqual(Array(8).fill(413));
  }, 60_000);

  it('refuses 100 KB without a session (413), and the local server is still answering afterwards', async () => {
    // Act
    const refused = await upload(local.runtime.httpPort, 100 * 1024, false);
    const health = await fetch(`http://127.0.0.1:${local.runtime.httpPort}/healthz`);

    // Assess
    expect(refused.status).toBe(413);
    expect(health.status).toBe(200);
  });
});
