// The SingleUse contract, run against the in-memory reference, DynamoDB (dynalite and
// DynamoDB Local) and the embedded SQLite store: a key is taken once (also by racing
// callers), again only after it expired, and given back only by its owner.
import { beforeEach, describe, expect, it } from 'vitest';
import type { SingleUse } from '../../lambdas/ports/single-use.ts';
import { freshPerTest } from './fresh-per-test.ts';

export const NOW = new Date('2030-03-01T12:00:00.000Z');
export const DAY_LATER = new Date(NOW.getTime() + 86_400_000);
export const atPlus = (ms: number) => new Date(NOW.getTime() + ms);

export function describeSingleUseContract(name: string, make: () => Promise<{ store: SingleUse; cleanup?(): Promise<void> }>): void {
  describe(`SingleUse contract: ${name}`, () => {
    let store: SingleUse;
    const current = freshPerTest(make);
    beforeEach(() => {
      store = current().store;
    });

    it('takes a key once: a second take, by anyone, is refused until it expires', async () => {
      expect(await store.isTaken('link#1', NOW)).toBe(false);
      expect(await store.take('link#1', 'a', DAY_LATER, NOW)).toBe(true);
      expect(await store.isTaken('link#1', NOW)).toBe(true);
      expect(await store.take('link#1', 'b', DAY_LATER, atPlus(1000))).toBe(false);
      expect(await store.take('link#1', 'a', DAY_LATER, atPlus(1000))).toBe(false);
      expect(await store.take('link#2', 'b', DAY_LATER, NOW)).toBe(true);
    });

    it('lets exactly one of many racing callers take a key', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.take('race', `owner-${i}`, DAY_LATER, NOW)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('frees a key when it expires', async () => {
      await store.take('episode', 'a', atPlus(60_000), NOW);
      expect(await store.isTaken('episode', atPlus(59_000))).toBe(true);
      expect(await store.isTaken('episode', atPlus(60_000))).toBe(false);
      expect(await store.take('episode', 'b', atPlus(120_000), atPlus(60_000))).toBe(true);
    });

    it('gives a key back only for its owner', async () => {
      await store.take('k', 'a', DAY_LATER, NOW);
      await store.giveBack('k', 'b');
      expect(await store.isTaken('k', NOW)).toBe(true);
      await store.giveBack('k', 'a');
      expect(await store.isTaken('k', NOW)).toBe(false);
      await store.giveBack('never-taken', 'a');
    });
  });
}
