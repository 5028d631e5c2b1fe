// Ports of "resend to primary": where resend jobs are kept with their progress
// (the message table in DynamoDB) and the queue their steps travel on (SQS in AWS,
// a file queue locally). core/resend.ts explains how the steps use them.

export type ResendJobState = 'queued' | 'running' | 'done' | 'cancelled' | 'failed';

/** What a job sends again. Times are ISO 8601 UTC; a range is [since, until). */
export type ResendScope =
  | {
      kind: 'message';
      sesMessageId: string;
      /** Envelope recipients of the message (original spelling) to send to; null: all of them. */
      recipients: string[] | null;
    }
  | { kind: 'mailbox'; mailbox: string; since: string; until: string }
  | { kind: 'all'; since: string; until: string };

/**
 * Progress. `total`, `done` and `skipped` count messages; `delivered`, `failed`,
 * `deferred` and `cancelled` count recipients of messages that were sent.
 */
export interface ResendCounters {
  /** Messages the enumerator found and queued. */
  total: number;
  /** Messages settled: every recipient delivered, failed or cancelled, or the message skipped. */
  done: number;
  /** Messages not sent at all (see skippedBy for why). */
  skipped: number;
  /** Recipients the primary accepted (2xx). */
  delivered: number;
  /** Recipients the primary refused for good (5xx), or still deferred after the last retry. */
  failed: number;
  /** Recipients waiting for a retry right now (4xx or no answer). 0 when the job is settled. */
  deferred: number;
  /** Recipients that were waiting for a retry when the job was cancelled. */
  cancelled: number;
  /** Relays a worker was interrupted in (killed) after they may have reached the primary: sent again, possibly twice. */
  inDoubt: number;
}

/** Why a message was skipped. */
export type ResendSkipReason =
  /** Its retention ran out (the index no longer has it). */
  | 'expired'
  /** The raw object is gone from the store. */
  | 'raw-missing'
  /** Not received mail: a copy sent from the webmail (no delivery states). */
  | 'not-received'
  /** It carried this stack's forward stamp when it came in; the forward never relayed it. */
  | 'mail-loop'
  /** The job was cancelled before the message was sent. */
  | 'cancelled'
  /** Processing it kept failing (see the worker's log). */
  | 'error';

export type ResendSkips = Record<ResendSkipReason, number>;

export interface ResendJob {
  id: string;
  scope: ResendScope;
  state: ResendJobState;
  /** Who asked: an admin's address or `cli:<os user>`. */
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** When the first step ran. */
  startedAt: string | null;
  /** When every message was settled (also for a cancelled job); null while work remains. */
  finishedAt: string | null;
  cancelledBy: string | null;
  cancelledAt: string | null;
  /** The enumerator has queued every message (total is final). */
  enumerated: boolean;
  /** Enumerator pages checkpointed so far. */
  enumSeq: number;
  /** Where the enumerator continues (opaque, from the index). */
  cursor: string | null;
  counters: ResendCounters;
  skippedBy: ResendSkips;
  /** Why the job failed (state failed). */
  error: string | null;
  /** The job record's own retention (epoch seconds); the audit log keeps who did what for longer. */
  expiresAt: number;
}

export interface ResendJobPage {
  jobs: ResendJob[];
  nextCursor: string | null;
}

/** A task's outcome, added to the counters exactly once. */
export interface ResendTaskOutcome {
  counters: Partial<ResendCounters>;
  skipped?: ResendSkipReason;
  /** Recipients the next attempt goes to (deferred ones); kept with the mark so a rerun can queue it. */
  retry?: string[];
}

/** What the job knows about one task (a message step) besides the job itself. */
export interface ResendTaskMarks {
  job: ResendJob;
  /** The task's outcome is in the counters (its relay finished); with the retry it asked for. Null: not yet. */
  applied: { retry: string[] } | null;
  /** A relay of the task was begun and not recorded (a worker died in between): it may have reached the primary. */
  started: boolean;
}

export interface ResendJobStore {
  /** Writes a new job; an existing id is an InvalidInputError (never overwritten). */
  create(job: ResendJob): Promise<void>;
  /** The job, or null when unknown or past its retention. */
  get(id: string, now: Date): Promise<ResendJob | null>;
  /** Newest first. */
  list(query: { limit: number; cursor?: string | null }, now: Date): Promise<ResendJobPage>;

  /** queued → running (sets startedAt); no change in any other state. */
  markRunning(id: string, at: string): Promise<void>;
  /**
   * The enumerator's checkpoint after page `seq` was queued: enumSeq seq → seq + 1,
   * the new cursor, `added` more messages in total, and whether it was the last page.
   * Null when enumSeq was no longer `seq` (this page was checkpointed before).
   */
  checkpoint(
    id: string,
    page: { seq: number; cursor: string | null; added: number; enumerated: boolean; at: string },
  ): Promise<ResendJob | null>;
  /** Ends enumeration early (a cancelled or failed job): enumerated = true, total kept. */
  stopEnumerating(id: string, at: string): Promise<void>;

  /** The job and the marks of one task, read consistently; null when the job is unknown. */
  getTask(id: string, taskKey: string, now: Date): Promise<ResendTaskMarks | null>;
  /** Notes right before a relay that it was begun (cleared by applyTask and forgetTask). */
  markStarted(id: string, taskKey: string, at: string): Promise<void>;
  /**
   * Adds the outcome to the counters in one conditional write and marks the task as
   * applied, with the retry it asks for; null (and nothing added) when it was applied before.
   */
  applyTask(id: string, taskKey: string, outcome: ResendTaskOutcome, at: string): Promise<ResendJob | null>;
  /** Drops the task's marks (after the task's gate is done), so the job item stays small. */
  forgetTask(id: string, taskKey: string): Promise<void>;

  /** queued/running → cancelled; the job as it is afterwards (unchanged if it had ended), null if unknown. */
  cancel(id: string, actor: string, at: string): Promise<ResendJob | null>;
  /** queued/running → failed with why. */
  fail(id: string, error: string, at: string): Promise<void>;
  /**
   * Sets finishedAt (and state done unless cancelled or failed) once enumerated and
   * every message is settled; null when that is not (yet) so or it was set before.
   */
  finish(id: string, at: string): Promise<ResendJob | null>;
}

/** The steps of a job, as queue messages. */
export type ResendStep =
  /** Queue the next page of messages (page number `seq`). */
  | { type: 'enumerate'; jobId: string; seq: number }
  /**
   * Send one message. `recipients`: who to send to on this attempt (original spelling;
   * retries name the deferred ones), or null for the job's choice (see core/resend.ts).
   */
  | { type: 'message'; jobId: string; sesMessageId: string; recipients: string[] | null; attempt: number };

export interface ResendQueue {
  /** Durable once resolved. delaySeconds is capped at what the queue supports (SQS: 900). */
  enqueue(steps: ResendStep[], delaySeconds: number): Promise<void>;
}
