// local-queue.ts's Sleepers, where a consumer's idle workers sleep: one timer for all of
// them, so that they look at the queue once a poll interval, not once each.
import { describe, expect, it } from 'vitest';
import { Sleepers } from '../../../../../lambdas/adapters/local/local-queue.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Workers that sleep `delayMs` again and again, as idle consumer workers do, for `forMs`; how often each woke. */
async function idleWorkers(sleepers: Sleepers, workers: number, delayMs: number, forMs: number): Promise<number[]> {
  const wakes = Array.from({ length: workers }, () => 0);
  let stopped = false;
  const loops = wakes.map(async (_, index) => {
    while (!stopped) {
      await sleepers.sleep(delayMs);
      if (!stopped) wakes[index]! += 1;
    }
  });
  await pause(forMs);
  stopped = true;
  sleepers.wake();
  await Promise.all(loops);
  return wakes;
}

describe('Sleepers', () => {
  it('wakes one of n idle workers per timeout, not each of them', async () => {
    // Arrange
    const sleepers = new Sleepers();
    // Act: four workers that each ask to sleep 20 ms, for 400 ms (one timer each: ~80 wake-ups)
    const wakes = await idleWorkers(sleepers, 4, 20, 400);
    // Assess: about one wake-up per 20 ms in all (timers may run late on a busy machine, never early)
    const total = wakes.reduce((sum, n) => sum + n, 0);
    expect(total).toBeGreaterThanOrEqual(5);
    expect(total).toBeLessThanOrEqual(22);
    expect(sleepers.waiting).toBe(0);
  });

  it('wakes the sleeper whose timeout ends first, and starts the others’ again from then', async () => {
    // Arrange: one sleeper of 300 ms, then one of 30 ms
    const sleepers = new Sleepers();
    const woken: string[] = [];
    const started = Date.now();
    const long = sleepers.sleep(300).then(() => woken.push(`long ${Date.now() - started}`));
    const short = sleepers.sleep(30).then(() => woken.push('short'));
    // Act
    await short;
    const afterShort = [...woken];
    await long;
    // Assess: the short one first; the long one no sooner than its own 300 ms
    expect(afterShort).toEqual(['short']);
    expect(woken[0]).toBe('short');
    expect(Number(woken[1]?.split(' ')[1])).toBeGreaterThanOrEqual(299);
  });

  it('wakeOne wakes the longest asleep at once, and the timer still serves the rest', async () => {
    // Arrange
    const sleepers = new Sleepers();
    const woken: string[] = [];
    const first = sleepers.sleep(10_000).then(() => woken.push('first'));
    const second = sleepers.sleep(50).then(() => woken.push('second'));
    // Act
    sleepers.wakeOne();
    await first;
    const afterWakeOne = [...woken];
    await second;
    // Assess
    expect(afterWakeOne).toEqual(['first']);
    expect(woken).toEqual(['first', 'second']);
    expect(sleepers.waiting).toBe(0);
  });

  it('wake() wakes every sleeper at once and leaves no timer behind', async () => {
    // Arrange
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const timersBefore = timers();
    const sleepers = new Sleepers();
    const all = Promise.all([sleepers.sleep(60_000), sleepers.sleep(60_000), sleepers.sleep(5)]);
    // Act
    const started = Date.now();
    sleepers.wake();
    await all;
    // Assess: nobody waited for a timer; a pending one would keep this test's process up a minute
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sleepers.waiting).toBe(0);
    expect(timers()).toBe(timersBefore);
  });
});
