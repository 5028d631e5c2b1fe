// The pipeline's limits (lambdas/contract/pipeline-limits.ts) as the stacks need them:
// CDK durations for the function timeouts and the queues' visibility timeouts, and what
// a deployment asks of the account's Lambda concurrency.
import { Duration } from 'aws-cdk-lib';
import { type ConsumerLimits, INGEST_LIMITS } from '../lambdas/contract/pipeline-limits.ts';
import { splitPrimarySessions } from '../lambdas/contract/primary-sessions.ts';
import { LAMBDA_MIN_UNRESERVED_CONCURRENCY } from './lambda-quotas.ts';

/** AWS's advice for SQS event sources: visibility timeout ≥ 6 × function timeout (Lambda developer guide, services-sqs-configure). */
export const VISIBILITY_FACTOR = 6;

export function functionTimeout(limits: ConsumerLimits): Duration {
  return Duration.seconds(limits.timeoutSeconds);
}

export function visibilityTimeoutFor(limits: ConsumerLimits): Duration {
  return Duration.seconds(limits.timeoutSeconds * VISIBILITY_FACTOR);
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
