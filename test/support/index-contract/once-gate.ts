// The MessageIndex contract, once-gate: one owner at a time, leases that expire, done stays done.
import { beforeEach, describe, expect, it } from 'vitest';
import type { OnceGate } from '../../../lambdas/ports/once-gate.ts';
import { type IndexUnderTest, NOW } from './fixtures.ts';

export function describeOnceGateContract(current: () => IndexUnderTest): void {
  let index: OnceGate;
  beforeEach(() => {
    index = current().index;
  });

  describe('once-gate', () => {
    const LEASE = 60_000;
    const later = (ms: number) => new Date(NOW.getTime() + ms);

    it('gives the gate to one owner; others are busy, the owner may re-enter', async () => {
      // Act
      const first = await index.acquireOnce('enqueue#m1', 'worker-a', NOW, LEASE);
      const other = await index.acquireOnce('enqueue#m1', 'worker-b', later(1000), LEASE);
      const again = await index.acquireOnce('enqueue#m1', 'worker-a', later(2000), LEASE);
      // Assess
      expect([first, other, again]).toEqual(['acquired', 'busy', 'acquired']);
    });

    it('lets exactly one of two racing owners acquire', async () => {
      // Act
      const races = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          Promise.all([
            index.acquireOnce(`relay#race${i}#0`, 'worker-a', NOW, LEASE),
            index.acquireOnce(`relay#race${i}#0`, 'worker-b', NOW, LEASE),
          ]),
        ),
      );
      // Assess
      for (const results of races) expect([...results].sort()).toEqual(['acquired', 'busy']);
    });

    it('lets another owner take over an expired lease; the old owner can then neither complete nor release', async () => {
      // Prepare
      await index.acquireOnce('relay#m1#0', 'worker-a', NOW, LEASE);
      // Act
      const takeover = await index.acquireOnce('relay#m1#0', 'worker-b', later(LEASE + 1), LEASE);
      await index.completeOnce('relay#m1#0', 'worker-a');
      await index.releaseOnce('relay#m1#0', 'worker-a');
      const oldOwner = await index.acquireOnce('relay#m1#0', 'worker-a', later(LEASE + 2), LEASE);
      // Assess
      expect(takeover).toBe('acquired');
      expect(oldOwner).toBe('busy');
    });

    it('stays done once completed, for every owner and after a release attempt', async () => {
      // Prepare
      await index.acquireOnce('enqueue#m1', 'worker-a', NOW, LEASE);
      await index.completeOnce('enqueue#m1', 'worker-a');
      // Act
      await index.releaseOnce('enqueue#m1', 'worker-a');
      const sameOwner = await index.acquireOnce('enqueue#m1', 'worker-a', later(1), LEASE);
      const otherOwner = await index.acquireOnce('enqueue#m1', 'worker-b', later(LEASE * 10), LEASE);
      // Assess
      expect([sameOwner, otherOwner]).toEqual(['done', 'done']);
    });

    it('frees the gate on release by its owner, not on release by anyone else', async () => {
      // Prepare
      await index.acquireOnce('enqueue#m1', 'worker-a', NOW, LEASE);
      // Act
      await index.releaseOnce('enqueue#m1', 'worker-b');
      const whileHeld = await index.acquireOnce('enqueue#m1', 'worker-b', later(1), LEASE);
      await index.releaseOnce('enqueue#m1', 'worker-a');
      const afterRelease = await index.acquireOnce('enqueue#m1', 'worker-b', later(2), LEASE);
      // Assess
      expect([whileHeld, afterRelease]).toEqual(['busy', 'acquired']);
    });

    it('keeps gates apart by key', async () => {
      // Act
      const a = await index.acquireOnce('relay#m1#0', 'worker-a', NOW, LEASE);
      const b = await index.acquireOnce('relay#m1#1', 'worker-b', NOW, LEASE);
      // Assess
      expect([a, b]).toEqual(['acquired', 'acquired']);
    });
  });
}
