// When a queued record whose processing threw is tried again. Without this, SQS makes
// it visible again after the queue's visibility timeout, which AWS sizes at six times
// the function timeout (for throttled retries), far longer than a transient DynamoDB or
// S3 error needs. The handler sets the failed record's visibility to this backoff
// (ChangeMessageVisibility), counted from its receive count. SMTP outcomes never come
// here: a deferred recipient is a new forward job with its own retry delay.

export const FAILURE_BACKOFF = {
  firstSeconds: 30,
  // The cap: SQS's longest message delay and the forward's own longest retry delay.
  maxSeconds: 900,
} as const;

/** Seconds until a record that failed at its `receiveCount`-th receive (1, 2, …) is tried again: 30 s doubling, at most 15 min. */
export function failureBackoffSeconds(receiveCount: number): number {
  const receives = Number.isFinite(receiveCount) && receiveCount >= 1 ? Math.floor(receiveCount) : 1;
  return Math.min(FAILURE_BACKOFF.firstSeconds * 2 ** Math.min(receives - 1, 30), FAILURE_BACKOFF.maxSeconds);
}

/** How long a record that fails at every receive keeps being retried before SQS moves it to its dead-letter queue. */
export function secondsUntilDeadLetter(maxReceiveCount: number): number {
  let total = 0;
  for (let receive = 1; receive <= maxReceiveCount; receive += 1) total += failureBackoffSeconds(receive);
  return total;
}
