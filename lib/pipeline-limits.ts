// Numbers that tie the two stacks together: a queue's visibility timeout must
// outlast the function that consumes it, a lease must outlast the invocation that
// holds it, and a relaying function must outlast the SMTP relay's own bound. One
// place, so the stateful and the stateless stack cannot drift apart.
import { Duration } from 'aws-cdk-lib';
import { RELAY_TIMEOUTS, RELAY_WORK_MS } from '../lambdas/adapters/smtp/relay-timeouts.ts';
import { splitPrimarySessions } from '../lambdas/core/primary-sessions.ts';
import { LAMBDA_MIN_UNRESERVED_CONCURRENCY } from './lambda-quotas.ts';

/** Where SES writes each received message (the later receipt rule uses it too). */
export const RAW_MAIL_PREFIX = 'raw/';

export interface ConsumerLimits {
  /** Lambda timeout; also the lease (SHADOWMAIL_LEASE_SECONDS): a holder never outlives it. */
  timeout: Duration;
  memoryMiB: number;
  batchSize: number;
  /** Concurrent invocations the event source may start; undefined = set from the configuration (smartHost.maxSessions). */
  maxConcurrency?: number;
  /**
   * Receives before a message moves to the DLQ. A record that throws comes back after
   * lambdas/core/failure-backoff.ts's backoff (30 s doubling, at most 15 min), so 10
   * receives are about 90 minutes of retrying (secondsUntilDeadLetter) before the DLQ
   * and its alarm; a crashed or timed-out invocation waits the visibility timeout instead.
   */
  maxReceiveCount: number;
}

const RECEIVES_BEFORE_DEAD_LETTER = 10;

// A 40 MB message parses at ~70 MB/s on a full core (measured, mailparser
// streaming, ~136 MB peak RSS); 1024 MB gives the function more than half a
// vCPU, so ten such messages in one batch still end well inside 3 minutes.
// The event source is capped: a spam burst into the ingest queue drains at five
// batches at a time instead of taking the account's concurrency from the webmail.
export const INGEST_LIMITS: ConsumerLimits = {
  timeout: Duration.minutes(3),
  memoryMiB: 1024,
  batchSize: 10,
  maxConcurrency: 5,
  maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER,
};

/**
 * A relaying function (forward, resend) takes one record per invocation: it holds one
 * SMTP session at a time, so the event source's maximum concurrency is its share of
 * smartHost.maxSessions, and the function timeout (with it the lease and the queue's
 * visibility timeout) stays one relay's bound: RELAY_TIMEOUTS.totalTimeoutMs plus its
 * bookkeeping. Lambda never freezes an environment in the middle of an SMTP session,
 * which Exchange would go on counting against the per-source limit until its own
 * inactivity timeout.
 */
const RELAY_BATCH_SIZE = 1;
const relayingTimeout = (batchSize: number): Duration => Duration.millis(batchSize * RELAY_WORK_MS);

export const FORWARD_LIMITS: ConsumerLimits = {
  timeout: relayingTimeout(RELAY_BATCH_SIZE),
  memoryMiB: 512,
  batchSize: RELAY_BATCH_SIZE,
  maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER,
};

// A resend step relays one stored message (the forward's SMTP bound) or enumerates
// one page of a bulk job.
export const RESEND_LIMITS: ConsumerLimits = {
  timeout: relayingTimeout(RELAY_BATCH_SIZE),
  memoryMiB: 512,
  batchSize: RELAY_BATCH_SIZE,
  maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER,
};

/** The relay's own bound, which every relaying function timeout must cover per record. */
export const RELAY_TOTAL = Duration.millis(RELAY_TIMEOUTS.totalTimeoutMs);

/** AWS's advice for SQS event sources: visibility timeout ≥ 6 × function timeout (Lambda developer guide, services-sqs-configure). */
export const VISIBILITY_FACTOR = 6;

export function visibilityTimeoutFor(limits: ConsumerLimits): Duration {
  return Duration.seconds(limits.timeout.toSeconds() * VISIBILITY_FACTOR);
}

/** What a deployment asks of the account's Lambda concurrency in its region (shadowmail doctor compares it with GetAccountSettings). */
export function accountConcurrencyNeeds(config: { webmail: { reservedConcurrency: number }; smartHost: { maxSessions: number } }) {
  const relays = splitPrimarySessions(config.smartHost.maxSessions);
  const reserved = config.webmail.reservedConcurrency;
  return {
    /** Reserved for the webmail (0: none). */
    reserved,
    /** The account's concurrency quota (AccountLimit.ConcurrentExecutions) the reservation needs: reserved + 100, or nothing. */
    minimumAccountLimit: reserved > 0 ? reserved + LAMBDA_MIN_UNRESERVED_CONCURRENCY : 0,
    /** What the event sources may run at once, from the unreserved pool: ingest, forward and resend together. */
    pipelinePeak: (INGEST_LIMITS.maxConcurrency ?? 0) + relays.forward + relays.resend,
  };
}
