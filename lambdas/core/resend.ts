// Use cases of "resend to primary": one message to all or some of its recipients, or every
// message of a mailbox or of all mailboxes received in [since, until), as a queued job of
// enumerate and message steps, so a request never waits for SMTP. How steps stay
// "nothing twice, nothing lost" (gates, counted marks, the in-doubt window) and why loops
// end after one round: docs/design.md §5.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AuditDetailValue, AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeliveryLog } from '../ports/delivery-log.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type { MessageSearch } from '../ports/message-search.ts';
import type { OnceGate } from '../ports/once-gate.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import type {
  ResendCounters,
  ResendJob,
  ResendJobPage,
  ResendJobStore,
  ResendQueue,
  ResendScope,
  ResendSkipReason,
  ResendStep,
  ResendTaskOutcome,
} from '../ports/resend-jobs.ts';
import type { SmtpRelay } from '../ports/smtp-relay.ts';
import { hasAddressShape, normalizeAddress } from './addresses.ts';
import { audited } from './audit.ts';
import { InvalidInputError, LeaseBusyError, NotFoundError, RawMessageMissingError, RetryableError, ShadowmailError } from './errors.ts';
import { attemptOf, replyFor } from './forward.ts';
import { forwardStampLine, resentMarkerLine, withHeaderLines } from './forward-stamp.ts';
import { decodeCursor } from './mailbox.ts';
import type { ConfigurationFault, DeliveryAttempt, MessageRecord } from './model.ts';
import { runOnce } from './once.ts';
import { parseTime } from './time-input.ts';

export interface ResendConfig {
  /** The forward's stack id: the resent copy carries the same stamp. */
  stackId: string;
  /** How long one worker may own a step before another may take over. */
  leaseMs: number;
  /** Attempts per recipient within a job (the first and the retries); still deferred after the last: failed. */
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to retryMaxDelaySeconds. */
  retryBaseSeconds: number;
  retryMaxDelaySeconds: number;
  /** Messages an enumerate step queues at a time. */
  pageSize: number;
  /** How long a job record is kept. */
  jobRetentionDays: number;
  /** Longest time range of a bulk resend. */
  maxRangeDays: number;
  /** A step that failed this often is given up: its message counts as skipped (error). */
  maxReceives: number;
}

export const DEFAULT_RESEND_CONFIG: Omit<ResendConfig, 'stackId' | 'leaseMs'> = {
  maxAttempts: 5,
  retryBaseSeconds: 60,
  retryMaxDelaySeconds: 900,
  pageSize: 100,
  jobRetentionDays: 90,
  maxRangeDays: 3660,
  maxReceives: 10,
};

export const MAX_RESEND_RECIPIENTS = 100;

export interface ResendStartDeps {
  index: MessageRecords & DeliveryLog;
  jobs: ResendJobStore;
  queue: ResendQueue;
  audit: AuditLog;
  clock: Clock;
  config: Pick<ResendConfig, 'jobRetentionDays' | 'maxRangeDays'>;
  /** Job ids (default `rs-<yyyymmdd>-<random>`). */
  newJobId?: () => string;
}

export interface ResendWorkerDeps {
  index: MessageRecords & DeliveryLog & MessageSearch & OnceGate;
  rawStore: RawMailStore;
  relay: SmtpRelay;
  jobs: ResendJobStore;
  queue: ResendQueue;
  clock: Clock;
  /** Owner of the steps' gates (Lambda request, or a fixed one per local process). */
  workerId: string;
  config: ResendConfig;
}

export type ResendRequest =
  | {
      kind: 'message';
      /** The id trace shows (SES message id). */
      sesMessageId: string;
      /** Some of the message's envelope recipients (any case); all of them when absent. */
      recipients?: string[];
    }
  | { kind: 'mailbox'; mailbox: string; since: string | Date; until: string | Date }
  | { kind: 'all'; since: string | Date; until: string | Date };

export type ResendStepOutcome =
  | { status: 'duplicate' }
  | { status: 'no-job' }
  | { status: 'enumerated'; queued: number; last: boolean }
  | { status: 'skipped'; reason: ResendSkipReason }
  | { status: 'cancelled'; recipients: number }
  | {
      status: 'sent';
      delivered: string[];
      failed: string[];
      deferred: string[];
      retryInSeconds: number | null;
      /** The step ran before and may have reached the primary then. */
      inDoubt: boolean;
      /** Writing the attempts into the message's trace failed (the counts are in). */
      traceError: unknown;
      /** The smart host refused *us* (see ConfigurationFault); null otherwise. */
      configurationFault: ConfigurationFault | null;
    }
  | { status: 'gave-up'; error: string };

export const RESEND_COUNTER_NAMES = [
  'total',
  'done',
  'skipped',
  'delivered',
  'failed',
  'deferred',
  'cancelled',
  'inDoubt',
] as const satisfies readonly (keyof ResendCounters)[];
export const RESEND_SKIP_REASONS = [
  'expired',
  'raw-missing',
  'not-received',
  'mail-loop',
  'cancelled',
  'error',
] as const satisfies readonly ResendSkipReason[];

const ZERO_COUNTERS: ResendCounters = { total: 0, done: 0, skipped: 0, delivered: 0, failed: 0, deferred: 0, cancelled: 0, inDoubt: 0 };

// ---- requests ------------------------------------------------------------------------

/** Creates the job and queues its first step; returns at once (the worker does the rest). */
export async function startResend(actor: string, request: ResendRequest, deps: ResendStartDeps): Promise<ResendJob> {
  const action = request.kind === 'message' ? 'resend.single' : 'resend.bulk';
  const details: Record<string, AuditDetailValue> =
    request.kind === 'message'
      ? { scope: 'message', recipients: request.recipients ?? null }
      : {
          scope: request.kind,
          mailbox: request.kind === 'mailbox' ? request.mailbox : null,
          since: timeText(request.since),
          until: timeText(request.until),
        };
  const target = request.kind === 'message' ? request.sesMessageId : request.kind === 'mailbox' ? request.mailbox : 'all mailboxes';
  return audited(
    deps.audit,
    deps.clock,
    { actor, action, target, details },
    async () => {
      const now = deps.clock.now();
      const scope = await checkRequest(request, deps, now);
      const job = newJob(deps.newJobId?.() ?? newJobId(now), scope, actor, now, deps.config.jobRetentionDays);
      await deps.jobs.create(job);
      const first: ResendStep =
        scope.kind === 'message'
          ? { type: 'message', jobId: job.id, sesMessageId: scope.sesMessageId, recipients: null, attempt: 0 }
          : { type: 'enumerate', jobId: job.id, seq: 0 };
      try {
        await deps.queue.enqueue([first], 0);
      } catch (error) {
        await deps.jobs.fail(job.id, 'the job could not be queued', deps.clock.now().toISOString()).catch(() => undefined);
        throw new RetryableError(`resend job ${job.id} could not be queued`, { cause: error });
      }
      return job;
    },
    (job) => ({ jobId: job.id }),
  );
}

/** The job (progress, counters); NotFoundError when unknown. */
export async function getResendJob(jobId: string, deps: { jobs: ResendJobStore; clock: Clock }): Promise<ResendJob> {
  const job = isJobId(jobId) ? await deps.jobs.get(jobId, deps.clock.now()) : null;
  if (!job) throw new NotFoundError(`no resend job ${jobId}`);
  return job;
}

/** Jobs newest first. */
export async function listResendJobs(
  input: { limit?: number; cursor?: string | null },
  deps: { jobs: ResendJobStore; clock: Clock },
): Promise<ResendJobPage> {
  const limit = input.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new InvalidInputError('limit must be a whole number from 1 to 500');
  decodeCursor(input.cursor);
  return deps.jobs.list({ limit, cursor: input.cursor ?? null }, deps.clock.now());
}

/**
 * Cancels a queued or running job: nothing more is sent; messages still queued count
 * as skipped (cancelled), recipients waiting for a retry as cancelled. A job that has
 * ended is returned as it is. Audited as resend.cancel.
 */
export async function cancelResend(
  actor: string,
  jobId: string,
  deps: { jobs: ResendJobStore; audit: AuditLog; clock: Clock },
): Promise<ResendJob> {
  return audited(
    deps.audit,
    deps.clock,
    { actor, action: 'resend.cancel', target: jobId },
    async () => {
      const job = isJobId(jobId) ? await deps.jobs.cancel(jobId, actor, deps.clock.now().toISOString()) : null;
      if (!job) throw new NotFoundError(`no resend job ${jobId}`);
      return job;
    },
    (job) => ({ state: job.state }),
  );
}

/** The job has nothing left to do (its counters are final). */
export function isSettled(job: ResendJob): boolean {
  return job.finishedAt !== null || job.state === 'done';
}

async function checkRequest(request: ResendRequest, deps: ResendStartDeps, now: Date): Promise<ResendScope> {
  if (request.kind === 'message') {
    const record = isPlausibleId(request.sesMessageId) ? await deps.index.getMessage(request.sesMessageId, now) : null;
    if (!record) throw new NotFoundError(`no message ${request.sesMessageId} (unknown, or past its retention)`);
    const states = await deps.index.getDeliveryStates(record.sesMessageId, now);
    if (states.length === 0) {
      throw new InvalidInputError(`${record.sesMessageId} is not received mail (a copy sent from the webmail): there is nothing to resend`);
    }
    return {
      kind: 'message',
      sesMessageId: record.sesMessageId,
      recipients: request.recipients === undefined ? null : chooseRecipients(record, request.recipients),
    };
  }
  const since = parseTime(request.since, 'since');
  const until = parseTime(request.until, 'until');
  if (since.getTime() >= until.getTime()) throw new InvalidInputError('since must be before until');
  if (until.getTime() - since.getTime() > deps.config.maxRangeDays * 86_400_000) {
    throw new InvalidInputError(`a bulk resend covers at most ${deps.config.maxRangeDays} days`);
  }
  if (request.kind === 'all') return { kind: 'all', since: since.toISOString(), until: until.toISOString() };
  const mailbox = normalizeAddress(request.mailbox);
  if (!hasAddressShape(mailbox)) throw new InvalidInputError('mailbox must be an address');
  return { kind: 'mailbox', mailbox, since: since.toISOString(), until: until.toISOString() };
}

/** The chosen recipients in the envelope's own spelling; each must be an envelope recipient. */
function chooseRecipients(record: MessageRecord, wanted: string[]): string[] {
  if (wanted.length === 0) throw new InvalidInputError('name at least one recipient, or none to send to all');
  if (wanted.length > MAX_RESEND_RECIPIENTS) throw new InvalidInputError(`at most ${MAX_RESEND_RECIPIENTS} recipients`);
  const byKey = new Map(record.envelopeRecipients.map((recipient) => [normalizeAddress(recipient), recipient]));
  const chosen = new Set<string>();
  for (const address of wanted) {
    const original = byKey.get(normalizeAddress(address));
    if (original === undefined) {
      throw new InvalidInputError(
        `${address} is not a recipient of ${record.sesMessageId} (its envelope recipients: ${record.envelopeRecipients.join(', ')})`,
      );
    }
    chosen.add(original);
  }
  return [...chosen];
}

function newJob(id: string, scope: ResendScope, actor: string, now: Date, retentionDays: number): ResendJob {
  const at = now.toISOString();
  const single = scope.kind === 'message';
  return {
    id,
    scope,
    state: 'queued',
    createdBy: actor,
    createdAt: at,
    updatedAt: at,
    startedAt: null,
    finishedAt: null,
    cancelledBy: null,
    cancelledAt: null,
    // A single message needs no enumeration: its one step is queued with the job.
    enumerated: single,
    enumSeq: 0,
    cursor: null,
    counters: { ...ZERO_COUNTERS, total: single ? 1 : 0 },
    skippedBy: Object.fromEntries(RESEND_SKIP_REASONS.map((reason) => [reason, 0])) as ResendJob['skippedBy'],
    error: null,
    expiresAt: Math.floor(now.getTime() / 1000) + retentionDays * 86_400,
  };
}

function newJobId(now: Date): string {
  return `rs-${now.toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(5).toString('hex')}`;
}

export function isJobId(value: string): boolean {
  return /^[A-Za-z0-9._-]{1,100}$/.test(value);
}

// ---- the worker ------------------------------------------------------------------------

/**
 * Runs one step. `receiveCount` is how often the queue has delivered it (SQS's
 * ApproximateReceiveCount): a step that keeps failing is given up at maxReceives,
 * and one that fails for good (InvalidInputError) at once, so the job still ends.
 */
export async function processResendStep(step: ResendStep, deps: ResendWorkerDeps, receiveCount = 1): Promise<ResendStepOutcome> {
  try {
    return step.type === 'enumerate' ? await enumerateStep(step, deps) : await messageStep(step, deps);
  } catch (error) {
    if (error instanceof LeaseBusyError) throw error;
    const permanent = error instanceof InvalidInputError;
    if (!permanent && receiveCount < deps.config.maxReceives) throw error;
    return giveUp(step, error, deps);
  }
}

function gateOf(step: ResendStep): string {
  return step.type === 'enumerate' ? `resend#${step.jobId}#enum#${step.seq}` : `resend#${step.jobId}#${step.sesMessageId}#${step.attempt}`;
}

function taskKeyOf(step: Extract<ResendStep, { type: 'message' }>): string {
  return `${step.sesMessageId}#${step.attempt}`;
}

/** Runs `work` under the step's once-gate; a finished step is a duplicate. */
async function underGate(step: ResendStep, deps: ResendWorkerDeps, work: () => Promise<ResendStepOutcome>): Promise<ResendStepOutcome> {
  const gate = gateOf(step);
  const once = await runOnce(deps.index, { key: gate, owner: deps.workerId, now: deps.clock.now(), leaseMs: deps.config.leaseMs }, work);
  if (once.status === 'done') return { status: 'duplicate' };
  if (once.status === 'busy') throw new LeaseBusyError(gate);
  if (step.type === 'message') await deps.jobs.forgetTask(step.jobId, taskKeyOf(step)).catch(() => undefined);
  return once.value;
}

async function enumerateStep(step: Extract<ResendStep, { type: 'enumerate' }>, deps: ResendWorkerDeps): Promise<ResendStepOutcome> {
  return underGate(step, deps, async () => {
    const now = deps.clock.now();
    const at = now.toISOString();
    const job = await deps.jobs.get(step.jobId, now);
    if (!job) return { status: 'no-job' };
    if (job.state === 'queued') await deps.jobs.markRunning(job.id, at);
    const next: ResendStep = { type: 'enumerate', jobId: job.id, seq: step.seq + 1 };
    if (job.enumSeq > step.seq) {
      // This page was checkpointed by a run that died before it queued the next one.
      if (job.enumSeq === step.seq + 1 && !job.enumerated) await deps.queue.enqueue([next], 0);
      return { status: 'duplicate' };
    }
    if (job.enumerated || job.scope.kind === 'message') return { status: 'duplicate' };
    if (job.state === 'cancelled' || job.state === 'failed') {
      await deps.jobs.stopEnumerating(job.id, at);
      await finishIfSettled(job.id, deps);
      return { status: 'enumerated', queued: 0, last: true };
    }
    const scope = job.scope;
    const page = await deps.index.listReceived(
      {
        ...(scope.kind === 'mailbox' && { mailbox: scope.mailbox }),
        since: scope.since,
        until: scope.until,
        cursor: job.cursor,
        limit: deps.config.pageSize,
      },
      now,
    );
    const steps: ResendStep[] = page.messages.map((ref) => ({
      type: 'message',
      jobId: job.id,
      sesMessageId: ref.sesMessageId,
      recipients: ref.recipients,
      attempt: 0,
    }));
    if (steps.length > 0) await deps.queue.enqueue(steps, 0);
    const last = page.nextCursor === null;
    const after = await deps.jobs.checkpoint(job.id, { seq: step.seq, cursor: page.nextCursor, added: steps.length, enumerated: last, at });
    const current = after ?? (await deps.jobs.get(job.id, now));
    if (current && current.enumSeq === step.seq + 1 && !current.enumerated) await deps.queue.enqueue([next], 0);
    if (last) await finishIfSettled(job.id, deps, after);
    return { status: 'enumerated', queued: steps.length, last };
  });
}

async function messageStep(step: Extract<ResendStep, { type: 'message' }>, deps: ResendWorkerDeps): Promise<ResendStepOutcome> {
  return underGate(step, deps, async () => {
    const now = deps.clock.now();
    const at = now.toISOString();
    const taskKey = taskKeyOf(step);
    const task = await deps.jobs.getTask(step.jobId, taskKey, now);
    if (!task) return { status: 'no-job' };
    const { job } = task;
    const retryOf = (recipients: string[]): ResendStep => ({ ...step, recipients, attempt: step.attempt + 1 });
    if (task.applied) {
      // Counted before a crash kept the gate from closing: the relay happened. Only the
      // retry it asked for may still be missing (queueing it twice is harmless: gates).
      if (task.applied.retry.length > 0) await deps.queue.enqueue([retryOf(task.applied.retry)], retryDelay(step.attempt + 1, deps.config));
      return { status: 'duplicate' };
    }
    if (job.state === 'queued') await deps.jobs.markRunning(job.id, at);
    const waiting = step.attempt > 0 ? (step.recipients ?? []).length : 0;
    // Every write of counters is applyTask: conditional on the step not being counted
    // yet, so a step counted before a crash adds nothing when it runs again.
    const settle = async (outcome: ResendTaskOutcome): Promise<void> => {
      const after = await deps.jobs.applyTask(job.id, taskKey, outcome, deps.clock.now().toISOString());
      if (after) await finishIfSettled(job.id, deps, after);
    };
    /** Nothing is sent: a first attempt skips the message, a retry fails its waiting recipients. */
    const notSent = async (reason: ResendSkipReason): Promise<ResendStepOutcome> => {
      if (step.attempt === 0) {
        await settle({ counters: { done: 1, skipped: 1 }, skipped: reason });
        return { status: 'skipped', reason };
      }
      await settle({ counters: { done: 1, deferred: -waiting, failed: waiting } });
      return {
        status: 'sent',
        delivered: [],
        failed: step.recipients ?? [],
        deferred: [],
        retryInSeconds: null,
        inDoubt: false,
        traceError: null,
        configurationFault: null,
      };
    };

    if (job.state === 'cancelled') {
      if (step.attempt === 0) {
        await settle({ counters: { done: 1, skipped: 1 }, skipped: 'cancelled' });
        return { status: 'skipped', reason: 'cancelled' };
      }
      await settle({ counters: { done: 1, deferred: -waiting, cancelled: waiting } });
      return { status: 'cancelled', recipients: waiting };
    }

    const record = await deps.index.getMessage(step.sesMessageId, now);
    if (!record) return notSent('expired');
    if (step.attempt === 0 && job.scope.kind !== 'message') {
      if (record.loopDetected) return notSent('mail-loop');
      // The day partitions hold received mail only; a mailbox also holds Sent copies a
      // user may have moved to the inbox, so those are checked here.
      if (job.scope.kind === 'mailbox' && (await deps.index.getDeliveryStates(record.sesMessageId, now)).length === 0)
        return notSent('not-received');
    }
    const recipients = recipientsOf(step, job, record);
    if (recipients.length === 0) return notSent('not-received');
    try {
      await deps.rawStore.size(record.raw);
    } catch (error) {
      if (error instanceof RawMessageMissingError) return notSent('raw-missing');
      throw error;
    }

    // Right before the relay: a run that dies from here until applyTask leaves this
    // mark, and the next run knows the message may have reached the primary already.
    await deps.jobs.markStarted(job.id, taskKey, deps.clock.now().toISOString());
    const replies = await deps.relay.relay({ from: record.envelopeFrom, recipients }, () => stamped(record, job.id, deps));
    const attemptedAt = deps.clock.now().toISOString();
    const delivered: string[] = [];
    const failed: string[] = [];
    const deferred: string[] = [];
    const attempts: Array<[string, DeliveryAttempt]> = [];
    let configurationFault: ConfigurationFault | null = null;
    for (const recipient of recipients) {
      const reply = replyFor(recipient, replies);
      const attempt = attemptOf(reply, attemptedAt, `resend ${job.id}: ${reply.response}`);
      attempts.push([recipient, attempt]);
      ({ delivered, failed, deferred })[attempt.outcome].push(recipient);
      configurationFault ??= attempt.configurationFault ?? null;
    }
    const lastAttempt = step.attempt + 1 >= deps.config.maxAttempts;
    const retry = lastAttempt ? [] : deferred;
    // The counts and the retry they promise are written together; the retry is queued
    // after, so no retry exists for an outcome that was never counted.
    await settle({
      counters: {
        delivered: delivered.length,
        failed: failed.length + (lastAttempt ? deferred.length : 0),
        deferred: retry.length - waiting,
        done: retry.length === 0 ? 1 : 0,
        inDoubt: task.started ? 1 : 0,
      },
      retry,
    });
    const retryInSeconds = retry.length > 0 ? retryDelay(step.attempt + 1, deps.config) : null;
    if (retryInSeconds !== null) await deps.queue.enqueue([retryOf(retry)], retryInSeconds);
    // The history in the message's trace is for people; the counts above are the record.
    let traceError: unknown = null;
    for (const [recipient, attempt] of attempts) {
      await deps.index.recordExtraAttempt(record.sesMessageId, recipient, attempt).catch((error: unknown) => {
        traceError ??= error;
      });
    }
    return {
      status: 'sent',
      delivered,
      failed: lastAttempt ? [...failed, ...deferred] : failed,
      deferred: retry,
      retryInSeconds,
      inDoubt: task.started,
      traceError,
      configurationFault,
    };
  });
}

/** Who this attempt goes to, in the envelope's spelling. */
function recipientsOf(step: Extract<ResendStep, { type: 'message' }>, job: ResendJob, record: MessageRecord): string[] {
  if (step.attempt > 0) return step.recipients ?? [];
  if (job.scope.kind === 'message') return job.scope.recipients ?? record.envelopeRecipients;
  if (step.recipients === null) return record.envelopeRecipients;
  const filed = new Set(step.recipients.map(normalizeAddress));
  return record.envelopeRecipients.filter((recipient) => filed.has(normalizeAddress(recipient)));
}

/** The stored bytes with the resend marker and the forward's stamp on top. */
async function stamped(record: MessageRecord, jobId: string, deps: ResendWorkerDeps): Promise<Readable> {
  const body = await deps.rawStore.open(record.raw);
  const at = deps.clock.now();
  return withHeaderLines(body, resentMarkerLine(jobId, at) + forwardStampLine(deps.config.stackId, record.sesMessageId, at));
}

export function retryDelay(attemptsMade: number, config: Pick<ResendConfig, 'retryBaseSeconds' | 'retryMaxDelaySeconds'>): number {
  return Math.min(config.retryBaseSeconds * 2 ** Math.min(Math.max(0, attemptsMade - 1), 30), config.retryMaxDelaySeconds);
}

/** Sets finishedAt (and done) once the job has nothing left; `known` saves a read when the caller has the job. */
async function finishIfSettled(jobId: string, deps: ResendWorkerDeps, known?: ResendJob | null): Promise<void> {
  const job = known ?? (await deps.jobs.get(jobId, deps.clock.now()));
  if (!job || job.finishedAt !== null || !job.enumerated) return;
  if (job.counters.done < job.counters.total || job.counters.deferred > 0) return;
  await deps.jobs.finish(jobId, deps.clock.now().toISOString());
}

/** A step that cannot succeed: its message is settled (skipped, or its waiting recipients failed), or the enumeration fails the job. */
async function giveUp(step: ResendStep, error: unknown, deps: ResendWorkerDeps): Promise<ResendStepOutcome> {
  const why = error instanceof ShadowmailError ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
  const outcome = await underGate(step, deps, async () => {
    const at = deps.clock.now().toISOString();
    if (step.type === 'enumerate') {
      await deps.jobs.fail(step.jobId, `enumerating the messages failed: ${why}`, at);
      await deps.jobs.stopEnumerating(step.jobId, at);
      await finishIfSettled(step.jobId, deps);
      return { status: 'gave-up', error: why };
    }
    const waiting = step.attempt > 0 ? (step.recipients ?? []).length : 0;
    const task: ResendTaskOutcome =
      step.attempt === 0
        ? { counters: { done: 1, skipped: 1 }, skipped: 'error' }
        : { counters: { done: 1, deferred: -waiting, failed: waiting } };
    const after = await deps.jobs.applyTask(step.jobId, taskKeyOf(step), task, at);
    if (after) await finishIfSettled(step.jobId, deps, after);
    return { status: 'gave-up', error: why };
  });
  return outcome;
}

function timeText(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}

function isPlausibleId(value: string): boolean {
  return /^[\x21-\x7e]{1,256}$/.test(value);
}
