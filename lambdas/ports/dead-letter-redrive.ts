// Port of "move a dead-letter queue's messages back to work": how many wait, whether a
// move is under way, and starting one. SQS offers two ways (adapters/aws/sqs-dead-letter-redrive.ts):
// a message move task for a DLQ whose messages came from an SQS queue, and receive → send →
// delete for a DLQ that SNS filled, which a move task cannot redrive.

export interface QueueDepth {
  /** Messages that can be received now (approximate, as SQS counts). */
  waiting: number;
  /** Messages received by someone and not yet deleted or visible again. */
  inFlight: number;
}

export type RedriveState = 'running' | 'completed' | 'cancelling' | 'cancelled' | 'failed';

export interface RedriveProgress {
  state: RedriveState;
  /** Messages moved so far. */
  moved: number;
  /** Messages the move set out to move, when known. */
  toMove?: number;
  /** Why it failed or stopped. */
  failureReason?: string;
  /** When it started (ISO 8601), when known. */
  startedAt?: string;
}

export interface DeadLetterRedrive {
  /** Where the messages go, for messages to the admin (e.g. "the ingest queue"). */
  readonly destination: string;
  depth(): Promise<QueueDepth>;
  /** A move that is still under way (only one may run per queue), or undefined. */
  current(): Promise<RedriveProgress | undefined>;
  /** Starts moving the waiting messages back; a move task goes on asynchronously (follow it with current/latest), a copy is done when this returns. */
  start(): Promise<RedriveProgress>;
  /** The most recent move's progress, or undefined when there was none. */
  latest(): Promise<RedriveProgress | undefined>;
}
