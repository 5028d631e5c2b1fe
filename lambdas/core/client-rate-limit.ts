// A request limit per client, in process: one token bucket per key (a signed-in user, or
// the address of a client without a session), so one client flooding the webmail is
// refused while every other client goes on at its own rate. Local mode's answer to what
// a WAF rate-based rule does in AWS (docs/deploy.md §9.3). The table of buckets is
// bounded: idle clients (full buckets) are forgotten first, then the least recently seen.
import type { Clock } from '../ports/clock.ts';
import { InvalidInputError } from './errors.ts';
import { TokenBucket } from './token-bucket.ts';

export interface ClientRateLimitOptions {
  /** Requests per second one client may make over time. */
  ratePerSecond: number;
  /** Requests one client may make at once (a page with its frame and images). */
  burst: number;
  clock: Clock;
  /** Clients remembered at once; default 10,000. */
  maxClients?: number;
}

/**
 * Local mode's default per client: a person's browser loads a page with a handful of
 * requests and never needs 100 a second for long, while a flooding loop on one machine
 * sends thousands; the burst takes a few pages opened at once.
 */
export const DEFAULT_CLIENT_RATE_LIMIT = { ratePerSecond: 100, burst: 300 } as const;

export type Admission = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class ClientRateLimit {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly maxClients: number;

  constructor(private readonly options: ClientRateLimitOptions) {
    if (!Number.isInteger(options.burst) || options.burst < 1)
      throw new InvalidInputError(`a burst is a whole number of requests, at least 1, not ${options.burst}`);
    this.maxClients = options.maxClients ?? 10_000;
    // Checks the rate once, here, rather than at the first request.
    new TokenBucket({ ratePerSecond: options.ratePerSecond, capacity: options.burst, clock: options.clock });
  }

  /** Counts one request of `client`; refused with the whole seconds to wait when its bucket is empty. */
  admit(client: string): Admission {
    let bucket = this.buckets.get(client);
    if (bucket) {
      // Most recently seen last: Map keeps insertion order.
      this.buckets.delete(client);
    } else {
      bucket = new TokenBucket({ ratePerSecond: this.options.ratePerSecond, capacity: this.options.burst, clock: this.options.clock });
      this.makeRoom();
    }
    this.buckets.set(client, bucket);
    const waitMs = bucket.tryTake();
    return waitMs === 0 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** Clients with a bucket (for tests and the bound). */
  get size(): number {
    return this.buckets.size;
  }

  private makeRoom(): void {
    if (this.buckets.size < this.maxClients) return;
    for (const [client, bucket] of this.buckets) if (bucket.isFull()) this.buckets.delete(client);
    // Still full of busy clients: the least recently seen goes (a flood of new clients cannot grow memory).
    while (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
  }
}
