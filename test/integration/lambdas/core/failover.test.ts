// The failover use cases: the cache in front of the store (bounded to 30 s, shared
// reads, failures not cached), switching with since/changedBy/reason, parsing stored
// values — and the local flag file they run on (atomic replacement), and the CLI's
// switch in local mode with its audit entry in local mode's table.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileFailoverFlag } from '../../../../lambdas/adapters/local/file-failover-flag.ts';
import { InvalidInputError } from '../../../../lambdas/core/errors.ts';
import { CachedFailoverFlag, MAX_FAILOVER_CACHE_MS, parseFailoverState, switchFailover } from '../../../../lambdas/core/failover.ts';
import { FAILOVER_OFF, type FailoverFlag, type FailoverState } from '../../../../lambdas/ports/failover-flag.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';
import { openLocalAuditLog } from '../../../../lambdas/wiring/local-resend.ts';

class ManualClock {
  constructor(public ms: number) {}
  now = () => new Date(this.ms);
}

/** A store that counts reads and can be told to fail. */
class CountingFlag implements FailoverFlag {
  reads = 0;
  failNext: Error | null = null;
  constructor(public state: FailoverState = { ...FAILOVER_OFF }) {}
  async read(): Promise<FailoverState> {
    this.reads += 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    return { ...this.state };
  }
  async write(state: FailoverState): Promise<void> {
    this.state = { ...state };
  }
}

const ON: FailoverState = { on: true, since: '2030-01-01T00:00:00.000Z', message: 'm', changedBy: 'cli:root', reason: null };

describe('CachedFailoverFlag', () => {
  it('reads the store at most once per cache period, however many requests ask', async () => {
    // Prepare
    const store = new CountingFlag();
    const clock = new ManualClock(0);
    const cached = new CachedFailoverFlag(store, { maxAgeMs: 1000, clock });
    // Act
    await Promise.all(Array.from({ length: 50 }, () => cached.read()));
    clock.ms = 999;
    await cached.read();
    const readsWithinPeriod = store.reads;
    clock.ms = 1000;
    await cached.read();
    // Assess
    expect(readsWithinPeriod).toBe(1);
    expect(store.reads).toBe(2);
  });

  it('sees a change made elsewhere once the period has passed', async () => {
    // Prepare
    const store = new CountingFlag();
    const clock = new ManualClock(0);
    const cached = new CachedFailoverFlag(store, { maxAgeMs: 30_000, clock });
    await cached.read();
    store.state = ON;
    // Act
    clock.ms = 29_999;
    const stale = await cached.read();
    clock.ms = 30_000;
    const fresh = await cached.read();
    // Assess
    expect(stale.on).toBe(false);
    expect(fresh.on).toBe(true);
  });

  it('does not cache a failed read, and rereads when the clock went backwards', async () => {
    // Prepare
    const store = new CountingFlag(ON);
    const clock = new ManualClock(10_000);
    const cached = new CachedFailoverFlag(store, { maxAgeMs: 5000, clock });
    store.failNext = new Error('SSM throttled');
    // Act
    const failure = await cached.read().then(
      () => null,
      (error: unknown) => error,
    );
    const after = await cached.read();
    clock.ms = 1000;
    await cached.read();
    // Assess
    expect((failure as Error).message).toBe('SSM throttled');
    expect(after.on).toBe(true);
    expect(store.reads).toBe(3);
  });

  it('refuses a cache longer than 30 seconds', () => {
    // Prepare
    const store = new CountingFlag();
    // Act
    const attempt = () => new CachedFailoverFlag(store, { maxAgeMs: MAX_FAILOVER_CACHE_MS + 1 });
    // Assess
    expect(attempt).toThrow(InvalidInputError);
    expect(MAX_FAILOVER_CACHE_MS).toBe(30_000);
  });

  it('serves its own write at once', async () => {
    // Prepare
    const store = new CountingFlag();
    const cached = new CachedFailoverFlag(store, { maxAgeMs: 30_000, clock: new ManualClock(0) });
    await cached.read();
    // Act
    await cached.write(ON);
    // Assess
    expect((await cached.read()).on).toBe(true);
    expect(store.reads).toBe(1);
  });
});

describe('switchFailover', () => {
  it('records since, who and why when switching on, and keeps since when only the message changes', async () => {
    // Prepare
    const store = new CountingFlag();
    const clock = new ManualClock(Date.parse('2030-03-03T13:05:00.000Z'));
    // Act
    const on = await switchFailover(store, { on: true, message: 'Exchange down', actor: 'cli:alice', reason: 'datacenter power' }, clock);
    clock.ms += 600_000;
    const update = await switchFailover(store, { on: true, message: 'Still down, ETA 16:00', actor: 'admin@corp.test' }, clock);
    clock.ms += 600_000;
    const off = await switchFailover(store, { on: false, actor: 'cli:alice', reason: 'Exchange back' }, clock);
    // Assess
    expect(on).toEqual({
      on: true,
      since: '2030-03-03T13:05:00.000Z',
      message: 'Exchange down',
      changedBy: 'cli:alice',
      reason: 'datacenter power',
    });
    expect(update).toEqual({
      on: true,
      since: '2030-03-03T13:05:00.000Z',
      message: 'Still down, ETA 16:00',
      changedBy: 'admin@corp.test',
      reason: null,
    });
    expect(off).toEqual({ on: false, since: '2030-03-03T13:25:00.000Z', message: '', changedBy: 'cli:alice', reason: 'Exchange back' });
    expect(store.state).toEqual(off);
  });

  it('keeps the message when switching on again without one', async () => {
    // Prepare
    const store = new CountingFlag({ ...ON, message: 'keep me' });
    // Act
    const state = await switchFailover(store, { on: true, actor: 'cli:root' }, new ManualClock(0));
    // Assess
    expect(state.message).toBe('keep me');
  });

  it('replaces a damaged stored value instead of failing', async () => {
    // Prepare
    const store = new CountingFlag();
    store.failNext = new InvalidInputError('garbage');
    // Act
    const state = await switchFailover(store, { on: false, actor: 'cli:root' }, new ManualClock(0));
    // Assess
    expect(state).toMatchObject({ on: false, since: '1970-01-01T00:00:00.000Z' });
  });

  it('strips control characters and refuses an overlong message or a missing actor', async () => {
    // Prepare
    const store = new CountingFlag();
    const clock = new ManualClock(0);
    // Act
    const cleaned = await switchFailover(
      store,
      { on: true, message: 'a\u0000b\r\nc\u001b[31m', actor: ' cli:x\n', reason: 'r\u0007' },
      clock,
    );
    const tooLong = await switchFailover(store, { on: true, message: 'x'.repeat(1001), actor: 'cli:x' }, clock).catch(
      (error: unknown) => error,
    );
    const noActor = await switchFailover(store, { on: true, actor: '  ' }, clock).catch((error: unknown) => error);
    // Assess
    expect(cleaned).toMatchObject({ message: 'ab\nc[31m', changedBy: 'cli:x', reason: 'r' });
    expect(tooLong).toBeInstanceOf(InvalidInputError);
    expect(noActor).toBeInstanceOf(InvalidInputError);
  });
});

describe('parseFailoverState', () => {
  it('accepts a full or minimal state and refuses malformed ones', () => {
    // Prepare
    const bad = [null, [], 'on', { on: 'true' }, { on: true, since: 'yesterday' }, { on: true, message: 5 }, { on: false, changedBy: 1 }];
    // Act
    const full = parseFailoverState(ON);
    const minimal = parseFailoverState({ on: true });
    const refusals = bad.map((value) => {
      try {
        parseFailoverState(value);
        return 'accepted';
      } catch (error) {
        return error;
      }
    });
    // Assess
    expect(full).toEqual(ON);
    expect(minimal).toEqual({ on: true, since: null, message: '', changedBy: null, reason: null });
    for (const refusal of refusals) expect(refusal).toBeInstanceOf(InvalidInputError);
  });
});

describe('FileFailoverFlag', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-flag-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('reads "off" when no file exists, and what was written after that', async () => {
    // Prepare
    const flag = new FileFailoverFlag(join(dir, 'nested', 'failover.json'));
    // Act
    const before = await flag.read();
    await flag.write(ON);
    const after = await new FileFailoverFlag(join(dir, 'nested', 'failover.json')).read();
    // Assess
    expect(before).toEqual(FAILOVER_OFF);
    expect(after).toEqual(ON);
  });

  it('replaces the file atomically: concurrent readers never see a partial file, no temp files stay', async () => {
    // Prepare
    const file = join(dir, 'failover.json');
    const flag = new FileFailoverFlag(file);
    await flag.write(ON);
    const big = { ...ON, message: 'y'.repeat(1000) };
    let readerErrors = 0;
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        reads += 1;
        await flag.read().catch(() => (readerErrors += 1));
      }
    })();
    // Act
    for (let i = 0; i < 200; i += 1) await flag.write(i % 2 ? big : { ...ON, on: i % 3 === 0 });
    writing = false;
    await reader;
    // Assess
    expect(reads).toBeGreaterThan(10);
    expect(readerErrors).toBe(0);
    expect(await readdir(dir)).toEqual(['failover.json']);
  });

  it('reports a damaged file as invalid input naming the file', async () => {
    // Prepare
    const file = join(dir, 'failover.json');
    await writeFile(file, '{"on": maybe}');
    // Act
    const failure = await new FileFailoverFlag(file).read().catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(InvalidInputError);
    expect((failure as Error).message).toContain(file);
    expect(await readFile(file, 'utf8')).toBe('{"on": maybe}');
  });
});

describe('shadowmail failover (CLI, local mode)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-cli-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const { runCli } = await import('../../../support/cli-run.ts');
    return runCli(...argv);
  }

  it("switches the data directory's flag on with message and reason, shows it, and switches it off", async () => {
    // Prepare
    const { userInfo } = await import('node:os');
    // Act
    const on = await run('failover', 'on', '--message', 'Exchange is down.', '--reason', 'power', '--data-dir', dir);
    const status = await run('failover', 'status', '--json', '--data-dir', dir);
    const off = await run('failover', 'off', '--data-dir', dir);
    const stored = await new FileFailoverFlag(join(dir, 'failover.json')).read();
    // Assess
    expect(on.code).toBe(0);
    expect(on.out).toContain('ON — the emergency webmail is open');
    expect(JSON.parse(status.out)).toMatchObject({
      on: true,
      message: 'Exchange is down.',
      changedBy: `cli:${userInfo().username}`,
      reason: 'power',
    });
    expect(off.code).toBe(0);
    expect(stored).toMatchObject({ on: false, changedBy: `cli:${userInfo().username}` });
  });

  it("records each switch in local mode's audit log, as the admin page does", async () => {
    // Prepare
    const { userInfo } = await import('node:os');
    const actor = `cli:${userInfo().username}`.toLowerCase();
    // Act
    const on = await run('failover', 'on', '--message', 'Exchange is down.', '--reason', 'power', '--data-dir', dir);
    const off = await run('failover', 'off', '--reason', 'restored', '--data-dir', dir);
    const status = await run('failover', 'status', '--data-dir', dir);
    const log = await openLocalAuditLog(readLocalConfig({ SHADOWMAIL_DATA_DIR: dir }));
    const page = await log.audit
      .list({ since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date(Date.now() + 60_000).toISOString(), limit: 10 })
      .finally(() => log.close());
    // Assess
    expect([on.code, off.code, status.code]).toEqual([0, 0, 0]);
    expect(on.err + off.err).toBe('');
    expect(page.events.map(({ actor, action, outcome, details }) => ({ actor, action, outcome, details }))).toEqual([
      { actor, action: 'failover.off', outcome: 'ok', details: { reason: 'restored', message: '' } },
      { actor, action: 'failover.on', outcome: 'ok', details: { reason: 'power', message: 'Exchange is down.' } },
    ]);
  });

  it('still switches when the data directory is held by another process, warning that nothing was audited', async () => {
    // Prepare: a live process (our parent) holds the data directory.
    await writeFile(join(dir, 'shadowmail.pid'), String(process.ppid));
    // Act
    const on = await run('failover', 'on', '--reason', 'power', '--data-dir', dir);
    // Assess
    expect(on.code).toBe(0);
    expect(on.err).toMatch(
      /^warning: no audit entry written: local mode's store cannot be opened \(the data directory .* is in use by process \d+\)/,
    );
    expect(await new FileFailoverFlag(join(dir, 'failover.json')).read()).toMatchObject({ on: true, reason: 'power' });
  });

  it('answers usage errors with exit code 2, a line naming the mistake and the usage', async () => {
    // Prepare
    const attempts: [string[], string][] = [
      [['failover', '--data-dir', dir], 'failover needs one of: on, off, status'],
      [['failover', 'maybe', '--data-dir', dir], 'failover needs one of: on, off, status'],
      [['failover', 'off', '--message', 'x', '--data-dir', dir], '--message goes with failover on'],
      [['failover', 'status', '--ssm-parameter', 'no-slash'], '--ssm-parameter must be a parameter name such as /shadowmail/failover'],
      [['failover', 'status', '--ssm-parameter', '/shadowmail/failover', '--data-dir', dir], 'give either --data-dir or --ssm-parameter'],
      [['failover', 'status', '--region', 'eu-central-1', '--data-dir', dir], '--region goes with --stack'],
    ];
    // Act
    const results = await Promise.all(attempts.map(([argv]) => run(...argv)));
    // Assess
    for (const [i, result] of results.entries()) {
      expect(result.code).toBe(2);
      const [line, usage] = result.err.split('\n');
      expect(line).toContain(`shadowmail failover: ${attempts[i]![1]}`);
      expect(usage).toBe('usage:');
    }
  });
});
