// The ResendJobStore contract, run against the in-memory reference, DynamoDB (dynalite and
// DynamoDB Local) and the embedded SQLite store: conditional checkpoints, counters added
// exactly once even from two clients at once, cancel, fail and finish transitions.
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lambdas/core/errors.ts';
import { RESEND_SKIP_REASONS } from '../../lambdas/core/resend.ts';
import type { ResendJob, ResendJobStore } from '../../lambdas/ports/resend-jobs.ts';
import { freshPerTest } from './fresh-per-test.ts';

export const NOW = new Date('2030-03-01T12:00:00.000Z');
export const LIVE = Math.floor(NOW.getTime() / 1000) + 90 * 86_400;

export function makeJob(id: string, overrides: Partial<ResendJob> = {}): ResendJob {
  return {
    id,
    scope: { kind: 'mailbox', mailbox: 'alice@corp.test', since: '2030-02-01T00:00:00.000Z', until: '2030-03-01T00:00:00.000Z' },
    state: 'queued',
    createdBy: 'admin@corp.test',
    createdAt: '2030-03-01T11:00:00.000Z',
    updatedAt: '2030-03-01T11:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    cancelledBy: null,
    cancelledAt: null,
    enumerated: false,
    enumSeq: 0,
    cursor: null,
    counters: { total: 0, done: 0, skipped: 0, delivered: 0, failed: 0, deferred: 0, cancelled: 0, inDoubt: 0 },
    skippedBy: Object.fromEntries(RESEND_SKIP_REASONS.map((reason) => [reason, 0])) as ResendJob['skippedBy'],
    error: null,
    expiresAt: LIVE,
    ...overrides,
  };
}

export interface StoreUnderTest {
  store: ResendJobStore;
  /** A second handle on the same data (another worker's client). */
  other: ResendJobStore;
  cleanup?(): Promise<void>;
}

export function describeResendJobsContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`ResendJobStore contract: ${name}`, () => {
    let store: ResendJobStore;
    let other: ResendJobStore;
    const current = freshPerTest(make);
    beforeEach(() => {
      ({ store, other } = current());
    });

    it('stores a job and reads it back unchanged; an id is never written twice', async () => {
      // Prepare
      const job = makeJob('job-1', {
        scope: { kind: 'message', sesMessageId: 'm1', recipients: ['Alice@Corp.Test'] },
        enumerated: true,
        counters: { ...makeJob('x').counters, total: 1 },
      });
      // Act
      await store.create(job);
      const again = await store.create(makeJob('job-1', { createdBy: 'mallory' })).catch((error: unknown) => error);
      // Assess
      expect(await store.get('job-1', NOW)).toEqual(job);
      expect(again).toBeInstanceOf(InvalidInputError);
      expect(await store.get('job-unknown', NOW)).toBeNull();
    });

    it('lists jobs newest first in pages and leaves out jobs past their retention', async () => {
      // Prepare
      for (let i = 0; i < 7; i += 1) await store.create(makeJob(`job-${i}`, { createdAt: `2030-03-01T10:0${i}:00.000Z` }));
      await store.create(makeJob('job-old', { createdAt: '2030-03-01T10:30:00.000Z', expiresAt: Math.floor(NOW.getTime() / 1000) - 1 }));
      // Act
      const first = await store.list({ limit: 3 }, NOW);
      const second = await store.list({ limit: 3, cursor: first.nextCursor }, NOW);
      const third = await store.list({ limit: 3, cursor: second.nextCursor }, NOW);
      // Assess
      expect([first, second, third].map((page) => page.jobs.map((job) => job.id))).toEqual([
        ['job-6', 'job-5', 'job-4'],
        ['job-3', 'job-2', 'job-1'],
        ['job-0'],
      ]);
      expect(third.nextCursor).toBeNull();
      expect(await store.get('job-old', NOW)).toBeNull();
    });

    it('moves queued to running once and notes when', async () => {
      // Prepare
      await store.create(makeJob('job-1'));
      await store.create(makeJob('job-2', { state: 'cancelled' }));
      // Act
      await store.markRunning('job-1', '2030-03-01T11:01:00.000Z');
      await store.markRunning('job-1', '2030-03-01T11:02:00.000Z');
      await store.markRunning('job-2', '2030-03-01T11:01:00.000Z');
      // Assess
      expect(await store.get('job-1', NOW)).toMatchObject({ state: 'running', startedAt: '2030-03-01T11:01:00.000Z' });
      expect(await store.get('job-2', NOW)).toMatchObject({ state: 'cancelled', startedAt: null });
    });

    it('checkpoints each enumerator page once: a second checkpoint of the same page changes nothing', async () => {
      // Prepare
      await store.create(makeJob('job-1'));
      // Act
      const first = await store.checkpoint('job-1', {
        seq: 0,
        cursor: 'c1',
        added: 100,
        enumerated: false,
        at: '2030-03-01T11:01:00.000Z',
      });
      const repeated = await other.checkpoint('job-1', {
        seq: 0,
        cursor: 'c1',
        added: 100,
        enumerated: false,
        at: '2030-03-01T11:01:01.000Z',
      });
      const last = await store.checkpoint('job-1', { seq: 1, cursor: null, added: 7, enumerated: true, at: '2030-03-01T11:02:00.000Z' });
      // Assess
      expect(first).toMatchObject({ enumSeq: 1, cursor: 'c1', enumerated: false, counters: { total: 100 } });
      expect(repeated).toBeNull();
      expect(last).toMatchObject({ enumSeq: 2, cursor: null, enumerated: true, counters: { total: 107 } });
    });

    it('tells a step whether a relay of it was begun, whether it was counted and which retry it asked for', async () => {
      // Prepare
      await store.create(makeJob('job-1'));
      const at = NOW.toISOString();
      // Act
      const fresh = await store.getTask('job-1', 'm1#0', NOW);
      await store.markStarted('job-1', 'm1#0', at);
      const begun = await other.getTask('job-1', 'm1#0', NOW);
      await store.applyTask('job-1', 'm1#0', { counters: { delivered: 1, deferred: 1 }, retry: ['Later@corp.test'] }, at);
      const counted = await store.getTask('job-1', 'm1#0', NOW);
      const neighbour = await store.getTask('job-1', 'm2#0', NOW);
      await store.forgetTask('job-1', 'm1#0');
      const forgotten = await store.getTask('job-1', 'm1#0', NOW);
      const unknown = await store.getTask('job-none', 'm1#0', NOW);
      // Assess
      expect([fresh, begun, counted, neighbour, forgotten].map((task) => [task?.applied, task?.started])).toEqual([
        [null, false],
        [null, true],
        [{ retry: ['Later@corp.test'] }, false],
        [null, false],
        [null, false],
      ]);
      expect(fresh?.job).toEqual(makeJob('job-1'));
      expect(counted?.job.counters).toMatchObject({ delivered: 1, deferred: 1 });
      expect(unknown).toBeNull();
    });

    it("adds a step's counters exactly once, negative ones and skip reasons included", async () => {
      // Prepare
      await store.create(makeJob('job-1', { counters: { ...makeJob('x').counters, total: 5, deferred: 3 } }));
      // Act
      const first = await store.applyTask('job-1', 'm1#1', { counters: { delivered: 2, deferred: -3, done: 1 } }, NOW.toISOString());
      const again = await other.applyTask('job-1', 'm1#1', { counters: { delivered: 2, deferred: -3, done: 1 } }, NOW.toISOString());
      const skip = await store.applyTask('job-1', 'm2#0', { counters: { done: 1, skipped: 1 }, skipped: 'raw-missing' }, NOW.toISOString());
      // Assess
      expect(first?.counters).toEqual({ total: 5, done: 1, skipped: 0, delivered: 2, failed: 0, deferred: 0, cancelled: 0, inDoubt: 0 });
      expect(again).toBeNull();
      expect(skip?.counters).toMatchObject({ done: 2, skipped: 1 });
      expect(skip?.skippedBy).toMatchObject({ 'raw-missing': 1, expired: 0 });
    });

    it('loses no increment when many steps of one job are counted at the same time from two clients', async () => {
      // Prepare
      await store.create(makeJob('job-1'));
      // Act
      const distinct = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? store : other).applyTask(
            'job-1',
            `m${i}#0`,
            { counters: { done: 1, delivered: 2, failed: 1 } },
            NOW.toISOString(),
          ),
        ),
      );
      const same = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? store : other).applyTask('job-1', 'dup#0', { counters: { done: 1 } }, NOW.toISOString()),
        ),
      );
      // Assess
      expect(distinct.every((job) => job !== null)).toBe(true);
      expect(same.filter((job) => job !== null)).toHaveLength(1);
      expect((await store.get('job-1', NOW))?.counters).toMatchObject({ done: 41, delivered: 80, failed: 40 });
    });

    it('cancels a queued or running job once, with who and when; an ended job stays as it is', async () => {
      // Prepare
      await store.create(makeJob('job-1', { state: 'running' }));
      await store.create(makeJob('job-2', { state: 'done', finishedAt: '2030-03-01T11:30:00.000Z' }));
      // Act
      const cancelled = await store.cancel('job-1', 'cli:root', '2030-03-01T11:40:00.000Z');
      const twice = await store.cancel('job-1', 'someone-else', '2030-03-01T11:41:00.000Z');
      const ended = await store.cancel('job-2', 'cli:root', '2030-03-01T11:40:00.000Z');
      const unknown = await store.cancel('job-none', 'cli:root', '2030-03-01T11:40:00.000Z');
      // Assess
      expect(cancelled).toMatchObject({ state: 'cancelled', cancelledBy: 'cli:root', cancelledAt: '2030-03-01T11:40:00.000Z' });
      expect(twice).toMatchObject({ state: 'cancelled', cancelledBy: 'cli:root' });
      expect(ended).toMatchObject({ state: 'done', cancelledBy: null });
      expect(unknown).toBeNull();
    });

    it('fails only a job that is still queued or running', async () => {
      // Prepare
      await store.create(makeJob('job-1', { state: 'running' }));
      await store.create(makeJob('job-2', { state: 'cancelled' }));
      // Act
      await store.fail('job-1', 'enumerating failed: INVALID_INPUT', NOW.toISOString());
      await store.fail('job-2', 'too late', NOW.toISOString());
      // Assess
      expect(await store.get('job-1', NOW)).toMatchObject({ state: 'failed', error: 'enumerating failed: INVALID_INPUT' });
      expect(await store.get('job-2', NOW)).toMatchObject({ state: 'cancelled', error: null });
    });

    it('finishes a job only when enumerated, every message settled and nothing deferred; a cancelled one keeps its state', async () => {
      // Prepare
      const counters = makeJob('x').counters;
      await store.create(makeJob('not-enumerated', { state: 'running', counters: { ...counters, total: 2, done: 2 } }));
      await store.create(makeJob('unsettled', { state: 'running', enumerated: true, counters: { ...counters, total: 2, done: 1 } }));
      await store.create(
        makeJob('deferred', { state: 'running', enumerated: true, counters: { ...counters, total: 2, done: 2, deferred: 1 } }),
      );
      await store.create(makeJob('ready', { state: 'running', enumerated: true, counters: { ...counters, total: 2, done: 2 } }));
      await store.create(makeJob('cancelled', { state: 'cancelled', enumerated: true, counters: { ...counters, total: 2, done: 2 } }));
      const at = '2030-03-01T11:50:00.000Z';
      // Act
      const outcomes = await Promise.all(['not-enumerated', 'unsettled', 'deferred'].map((id) => store.finish(id, at)));
      const ready = await store.finish('ready', at);
      const readyAgain = await other.finish('ready', '2030-03-01T11:51:00.000Z');
      const cancelled = await store.finish('cancelled', at);
      // Assess
      expect(outcomes).toEqual([null, null, null]);
      expect(ready).toMatchObject({ state: 'done', finishedAt: at });
      expect(readyAgain).toBeNull();
      expect(cancelled).toMatchObject({ state: 'cancelled', finishedAt: at });
    });
  });
}
