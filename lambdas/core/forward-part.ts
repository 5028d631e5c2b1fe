// One message, several receipt rules (design.md §12.20). SES runs the actions of every rule
// that matches at least one recipient, and each rule's notification lists only "the
// recipients (specifically, the envelope RCPT TO addresses) that were matched by the active
// receipt rule" (https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html,
// https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html). So each
// notification is a part of the message with its own forward job for the recipients it owns:
// those whose delivery state it created (created once, so rules that overlap give each
// recipient one owner, the same on every redelivery). The once-gates and the pending count
// are per part, named by recipient sets, so two parts never relay each other's recipients.
import { createHash } from 'node:crypto';
import { normalizeAddress } from './addresses.ts';
import type { DeliveryState, ForwardJob } from './model.ts';

/** Names a recipient set: the same addresses in any order or spelling give the same name. */
export function partOf(recipients: readonly string[]): string {
  const canonical = [...new Set(recipients.map(normalizeAddress))].sort().join('\n');
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 16);
}

/**
 * Of a notification's recipients (its part), those whose delivery state it created. A state
 * created before parts has no owner: every part that lists it takes it (a notification
 * redelivered across the upgrade whose job was never queued), a duplicate rather than a loss.
 */
export function ownedRecipients(part: string, recipients: readonly string[], states: readonly DeliveryState[]): string[] {
  const owners = new Map(states.map((state) => [normalizeAddress(state.recipient), state.part]));
  return recipients.filter((recipient) => {
    const key = normalizeAddress(recipient);
    return !owners.has(key) || owners.get(key) === undefined || owners.get(key) === part;
  });
}

/** The once-gate that queues the forward job of a notification's recipients. */
export function enqueueGate(sesMessageId: string, recipients: readonly string[]): string {
  return `enqueue#${sesMessageId}#${partOf(recipients)}`;
}

/** The once-gate of one relay attempt of the job's part (jobs queued before parts: the whole message). */
export function relayGate(job: ForwardJob): string {
  return job.recipients ? `relay#${job.sesMessageId}#${partOf(job.recipients)}#${job.attempt}` : `relay#${job.sesMessageId}#${job.attempt}`;
}

/** Under which name the pending-recipient count of the job's part is kept (the console sums them all). */
export function pendingCountKey(job: Pick<ForwardJob, 'sesMessageId' | 'recipients'>): string {
  return job.recipients ? `${job.sesMessageId}#${partOf(job.recipients)}` : job.sesMessageId;
}

/** The recipients of the record the job relays, in the record's order. */
export function recipientsOfPart(job: ForwardJob, envelopeRecipients: readonly string[]): string[] {
  if (!job.recipients) return [...envelopeRecipients];
  const part = new Set(job.recipients.map(normalizeAddress));
  return envelopeRecipients.filter((recipient) => part.has(normalizeAddress(recipient)));
}
