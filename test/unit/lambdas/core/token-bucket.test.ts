// The send rate limit: a burst up to the capacity, then the configured rate, in order.
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../../lambdas/core/token-bucket.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';

function bucket(ratePerSecond: number, capacity?: number) {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const start = clock.now().getTime();
  const slept: number[] = [];
  const sleep = async (ms: number) => {
    slept.push(ms);
    clock.advance(ms);
  };
  const b = new TokenBucket({ ratePerSecond, clock, sleep, ...(capacity !== undefined && { capacity }) });
  return { b, clock, slept, elapsed: () => clock.now().getTime() - start };
}

describe('TokenBucket', () => {
  it('lets a full bucket go at once, then holds the rate', async () => {
    const { b, elapsed } = bucket(10);
    for (let i = 0; i < 10; i += 1) await b.take();
    expect(elapsed()).toBe(0);
    for (let i = 0; i < 20; i += 1) await b.take();
    // 20 more tokens at 10 per second.
    expect(elapsed()).toBeGreaterThanOrEqual(2000);
    expect(elapsed()).toBeLessThan(2100);
  });

  it('counts multi-part takes: 2-part SMS at 10 parts/s are 5 per second', async () => {
    const { b, elapsed } = bucket(10);
    for (let i = 0; i < 25; i += 1) await b.take(2);
    expect(elapsed()).toBeGreaterThanOrEqual(4000);
    expect(elapsed()).toBeLessThan(4100);
  });

  it('serves a take larger than the capacity by going into debt, keeping the average', async () => {
    const { b, elapsed } = bucket(1);
    await b.take(2);
    await b.take(2);
    await b.take(1);
    // 5 tokens at 1/s with one in the bucket at the start: at least 4 s.
    expect(elapsed()).toBeGreaterThanOrEqual(4000);
  });

  it('serves concurrent takes in order', async () => {
    const { b } = bucket(1);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => b.take().then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
  });

  it('refuses a rate that is not positive and a take that is not whole', async () => {
    expect(() => bucket(0)).toThrow(/positive/);
    expect(() => bucket(Number.NaN)).toThrow(/positive/);
    await expect(bucket(1).b.take(0)).rejects.toThrow(/whole number/);
  });
});

describe('TokenBucket.tryTake', () => {
  it('takes while tokens are there, then refuses with the wait, taking nothing', () => {
    // Arrange
    const { b, clock } = bucket(2, 3);

    // Act
    const taken = [b.tryTake(), b.tryTake(), b.tryTake()];
    const refused = b.tryTake();
    clock.advance(250);
    const stillRefused = b.tryTake();
    clock.advance(250);

    // Assess
    expect(taken).toEqual([0, 0, 0]);
    expect(refused).toBe(500);
    // A refusal spent nothing: half a token after 250 ms, the whole one after 500 ms.
    expect(stillRefused).toBe(250);
    expect(b.tryTake()).toBe(0);
    expect(b.isFull()).toBe(false);
    clock.advance(1500);
    expect(b.isFull()).toBe(true);
  });

  it('refuses a take it could never serve instead of promising a wait', () => {
    const { b } = bucket(2, 3);
    expect(() => b.tryTake(4)).toThrow(/from 1 to 3/);
    expect(() => b.tryTake(0)).toThrow(/from 1 to 3/);
  });
});
