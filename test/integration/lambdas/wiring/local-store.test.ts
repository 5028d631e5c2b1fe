// Local mode's store: every port on one file, expiry purged on a timer, and a data
// directory of an earlier version (dynalite's folder) refused instead of read as empty.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fsyncsSoFar } from '../../../../lambdas/adapters/local/fsync.ts';
import { ShadowmailError } from '../../../../lambdas/core/errors.ts';
import { localPaths } from '../../../../lambdas/wiring/local-data-dir.ts';
import {
  closeDurably,
  openLocalStore,
  refuseLegacyStore,
  startDurabilityTimer,
  startExpiryPurge,
} from '../../../../lambdas/wiring/local-store.ts';
import { runCli } from '../../../support/cli-run.ts';
import { waitFor } from '../../../support/wait.ts';

const WRITER_CHILD = resolve(import.meta.dirname, '../../../support/local-store-writer-child.ts');
const SESSION = { email: 'alice@corp.test', tokenAdmin: false, breakGlassAdmin: false, createdAt: 1, signedOut: false };

describe('local store', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-local-store-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every port in the one file shadowmail.db: a second connection sees what the first wrote', async () => {
    // Prepare
    const paths = localPaths(dataDir);
    const first = openLocalStore(paths.database);
    const second = openLocalStore(paths.database);
    try {
      // Act
      const now = new Date();
      const later = new Date(now.getTime() + 60_000);
      await first.sessions.create({ ...SESSION, id: 's1', expiresAt: Math.floor(now.getTime() / 1000) + 3600 });
      const taken = await first.singleUse.take('k1', 'first', later, now);
      // Assess
      expect(taken).toBe(true);
      expect(await second.sessions.get('s1', now)).toMatchObject({ email: 'alice@corp.test' });
      expect(await second.singleUse.take('k1', 'second', later, now)).toBe(false);
      expect((await readdir(dataDir)).filter((name) => !name.startsWith('shadowmail.db'))).toEqual([]);
    } finally {
      first.close();
      second.close();
    }
  });

  it('opens beside a process that keeps writing (the CLI beside the running stack) without "database is locked"', async () => {
    // Prepare: the file's tables exist; a second process appends to the audit log without pause
    const path = localPaths(dataDir).database;
    openLocalStore(path).close();
    const writer = spawn(process.execPath, ['--import', 'tsx', WRITER_CHILD, path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    writer.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    writer.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => writer.once('exit', resolve));
    await waitFor('the writer', async () => (output.includes('ready\n') ? true : writer.exitCode !== null ? true : undefined));
    // Act: open the store again and again while it writes (each open checks its schema)
    const failures: string[] = [];
    for (let open = 0; open < 10; open += 1) {
      try {
        openLocalStore(path).close();
      } catch (error) {
        failures.push((error as Error).message);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    writer.stdin.end();
    // Assess: every open worked, and the writer wrote throughout
    expect(await exited, errors).toBe(0);
    expect(failures).toEqual([]);
    expect((JSON.parse(output.split('\n')[1] ?? '{}') as { written?: number }).written).toBeGreaterThan(10);
  }, 60_000);

  it('purges what expired at start and again on the timer, and only that', async () => {
    // Prepare: one session expired, one live
    const store = openLocalStore(localPaths(dataDir).database);
    const now = Math.floor(Date.now() / 1000);
    await store.sessions.create({ ...SESSION, id: 'old', expiresAt: now - 10 });
    await store.sessions.create({ ...SESSION, id: 'live', expiresAt: now + 3600 });
    const lines: string[] = [];
    let clock = new Date();
    // Act
    const purge = startExpiryPurge(store, { now: () => clock, log: (line) => lines.push(line), intervalMs: 50 });
    try {
      await waitFor('the first purge', async () => (lines.length > 0 ? true : undefined));
      const afterStart = store.db.prepare('SELECT id FROM session ORDER BY id').pluck().all();
      clock = new Date((now + 7200) * 1000);
      await waitFor('the timer purge', async () => (lines.length > 1 ? true : undefined));
      // Assess
      expect(afterStart).toEqual(['live']);
      expect(store.db.prepare('SELECT id FROM session').pluck().all()).toEqual([]);
      expect(lines).toEqual(['store: purged 1 expired rows', 'store: purged 1 expired rows']);
    } finally {
      purge.stop();
      store.close();
    }
  });

  it('refuses a data directory of an earlier version (dynalite folder, no shadowmail.db) with what to do', async () => {
    // Prepare
    const paths = localPaths(dataDir);
    await mkdir(paths.legacyDynamodb);
    // Act
    const refused = await refuseLegacyStore(paths).catch((error: unknown) => error);
    // Assess
    expect(refused).toBeInstanceOf(ShadowmailError);
    expect(refused).toMatchObject({ code: 'LEGACY_STORE' });
    expect((refused as Error).message).toContain(paths.legacyDynamodb);
    expect((refused as Error).message).toContain('earlier shadowmail version');
  });

  it('makes the CLI refuse such a directory and name it, writing nothing into it', async () => {
    // Prepare
    const paths = localPaths(dataDir);
    await mkdir(paths.legacyDynamodb);
    // Act
    const run = await runCli('trace', '--recipient', 'alice@corp.test', '--data-dir', dataDir);
    // Assess
    expect(run.code).not.toBe(0);
    expect(run.err).toContain(paths.legacyDynamodb);
    expect((await readdir(dataDir)).sort()).toEqual(['dynamodb']);
  });

  it('lets `failover on` switch on such a directory, warning that the switch is not recorded and why', async () => {
    // Prepare
    const paths = localPaths(dataDir);
    await mkdir(paths.legacyDynamodb);
    // Act
    const run = await runCli('failover', 'on', '--reason', 'drill', '--data-dir', dataDir);
    // Assess
    expect(run.err).toContain('no audit entry written');
    expect(run.err).toContain(paths.legacyDynamodb);
    expect(await readdir(dataDir)).not.toContain('shadowmail.db');
  });

  it('accepts a new data directory, and one with both the old folder and the store (the old folder is left alone)', async () => {
    const paths = localPaths(dataDir);
    await expect(refuseLegacyStore(paths)).resolves.toBeUndefined();
    await mkdir(paths.legacyDynamodb);
    openLocalStore(paths.database).close();
    await expect(refuseLegacyStore(paths)).resolves.toBeUndefined();
  });

  it('groups fsyncs: commits run at synchronous=NORMAL, makeDurable is one fsync of the log shared by concurrent callers, and the timer runs it only after writes', async () => {
    // Prepare
    const store = openLocalStore(localPaths(dataDir).database);
    const synchronous = () => store.db.pragma('synchronous', { simple: true });
    const lines: string[] = [];
    try {
      // Act
      const modeAtOpen = synchronous();
      const beforeOne = fsyncsSoFar();
      await store.makeDurable();
      const afterOne = { fsyncs: fsyncsSoFar() - beforeOne, mode: synchronous() };
      const beforeTen = fsyncsSoFar();
      await Promise.all(Array.from({ length: 10 }, () => store.makeDurable()));
      const forTen = fsyncsSoFar() - beforeTen;
      const timer = startDurabilityTimer(store, { log: (line) => lines.push(line), intervalMs: 20 });
      await new Promise((r) => setTimeout(r, 120));
      const idle = fsyncsSoFar();
      await store.sessions.create({ ...SESSION, id: 's-durable', expiresAt: Math.floor(Date.now() / 1000) + 3600 });
      await waitFor('the timer fsyncs the write', async () => (fsyncsSoFar() > idle ? true : undefined), 5_000, 10);
      await new Promise((r) => setTimeout(r, 120));
      const afterWrite = fsyncsSoFar() - idle;
      await timer.stop();

      // Assess: 1 = NORMAL (https://www.sqlite.org/pragma.html#pragma_synchronous); one
      // running fsync and one waiting cover any number of callers
      expect(modeAtOpen).toBe(1);
      expect(afterOne).toEqual({ fsyncs: 1, mode: 1 });
      expect(forTen).toBeLessThanOrEqual(2);
      expect(forTen).toBeGreaterThanOrEqual(1);
      expect(afterWrite).toBe(1);
      expect(lines).toEqual([]);
    } finally {
      store.close();
    }
  });

  it("closes a CLI command's store only after one fsync of its log, and closes it even when that fails", async () => {
    // Prepare
    const store = openLocalStore(localPaths(dataDir).database);
    await store.sessions.create({ ...SESSION, id: 's-cli', expiresAt: Math.floor(Date.now() / 1000) + 3600 });
    const failing = openLocalStore(localPaths(dataDir).database);
    const before = fsyncsSoFar();

    // Act
    await closeDurably(store);
    const fsyncs = fsyncsSoFar() - before;
    const failed = await closeDurably({ makeDurable: () => Promise.reject(new Error('EIO')), close: () => failing.close() }).catch(
      (error: Error) => error.message,
    );

    // Assess
    expect(fsyncs).toBe(1);
    expect(store.db.open).toBe(false);
    expect(failed).toBe('EIO');
    expect(failing.db.open).toBe(false);
  });
});
