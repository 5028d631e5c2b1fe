// The per-client request limit: a flooding client is refused with the wait while another
// client keeps its own budget; the table of clients stays bounded.
import { describe, expect, it } from 'vitest';
import { ClientRateLimit } from '../../../../lambdas/core/client-rate-limit.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';

function limit(options: { ratePerSecond?: number; burst?: number; maxClients?: number } = {}) {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const limiter = new ClientRateLimit({ ratePerSecond: options.ratePerSecond ?? 5, burst: options.burst ?? 10, clock, ...options });
  return { limiter, clock };
}

describe('ClientRateLimit', () => {
  it('refuses a flooding client with the seconds to wait while another client still gets through', () => {
    // Arrange
    const { limiter } = limit({ ratePerSecond: 5, burst: 10 });

    // Act
    const flood = Array.from({ length: 1000 }, () => limiter.admit('ip:192.0.2.66'));
    const reader = Array.from({ length: 10 }, () => limiter.admit('user:alice'));

    // Assess
    expect(flood.filter((a) => a.allowed)).toHaveLength(10);
    expect(flood.at(-1)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(reader.every((a) => a.allowed)).toBe(true);
  });

  it('lets the flooding client in again at the rate once it waits', () => {
    // Arrange
    const { limiter, clock } = limit({ ratePerSecond: 0.5, burst: 1 });
    limiter.admit('ip:192.0.2.66');

    // Act
    const refused = limiter.admit('ip:192.0.2.66');
    clock.advance(2000);

    // Assess
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 2 });
    expect(limiter.admit('ip:192.0.2.66')).toEqual({ allowed: true });
  });

  it('remembers at most maxClients: idle ones go first, then the least recently seen, never a busy one just seen', () => {
    // Arrange
    const { limiter, clock } = limit({ ratePerSecond: 1, burst: 2, maxClients: 3 });
    limiter.admit('a');
    limiter.admit('a');
    limiter.admit('b');
    clock.advance(1000);
    // a: 1 token of 2 (busy); b: full again (idle); c: busy.
    limiter.admit('c');
    limiter.admit('c');

    // Act
    limiter.admit('d');

    // Assess: b (idle) was forgotten, a is still held to its budget.
    expect(limiter.size).toBe(3);
    expect(limiter.admit('a')).toEqual({ allowed: true });
    expect(limiter.admit('a').allowed).toBe(false);
    for (const client of ['e', 'f', 'g', 'h']) limiter.admit(client);
    expect(limiter.size).toBe(3);
  });

  it('refuses settings that could not limit anything', () => {
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    expect(() => new ClientRateLimit({ ratePerSecond: 0, burst: 10, clock })).toThrow(/positive/);
    expect(() => new ClientRateLimit({ ratePerSecond: 5, burst: 0.5, clock })).toThrow(/burst/);
  });
});
