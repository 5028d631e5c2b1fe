// Use case: relay one stored message unchanged to the primary, per recipient:
// 2xx delivered, 5xx failed for good, 4xx or no answer retried with growing backoff
// until the maximum age. Every attempt is recorded for the admin's trace.
import type { Readable } from 'node:stream';
import { normalizeAddress } from './addresses.ts';
import { LeaseBusyError } from './errors.ts';
import { forwardStampLine, withHeaderLines } from './forward-stamp.ts';
import type { DeliveryAttempt, DeliveryState, ForwardJob, MessageRecord } from './model.ts';
import type { Clock } from '../ports/clock.ts';
import type { ForwardQueue } from '../ports/forward-queue.ts';
import type { MessageIndex } from '../ports/message-index.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import type { RecipientReply, SmtpRelay } from '../ports/smtp-relay.ts';

export interface ForwardConfig {
  stackId: string;
  /** After this long since receipt, deferred recipients fail for good. */
  maxAgeMs: number;
  /** First retry delay; doubles per attempt up to retryMaxDelaySeconds. */
  retryBaseSeconds: number;
  retryMaxDelaySeconds: number;
  /** How long one worker may own a relay before another may take over. */
  leaseMs: number;
}

export interface ForwardDeps {
  index: MessageIndex;
  rawStore: RawMailStore;
  relay: SmtpRelay;
  forwardQueue: ForwardQueue;
  clock: Clock;
  workerId: string;
  config: ForwardConfig;
}

export type ForwardOutcome =
  | { status: 'gone' }
  | { status: 'duplicate' }
  | { status: 'loop'; failed: string[] }
  | { status: 'expired'; failed: string[] }
  | { status: 'attempted'; delivered: string[]; failed: string[]; deferred: string[]; retryInSeconds: number | null };

const PENDING = new Set(['queued', 'deferred']);

export function retryDelaySeconds(attemptsMade: number, config: ForwardConfig): number {
  const exponent = Math.max(0, attemptsMade - 1);
  return Math.min(config.retryBaseSeconds * 2 ** Math.min(exponent, 30), config.retryMaxDelaySeconds);
}

export async function forwardMessage(job: ForwardJob, deps: ForwardDeps): Promise<ForwardOutcome> {
  const now = deps.clock.now();
  const record = await deps.index.getMessage(job.sesMessageId, now);
  if (!record) return { status: 'gone' };

  const gate = `relay#${job.sesMessageId}#${job.attempt}`;
  const lease = await deps.index.acquireOnce(gate, deps.workerId, now, deps.config.leaseMs);
  if (lease === 'done') return { status: 'duplicate' };
  if (lease === 'busy') throw new LeaseBusyError(gate);

  try {
    const outcome = await relayPending(job, record, deps);
    await deps.index.completeOnce(gate, deps.workerId);
    return outcome;
  } catch (error) {
    await deps.index.releaseOnce(gate, deps.workerId);
    throw error;
  }
}

async function relayPending(job: ForwardJob, record: MessageRecord, deps: ForwardDeps): Promise<ForwardOutcome> {
  const now = deps.clock.now();
  const states = await deps.index.getDeliveryStates(record.sesMessageId, now);
  const pending = pendingRecipients(record, states);
  if (pending.length === 0) return { status: 'duplicate' };

  if (record.loopDetected) {
    const reason = `mail loop: the message already carries the forward stamp of stack ${deps.config.stackId}`;
    await failAll(record, pending, reason, deps);
    return { status: 'loop', failed: pending };
  }

  const ageMs = now.getTime() - Date.parse(record.receivedAt);
  if (ageMs >= deps.config.maxAgeMs) {
    await failAll(record, pending, expiryReason(deps.config), deps);
    return { status: 'expired', failed: pending };
  }

  const replies = await deps.relay.relay(
    { from: record.envelopeFrom, recipients: pending },
    () => withStamp(record, deps),
  );
  const attemptedAt = deps.clock.now().toISOString();
  const delivered: string[] = [];
  const failed: string[] = [];
  const deferred: string[] = [];
  for (const recipient of pending) {
    const reply = replyFor(recipient, replies);
    const outcome = classify(reply.code);
    const attempt: DeliveryAttempt = { at: attemptedAt, code: reply.code, response: reply.response, outcome };
    const reason = outcome === 'failed' ? `permanent failure: ${reply.response}` : null;
    await deps.index.recordDeliveryAttempt(record.sesMessageId, recipient, attempt, outcome, reason);
    ({ delivered, failed, deferred })[outcome].push(recipient);
  }

  if (deferred.length === 0) return { status: 'attempted', delivered, failed, deferred, retryInSeconds: null };

  const attemptsMade = job.attempt + 1;
  const remainingSeconds = Math.ceil((Date.parse(record.receivedAt) + deps.config.maxAgeMs - deps.clock.now().getTime()) / 1000);
  const delay = Math.max(0, Math.min(retryDelaySeconds(attemptsMade, deps.config), remainingSeconds));
  await deps.forwardQueue.enqueue({ sesMessageId: record.sesMessageId, receivedAt: record.receivedAt, attempt: attemptsMade }, delay);
  return { status: 'attempted', delivered, failed, deferred, retryInSeconds: delay };
}

function pendingRecipients(record: MessageRecord, states: DeliveryState[]): string[] {
  const stateOf = new Map(states.map((state) => [normalizeAddress(state.recipient), state.state]));
  // A recipient without a state row (written late, or lost) is still owed a delivery.
  return record.envelopeRecipients.filter((recipient) => PENDING.has(stateOf.get(normalizeAddress(recipient)) ?? 'queued'));
}

export function replyFor(recipient: string, replies: RecipientReply[]): RecipientReply {
  const key = normalizeAddress(recipient);
  return (
    replies.find((reply) => normalizeAddress(reply.recipient) === key) ?? {
      recipient,
      code: 0,
      response: 'no answer from the primary for this recipient',
    }
  );
}

/**
 * 5xx is final for the recipient — except replies that say the primary refuses *us*
 * (authentication required or failed): that is a relay misconfiguration an admin will
 * fix, not a verdict on the message, so it is retried like a 4xx.
 */
const SESSION_REFUSALS = new Set([530, 534, 535, 538]);

export function classify(code: number): DeliveryAttempt['outcome'] {
  if (code >= 200 && code < 300) return 'delivered';
  if (code >= 500 && code < 600 && !SESSION_REFUSALS.has(code)) return 'failed';
  return 'deferred';
}

function expiryReason(config: ForwardConfig): string {
  const days = Math.round((config.maxAgeMs / 86_400_000) * 100) / 100;
  return `expired: not accepted by the primary within the maximum age of ${days} days`;
}

async function failAll(record: MessageRecord, recipients: string[], reason: string, deps: ForwardDeps): Promise<void> {
  const at = deps.clock.now().toISOString();
  for (const recipient of recipients) {
    const attempt: DeliveryAttempt = { at, code: 0, response: reason, outcome: 'failed' };
    await deps.index.recordDeliveryAttempt(record.sesMessageId, recipient, attempt, 'failed', reason);
  }
}

/** The stored bytes with the forward's trace header in front (see withHeaderLines). */
async function withStamp(record: MessageRecord, deps: ForwardDeps): Promise<Readable> {
  const body = await deps.rawStore.open(record.raw);
  return withHeaderLines(body, forwardStampLine(deps.config.stackId, record.sesMessageId, deps.clock.now()));
}
