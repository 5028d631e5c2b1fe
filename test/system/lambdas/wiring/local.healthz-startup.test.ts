// /healthz answers from local mode's first moment (a supervisor polls it while the stack
// starts). Polled as fast as it answers through the whole start-up, every answer is 503
// (starting) or 200 (ready), and nothing is thrown on the way: before issue 16 the polls
// hit the ingest queue before it existed and the log showed
// `ReferenceError: Cannot access 'ingestQueue' before initialization`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localEnv, spawnLocal } from '../../../support/local-process.ts';
import { freePort } from '../../../support/wait.ts';

const START_TIMEOUT_MS = 60_000;

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe('local mode: /healthz during start-up', () => {
  it('answers 503 then 200 while the stack starts, the start page never fails, and nothing throws', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-healthz-'));
    const httpPort = await freePort();
    const child = spawnLocal(localEnv(dataDir, { SHADOWMAIL_HTTP_PORT: String(httpPort) }));
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanup = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dataDir, { recursive: true, force: true });
    };

    // Act: poll without pause from before the port opens until the stack says it is ready;
    // the start page alongside (a browser left open on it reloads while local mode restarts).
    const statuses: number[] = [];
    const pageStatuses: number[] = [];
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`local mode exited with ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`local mode not ready after ${START_TIMEOUT_MS} ms:\n${output}`);
      const status = await fetch(`http://127.0.0.1:${httpPort}/healthz`).then(
        (response) => response.status,
        () => null,
      );
      if (status !== null) statuses.push(status);
      const page = await fetch(`http://127.0.0.1:${httpPort}/`).then(
        (response) => response.status,
        () => null,
      );
      if (page !== null) pageStatuses.push(page);
      if (status === 200) break;
      if (status === null) await new Promise((resolve) => setTimeout(resolve, 5));
    }

    // Assess
    expect(statuses.filter((status) => status === 503).length, 'polls answered while starting').toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set([503, 200]));
    expect(pageStatuses.filter((status) => status >= 500)).toEqual([]);
    expect(output).not.toMatch(/ReferenceError|before initialization/);
  }, 90_000);
});
