// Use case: relay one stored message unchanged to the primary, per recipient:
// 2xx delivered, 5xx failed for good, 4xx, no answer or a configuration fault (the
// primary refuses *us*: login, TLS) retried with growing backoff until the maximum age.
// Every attempt is recorded for the admin's trace, a configuration fault marked as such.
import type { Readable } from 'node:stream';
import type { Clock } from '../ports/clock.ts';
import type { DeliveryLog } from '../ports/delivery-log.ts';
import type { ForwardQueue } from '../ports/forward-queue.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type { OnceGate } from '../ports/once-gate.ts';
import type { PendingRecipients } from '../ports/pending-recipients.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import type { RecipientReply, SmtpRelay } from '../ports/smtp-relay.ts';
import { normalizeAddress } from './addresses.ts';
import { configurationFaultOf, expiredAfterConfigurationFault } from './configuration-fault.ts';
import { LeaseBusyError } from './errors.ts';
import { pendingCountKey, recipientsOfPart, relayGate } from './forward-part.ts';
import { forwardStampLine, withHeaderLines } from './forward-stamp.ts';
import type { ConfigurationFault, DeliveryAttempt, DeliveryState, ForwardJob, MessageRecord } from './model.ts';
import { runOnce } from './once.ts';

export interface ForwardConfig {
  stackId: string;
  /** After this long since receipt, deferred recipients fail for good. */
  maxAgeMs: number;
  /** First retry delay; doubles per attempt up to retryMaxDelaySeconds. */
  retryBaseSeconds: number;
  retryMaxDelaySeconds: number;
  /** How long one worker may own a relay before another may take over. */
  leaseMs: number;
  /** The largest message the primary takes (smartHost.maxMessageBytes): larger ones are not relayed. */
  maxMessageBytes?: number;
}

/** How the trace says a message was not relayed for its size; the sender is owed a report (core/report-non-delivery.ts). */
export const TOO_LARGE_PREFIX = 'too large for the primary:';

export interface ForwardDeps {
  index: MessageRecords & DeliveryLog & OnceGate & PendingRecipients;
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
  | { status: 'too-large'; failed: string[] }
  | {
      status: 'attempted';
      delivered: string[];
      failed: string[];
      deferred: string[];
      retryInSeconds: number | null;
      /** The smart host refused *us* on this attempt (see ConfigurationFault); null otherwise. */
      configurationFault: ConfigurationFault | null;
    };

const PENDING = new Set(['queued', 'deferred']);

export function retryDelaySeconds(attemptsMade: number, config: ForwardConfig): number {
  const exponent = Math.max(0, attemptsMade - 1);
  return Math.min(config.retryBaseSeconds * 2 ** Math.min(exponent, 30), config.retryMaxDelaySeconds);
}

export async function forwardMessage(job: ForwardJob, deps: ForwardDeps): Promise<ForwardOutcome> {
  const now = deps.clock.now();
  // The states are read with the record, before the gate: written only by this part's job
  // chain (each attempt before it queues the next) and by a resend, whose race with the relay
  // is the same wherever they are read; recording from a stale state loses nothing (DeliveryLog).
  const [record, states] = await Promise.all([
    deps.index.getMessage(job.sesMessageId, now),
    deps.index.getDeliveryStates(job.sesMessageId, now),
  ]);
  if (!record) return { status: 'gone' };

  const gate = relayGate(job);
  const once = await runOnce(deps.index, { key: gate, owner: deps.workerId, now, leaseMs: deps.config.leaseMs }, () =>
    relayPending(job, record, states, deps),
  );
  if (once.status === 'done') return { status: 'duplicate' };
  if (once.status === 'busy') throw new LeaseBusyError(gate);
  return once.value;
}

async function relayPending(job: ForwardJob, record: MessageRecord, states: DeliveryState[], deps: ForwardDeps): Promise<ForwardOutcome> {
  const now = deps.clock.now();
  // Only the job's part: another receipt rule's recipients have their own job (forward-part.ts).
  const pending = pendingRecipients(recipientsOfPart(job, record.envelopeRecipients), states);
  if (pending.length === 0) {
    // A worker that died after its last attempt but before counting it: nothing waits any more.
    await deps.index.setPendingRecipients(pendingCountKey(job), 0, record.expiresAt);
    return { status: 'duplicate' };
  }

  if (record.loopDetected) {
    const reason = `mail loop: the message already carries the forward stamp of stack ${deps.config.stackId}`;
    await failAll(job, record, pending, states, reason, deps);
    return { status: 'loop', failed: pending };
  }

  // The primary would refuse it with 552 on every attempt; it stays kept and visible in the webmail.
  const limit = deps.config.maxMessageBytes;
  if (limit !== undefined && record.size > limit) {
    await failAll(
      job,
      record,
      pending,
      states,
      `${TOO_LARGE_PREFIX} ${record.size} bytes, the primary takes at most ${limit} (smartHost.maxMessageBytes)`,
      deps,
    );
    return { status: 'too-large', failed: pending };
  }

  const ageMs = now.getTime() - Date.parse(record.receivedAt);
  if (ageMs >= deps.config.maxAgeMs) {
    await failAll(job, record, pending, states, (recipient) => expiryReason(deps.config, lastConfigurationFault(recipient, states)), deps);
    return { status: 'expired', failed: pending };
  }

  const replies = await deps.relay.relay({ from: record.envelopeFrom, recipients: pending }, () => withStamp(record, deps));
  const attemptedAt = deps.clock.now().toISOString();
  const delivered: string[] = [];
  const failed: string[] = [];
  const deferred: string[] = [];
  let configurationFault: ConfigurationFault | null = null;
  const attempts = pending.map((recipient) => {
    const reply = replyFor(recipient, replies);
    const attempt = attemptOf(reply, attemptedAt);
    ({ delivered, failed, deferred })[attempt.outcome].push(recipient);
    configurationFault ??= attempt.configurationFault ?? null;
    return { recipient, attempt, reason: attempt.outcome === 'failed' ? `permanent failure: ${reply.response}` : null };
  });
  // Each recipient's state is its own item: all recorded at once, from the states read above.
  await Promise.all(
    attempts.map(({ recipient, attempt, reason }) =>
      deps.index.recordDeliveryAttempt(record.sesMessageId, recipient, attempt, attempt.outcome, reason, stateOf(recipient, states)),
    ),
  );

  // The console's backlog: how many of this part's recipients still wait (the latest count wins).
  await deps.index.setPendingRecipients(pendingCountKey(job), deferred.length, record.expiresAt);
  if (deferred.length === 0) return { status: 'attempted', delivered, failed, deferred, retryInSeconds: null, configurationFault };

  const attemptsMade = job.attempt + 1;
  const remainingSeconds = Math.ceil((Date.parse(record.receivedAt) + deps.config.maxAgeMs - deps.clock.now().getTime()) / 1000);
  const delay = Math.max(0, Math.min(retryDelaySeconds(attemptsMade, deps.config), remainingSeconds));
  const retry: ForwardJob = { sesMessageId: record.sesMessageId, receivedAt: record.receivedAt, attempt: attemptsMade };
  await deps.forwardQueue.enqueue(job.recipients ? { ...retry, recipients: job.recipients } : retry, delay);
  return { status: 'attempted', delivered, failed, deferred, retryInSeconds: delay, configurationFault };
}

function pendingRecipients(recipients: string[], states: DeliveryState[]): string[] {
  const stateOf = new Map(states.map((state) => [normalizeAddress(state.recipient), state.state]));
  // A recipient without a state row (written late, or lost) is still owed a delivery.
  return recipients.filter((recipient) => PENDING.has(stateOf.get(normalizeAddress(recipient)) ?? 'queued'));
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
 * 2xx delivered; 5xx final for the recipient — except when the relay says the primary
 * refuses *us* (a configuration fault: login required or refused, TLS not as
 * configured): an admin will fix that, it is no verdict on the message, so it is
 * retried like a 4xx or a failed connection.
 */
export function classify(reply: Pick<RecipientReply, 'code' | 'fault'>): DeliveryAttempt['outcome'] {
  if (reply.code >= 200 && reply.code < 300) return 'delivered';
  if (configurationFaultOf(reply)) return 'deferred';
  if (reply.code >= 500 && reply.code < 600) return 'failed';
  return 'deferred';
}

/** The attempt as the trace keeps it: reply, outcome, and the configuration fault if there was one. */
export function attemptOf(reply: RecipientReply, at: string, response = reply.response): DeliveryAttempt {
  const outcome = classify(reply);
  // a 2xx is a delivery whatever else the relay said
  const configurationFault = outcome === 'delivered' ? null : configurationFaultOf(reply);
  return { at, code: reply.code, response, outcome, ...(configurationFault && { configurationFault }) };
}

function stateOf(recipient: string, states: DeliveryState[]): DeliveryState | undefined {
  const key = normalizeAddress(recipient);
  return states.find((state) => normalizeAddress(state.recipient) === key);
}

function lastConfigurationFault(recipient: string, states: DeliveryState[]): ConfigurationFault | null {
  return stateOf(recipient, states)?.attempts.at(-1)?.configurationFault ?? null;
}

function expiryReason(config: ForwardConfig, fault: ConfigurationFault | null): string {
  const days = Math.round((config.maxAgeMs / 86_400_000) * 100) / 100;
  const reason = `expired: not accepted by the primary within the maximum age of ${days} days`;
  return fault ? `${reason}; ${expiredAfterConfigurationFault(fault)}` : reason;
}

async function failAll(
  job: ForwardJob,
  record: MessageRecord,
  recipients: string[],
  states: DeliveryState[],
  reasonFor: string | ((recipient: string) => string),
  deps: ForwardDeps,
): Promise<void> {
  const at = deps.clock.now().toISOString();
  await Promise.all(
    recipients.map((recipient) => {
      const reason = typeof reasonFor === 'string' ? reasonFor : reasonFor(recipient);
      const attempt: DeliveryAttempt = { at, code: 0, response: reason, outcome: 'failed' };
      return deps.index.recordDeliveryAttempt(record.sesMessageId, recipient, attempt, 'failed', reason, stateOf(recipient, states));
    }),
  );
  await deps.index.setPendingRecipients(pendingCountKey(job), 0, record.expiresAt);
}

/** The stored bytes with the forward's trace header in front (see withHeaderLines). */
async function withStamp(record: MessageRecord, deps: ForwardDeps): Promise<Readable> {
  const body = await deps.rawStore.open(record.raw);
  return withHeaderLines(body, forwardStampLine(deps.config.stackId, record.sesMessageId, deps.clock.now()));
}
