// The relations between the SMTP relay's time limits, the Lambda timeouts derived from
// them, the leases, the retry backoff and the dead-letter queues, and the split of the
// session bound: the numbers in lambdas/contract/pipeline-limits.ts must fit together.
import { describe, expect, it } from 'vitest';
import {
  FORWARD_LIMITS,
  INGEST_LIMITS,
  LARGEST_MESSAGE_BYTES,
  RELAY_BOOKKEEPING_MS,
  RELAY_TIMEOUTS,
  RELAY_WORK_MS,
  RESEND_LIMITS,
  SLOWEST_PATH_BYTES_PER_SECOND,
} from '../../../lambdas/contract/pipeline-limits.ts';
import { PRIMARY_SESSIONS, splitPrimarySessions } from '../../../lambdas/contract/primary-sessions.ts';
import { FAILURE_BACKOFF, failureBackoffSeconds, secondsUntilDeadLetter } from '../../../lambdas/core/failure-backoff.ts';
import { DEFAULT_RESEND_CONFIG } from '../../../lambdas/core/resend.ts';
import { readLocalConfig } from '../../../lambdas/wiring/local-config.ts';
import { accountConcurrencyNeeds, visibilityTimeoutFor } from '../../../lib/pipeline-limits.ts';

const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
const relaying = [
  ['forward', FORWARD_LIMITS],
  ['resend', RESEND_LIMITS],
] as const;

describe('the SMTP relay bound', () => {
  it('fits one transaction of the largest SES message: connect, greeting, 40 MB at 4 Mbit/s and one full idle wait', () => {
    // Act
    const transferMs = (LARGEST_MESSAGE_BYTES / SLOWEST_PATH_BYTES_PER_SECOND) * 1000;
    const needed = RELAY_TIMEOUTS.connectionTimeoutMs + RELAY_TIMEOUTS.greetingTimeoutMs + transferMs + RELAY_TIMEOUTS.socketTimeoutMs;

    // Assess
    expect(needed).toBeLessThanOrEqual(RELAY_TIMEOUTS.totalTimeoutMs);
    expect(RELAY_TIMEOUTS.socketTimeoutMs).toBeGreaterThan(RELAY_TIMEOUTS.greetingTimeoutMs);
    expect(RELAY_TIMEOUTS).toEqual({
      connectionTimeoutMs: 15_000,
      greetingTimeoutMs: 60_000,
      socketTimeoutMs: 120_000,
      totalTimeoutMs: 300_000,
      quitTimeoutMs: 5_000,
    });
  });
});

describe('relaying functions (forward, resend)', () => {
  it.each(relaying)(
    "%s: the timeout covers every record of a batch at the relay bound plus the bookkeeping, within Lambda's 15 minutes",
    (_name, limits) => {
      // Act
      const timeoutMs = limits.timeoutSeconds * 1000;

      // Assess
      expect(timeoutMs).toBeGreaterThanOrEqual(limits.batchSize * RELAY_TIMEOUTS.totalTimeoutMs + RELAY_BOOKKEEPING_MS);
      expect(limits.timeoutSeconds).toBeLessThanOrEqual(LAMBDA_MAX_TIMEOUT_SECONDS);
    },
  );

  it.each(relaying)('%s: one record per invocation, 6 minutes, a visibility timeout of 36 minutes instead of 90', (_name, limits) => {
    expect(limits.batchSize).toBe(1);
    expect(limits.timeoutSeconds).toBe(360);
    expect(visibilityTimeoutFor(limits).toSeconds()).toBe(2_160);
  });

  it("local mode's default lease outlasts one relay and its bookkeeping, as the Lambda timeout does", () => {
    expect(readLocalConfig({}).leaseMs).toBe(RELAY_WORK_MS);
    expect(RELAY_WORK_MS).toBe(FORWARD_LIMITS.timeoutSeconds * 1000);
  });
});

describe('a record that keeps throwing', () => {
  it('is retried after 30 s, doubling, at most 15 min', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 12, 50].map(failureBackoffSeconds)).toEqual([30, 60, 120, 240, 480, 900, 900, 900, 900]);
    expect(failureBackoffSeconds(0)).toBe(FAILURE_BACKOFF.firstSeconds);
    expect(failureBackoffSeconds(Number.NaN)).toBe(FAILURE_BACKOFF.firstSeconds);
  });

  it.each([
    ['ingest', INGEST_LIMITS],
    ['forward', FORWARD_LIMITS],
    ['resend', RESEND_LIMITS],
  ] as const)('%s: reaches its dead-letter queue after an hour to two of retrying, not after 7.5 hours', (_name, limits) => {
    // Act
    const seconds = secondsUntilDeadLetter(limits.maxReceiveCount);

    // Assess: 30+60+120+240+480+5×900 s ≈ 90 min for 10 receives
    expect(seconds).toBeGreaterThanOrEqual(3_600);
    expect(seconds).toBeLessThanOrEqual(7_200);
    expect(seconds).toBe(5_430);
  });
});

describe('a resend step that keeps failing', () => {
  it('is given up (its job still ends) no later than SQS would move it to the dead-letter queue', () => {
    expect(DEFAULT_RESEND_CONFIG.maxReceives).toBeLessThanOrEqual(RESEND_LIMITS.maxReceiveCount);
  });
});

describe('the bound on sessions to the primary', () => {
  it("splits every allowed bound between forward and resend: the whole bound, each at least Lambda's minimum of 2, the forward the larger share", () => {
    for (let max = PRIMARY_SESSIONS.min; max <= PRIMARY_SESSIONS.max; max += 1) {
      const { forward, resend } = splitPrimarySessions(max);
      expect(forward + resend, `max ${max}`).toBe(max);
      expect(resend, `max ${max}`).toBeGreaterThanOrEqual(2);
      expect(forward, `max ${max}`).toBeGreaterThanOrEqual(resend);
    }
    expect(splitPrimarySessions(PRIMARY_SESSIONS.default)).toEqual({ forward: 8, resend: 2 });
  });

  it("defaults to at most 10, half of Exchange's MaxInboundConnectionPerSource default of 20", () => {
    expect(PRIMARY_SESSIONS.default).toBeLessThanOrEqual(10);
  });

  it('refuses a bound that cannot be split', () => {
    expect(() => splitPrimarySessions(3)).toThrow(/maxSessions: at least 4/);
    expect(() => splitPrimarySessions(4.5)).toThrow(/maxSessions/);
  });
});

describe("the account's Lambda concurrency", () => {
  it('needs the reservation plus the 100 Lambda keeps unreserved, and nothing without a reservation', () => {
    expect(accountConcurrencyNeeds({ webmail: { reservedConcurrency: 20 }, smartHost: { maxSessions: 10 } })).toEqual({
      reserved: 20,
      minimumAccountLimit: 120,
      pipelinePeak: INGEST_LIMITS.maxConcurrency! + 10,
    });
    expect(accountConcurrencyNeeds({ webmail: { reservedConcurrency: 0 }, smartHost: { maxSessions: 10 } }).minimumAccountLimit).toBe(0);
  });
});
