// `shadowmail probe`: the test message and how it is followed through the pipeline
// with the trace use case (lambdas/core/trace.ts): sent, received by SES, indexed,
// relayed, Exchange's 250 — each with its time relative to the send — until every step
// happened, the primary refused for good, or the time is up.
//
// The message is found by its recipient and a unique token in the subject, not by its
// Message-ID: SES sending replaces a Message-ID it is given with its own (SES developer
// guide, "Amazon SES header fields", https://docs.aws.amazon.com/ses/latest/dg/header-fields.html),
// so the header would not survive the SES route.
import { randomUUID } from 'node:crypto';
import { normalizeAddress } from '../../../lambdas/core/addresses.ts';
import { searchTrace, type TracedMessage } from '../../../lambdas/core/trace.ts';
import type { Clock } from '../../../lambdas/ports/clock.ts';
import type { DeliveryLog } from '../../../lambdas/ports/delivery-log.ts';
import type { MessageRecords } from '../../../lambdas/ports/message-records.ts';
import type { MessageSearch } from '../../../lambdas/ports/message-search.ts';

export type ProbeStepKey = 'sent' | 'received' | 'indexed' | 'relayed' | 'delivered';

export interface ProbeLabels {
  received: string;
  delivered: string;
}

export const AWS_LABELS: ProbeLabels = { received: 'received by SES', delivered: "Exchange's 250" };
export const LOCAL_LABELS: ProbeLabels = { received: 'received by local mode', delivered: "the primary's 250" };

export interface TimelineStep {
  key: ProbeStepKey;
  label: string;
  /** Milliseconds after the send; null when the step did not happen. */
  atMs: number | null;
  detail: string;
}

export interface ProbeMessage {
  token: string;
  subject: string;
  messageId: string;
  raw: Buffer;
}

/** A plain test message with a unique token in its subject and Message-ID. */
export function probeMessage(from: string, to: string, now: Date): ProbeMessage {
  const token = randomUUID().replace(/-/g, '').slice(0, 12);
  const subject = `shadowmail probe ${token}`;
  const messageId = `<shadowmail-probe.${token}@${from.slice(from.lastIndexOf('@') + 1)}>`;
  const raw = [
    `From: shadowmail probe <${from}>`,
    `To: <${to}>`,
    `Subject: ${subject}`,
    `Date: ${now.toUTCString()}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    `X-Shadowmail-Probe: ${token}`,
    '',
    `This is a test message of shadowmail probe, sent at ${now.toISOString()}`,
    'to check that mail reaches this mailbox through shadowmail. You may delete it.',
    '',
  ].join('\r\n');
  return { token, subject, messageId, raw: Buffer.from(raw, 'ascii') };
}

export interface FollowInput {
  recipient: string;
  token: string;
  sentAt: Date;
  /** Steps already known from the send (sent; received when the SES endpoint or local mode answered 250). */
  known: TimelineStep[];
  labels: ProbeLabels;
  deadline: Date;
}

export interface FollowDeps {
  /** What searchTrace reads. */
  index: MessageRecords & DeliveryLog & MessageSearch;
  clock: Clock;
  sleep(ms: number): Promise<void>;
  pollMs: number;
}

export interface FollowResult {
  steps: TimelineStep[];
  /** The first step that did not happen, or null when every one did. */
  failedAt: ProbeStepKey | null;
  /** The primary's last answer, when it refused or deferred. */
  lastReply: string | null;
  /** The primary refused for good (5xx or expired). */
  refused: boolean;
}

const ORDER: ProbeStepKey[] = ['sent', 'received', 'indexed', 'relayed', 'delivered'];

function timeline(labels: ProbeLabels, seen: Map<ProbeStepKey, TimelineStep>): TimelineStep[] {
  const names: Record<ProbeStepKey, string> = {
    sent: 'sent',
    received: labels.received,
    indexed: 'indexed',
    relayed: 'relayed',
    delivered: labels.delivered,
  };
  return ORDER.map((key) => seen.get(key) ?? { key, label: names[key], atMs: null, detail: 'not seen' });
}

/** The message could not be sent: no step happened. */
export function notSent(labels: ProbeLabels): FollowResult {
  return { steps: timeline(labels, new Map()), failedAt: 'sent', lastReply: null, refused: false };
}

/** Polls the table until the message is delivered, refused for good, or the deadline passes. */
export async function followProbe(input: FollowInput, deps: FollowDeps): Promise<FollowResult> {
  const seen = new Map<ProbeStepKey, TimelineStep>(input.known.map((step) => [step.key, step]));
  const recipient = normalizeAddress(input.recipient);
  const since = new Date(input.sentAt.getTime() - 10 * 60_000); // SES's clock and ours may differ
  const after = (iso: string): number => Date.parse(iso) - input.sentAt.getTime();
  let lastReply: string | null = null;
  let refused = false;
  for (;;) {
    const page = await searchTrace({ recipient, subject: input.token, since, limit: 10 }, { index: deps.index, clock: deps.clock });
    const traced: TracedMessage | undefined = page.messages[0];
    if (traced) {
      const { message } = traced;
      if (!seen.has('received'))
        seen.set('received', {
          key: 'received',
          label: input.labels.received,
          atMs: after(message.receivedAt),
          detail: `at ${message.receivedAt}, SES message id ${message.sesMessageId}`,
        });
      // The table records no indexing time: the first poll that sees the message bounds it, and so does
      // the first relay attempt (the forward starts only after indexing).
      if (!seen.has('indexed'))
        seen.set('indexed', {
          key: 'indexed',
          label: 'indexed',
          atMs: deps.clock.now().getTime() - input.sentAt.getTime(),
          detail: `in the message table by then (id ${message.sesMessageId})`,
        });
      const delivery = traced.deliveries.find((state) => normalizeAddress(state.recipient) === recipient);
      const first = delivery?.attempts[0];
      if (delivery && first && !seen.has('relayed')) {
        const relayedAt = after(first.at);
        seen.set('relayed', { key: 'relayed', label: 'relayed', atMs: relayedAt, detail: `first attempt at ${first.at}` });
        const indexed = seen.get('indexed')!;
        if (relayedAt < indexed.atMs!)
          seen.set('indexed', { ...indexed, atMs: Math.max(relayedAt, seen.get('received')?.atMs ?? relayedAt) });
      }
      if (delivery) lastReply = delivery.lastReply;
      const delivered = delivery?.attempts.find((attempt) => attempt.outcome === 'delivered');
      if (delivered) {
        seen.set('delivered', {
          key: 'delivered',
          label: input.labels.delivered,
          atMs: after(delivered.at),
          detail: delivered.response || String(delivered.code),
        });
        break;
      }
      if (delivery?.state === 'failed') {
        refused = true;
        lastReply = delivery.reason ?? delivery.lastReply;
        break;
      }
    }
    if (deps.clock.now().getTime() >= input.deadline.getTime()) break;
    await deps.sleep(Math.min(deps.pollMs, Math.max(0, input.deadline.getTime() - deps.clock.now().getTime())));
  }
  const steps = timeline(input.labels, seen);
  return { steps, failedAt: steps.find((step) => step.atMs === null)?.key ?? null, lastReply, refused };
}
