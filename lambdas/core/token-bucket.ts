// A token bucket: never faster than a provider allows (SMS message parts per second,
// SES messages per second). Up to `capacity` tokens are there at once; they refill at
// `ratePerSecond`. A take larger than the capacity (a long SMS on a slow route) waits
// for a full bucket and leaves it in debt, so the average rate still holds. Takes are
// served in order; the clock and the sleep are injected so tests do not wait. tryTake
// refuses instead of waiting (per-client request limits, core/client-rate-limit.ts).
import type { Clock } from '../ports/clock.ts';
import { InvalidInputError } from './errors.ts';

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface TokenBucketOptions {
  ratePerSecond: number;
  /** Tokens available at once; default: one second's worth (at least 1). */
  capacity?: number;
  clock: Clock;
  sleep?: Sleep;
}

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly capacity: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(options: TokenBucketOptions) {
    if (!Number.isFinite(options.ratePerSecond) || options.ratePerSecond <= 0)
      throw new InvalidInputError(`a send rate must be a positive number per second, not ${options.ratePerSecond}`);
    this.ratePerSecond = options.ratePerSecond;
    this.capacity = options.capacity ?? Math.max(1, Math.floor(options.ratePerSecond));
    if (!(this.capacity >= 1)) throw new InvalidInputError(`a bucket holds at least one token, not ${this.capacity}`);
    this.clock = options.clock;
    this.sleep = options.sleep ?? realSleep;
    this.tokens = this.capacity;
    this.last = this.clock.now().getTime();
  }

  /** Resolves when `count` tokens may be spent (now or after a wait), in the order asked. */
  take(count = 1): Promise<void> {
    if (!Number.isInteger(count) || count < 1) return Promise.reject(new InvalidInputError(`take a whole number of tokens, not ${count}`));
    const turn = this.queue.then(() => this.wait(count));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Takes `count` tokens now if they are there and answers 0, else takes nothing and answers
   * the milliseconds until they would be: for callers that refuse instead of waiting (a
   * 429). Not to be mixed with take() on the same bucket, whose queued waits it would overtake.
   */
  tryTake(count = 1): number {
    if (!Number.isInteger(count) || count < 1 || count > this.capacity)
      throw new InvalidInputError(`take a whole number of tokens from 1 to ${this.capacity}, not ${count}`);
    this.refill();
    if (this.tokens >= count) {
      this.tokens -= count;
      return 0;
    }
    return Math.ceil(((count - this.tokens) / this.ratePerSecond) * 1000);
  }

  /** Whether the bucket is full (an idle client's bucket can be forgotten). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  private refill(): void {
    const now = this.clock.now().getTime();
    // A clock that went backwards adds nothing.
    if (now > this.last) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = Math.max(this.last, now);
  }

  private async wait(count: number): Promise<void> {
    const needed = Math.min(count, this.capacity);
    this.refill();
    while (this.tokens < needed) {
      await this.sleep(Math.ceil(((needed - this.tokens) / this.ratePerSecond) * 1000));
      this.refill();
    }
    this.tokens -= count;
  }
}
