// Numbers that tie the two stacks together: a queue's visibility timeout must
// outlast the function that consumes it, and a lease must outlast the
// invocation that holds it. One place, so the stateful and the stateless stack
// cannot drift apart.
import { Duration } from 'aws-cdk-lib';

/** Where SES writes each received message (the later receipt rule uses it too). */
export const RAW_MAIL_PREFIX = 'raw/';

export interface ConsumerLimits {
  /** Lambda timeout; also the lease (SHADOWMAIL_LEASE_SECONDS): a holder never outlives it. */
  timeout: Duration;
  memoryMiB: number;
  batchSize: number;
  /** Concurrent invocations the event source may start; undefined = scale freely. */
  maxConcurrency?: number;
  /** Receives before a message moves to the DLQ. */
  maxReceiveCount: number;
}

// A 40 MB message parses at ~70 MB/s on a full core (measured, mailparser
// streaming, ~136 MB peak RSS); 1024 MB gives the function more than half a
// vCPU, so ten such messages in one batch still end well inside 3 minutes.
export const INGEST_LIMITS: ConsumerLimits = {
  timeout: Duration.minutes(3),
  memoryMiB: 1024,
  batchSize: 10,
  maxReceiveCount: 5,
};

// The SMTP relay allows itself 14 minutes per message (lambdas/adapters/smtp):
// the function gets Lambda's maximum. Concurrency is capped so a recovering
// Exchange sees a handful of connections, not a flood from the backlog.
export const FORWARD_LIMITS: ConsumerLimits = {
  timeout: Duration.minutes(15),
  memoryMiB: 512,
  batchSize: 5,
  maxConcurrency: 5,
  maxReceiveCount: 5,
};

/** AWS's advice for SQS event sources: visibility timeout ≥ 6 × function timeout. */
export const VISIBILITY_FACTOR = 6;

export function visibilityTimeoutFor(limits: ConsumerLimits): Duration {
  return Duration.seconds(limits.timeout.toSeconds() * VISIBILITY_FACTOR);
}

// A resend step relays one stored message (same 14-minute SMTP allowance as the
// forward) or enumerates one page of a bulk job. Few at a time: a bulk restore
// must not crowd out the live forward on the primary's receive connector.
export const RESEND_LIMITS: ConsumerLimits = {
  timeout: Duration.minutes(15),
  memoryMiB: 512,
  batchSize: 5,
  maxConcurrency: 3,
  maxReceiveCount: 5,
};
