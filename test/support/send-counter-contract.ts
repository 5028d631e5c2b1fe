// The SendCounter contract, run against the in-memory reference, DynamoDB (dynalite and
// DynamoDB Local) and the embedded SQLite store: adds stay within both maxima (also when
// many sends race), a subtract makes room again, windows and mailboxes count apart.
import { beforeEach, describe, expect, it } from 'vitest';
import type { SendCounter, SendWindowCount } from '../../lambdas/ports/send-counter.ts';
import { freshPerTest } from './fresh-per-test.ts';

export const EXPIRES = new Date('2030-03-02T13:00:00.000Z');
export const window = (overrides: Partial<SendWindowCount> = {}): SendWindowCount => ({
  mailbox: 'alice@corp.test',
  window: 'H#2030-03-01T12',
  maxMessages: 3,
  maxRecipients: 250,
  expiresAt: EXPIRES,
  ...overrides,
});

export function describeSendCounterContract(name: string, make: () => Promise<{ counter: SendCounter; cleanup?(): Promise<void> }>): void {
  describe(`SendCounter contract: ${name}`, () => {
    let counter: SendCounter;
    const current = freshPerTest(make);
    beforeEach(() => {
      counter = current().counter;
    });

    it('counts messages up to their maximum', async () => {
      const added = [];
      for (let i = 0; i < 4; i++) added.push(await counter.add(window(), 1));
      expect(added).toEqual([true, true, true, false]);
    });

    it('counts recipients up to their maximum, and a refused add counts nothing', async () => {
      expect(await counter.add(window(), 100)).toBe(true);
      expect(await counter.add(window(), 100)).toBe(true);
      expect(await counter.add(window(), 100)).toBe(false);
      expect(await counter.add(window(), 50)).toBe(true);
      expect(await counter.add(window(), 1)).toBe(false);
    });

    it('refuses one add larger than the maximum, also in a new window', async () => {
      expect(await counter.add(window(), 251)).toBe(false);
      expect(await counter.add(window({ maxMessages: 0 }), 1)).toBe(false);
      expect(await counter.add(window(), 250)).toBe(true);
    });

    it('lets racing adds together reach the maximum and no further', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => counter.add(window({ maxMessages: 30 }), 100)));
      expect(results.filter(Boolean)).toHaveLength(2);
    });

    it('makes room again when an add is taken back', async () => {
      await counter.add(window(), 200);
      expect(await counter.add(window(), 100)).toBe(false);
      await counter.subtract('alice@corp.test', 'H#2030-03-01T12', 200);
      expect(await counter.add(window(), 100)).toBe(true);
      await counter.subtract('alice@corp.test', 'H#never', 5);
      expect(await counter.add(window({ window: 'H#never' }), 250)).toBe(true);
    });

    it('counts each mailbox and each window apart', async () => {
      expect(await counter.add(window(), 250)).toBe(true);
      expect(await counter.add(window({ mailbox: 'bob@corp.test' }), 250)).toBe(true);
      expect(await counter.add(window({ window: 'H#2030-03-01T13' }), 250)).toBe(true);
      expect(await counter.add(window(), 1)).toBe(false);
    });
  });
}
