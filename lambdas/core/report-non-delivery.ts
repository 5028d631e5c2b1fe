// Use case: tell the sender when a recipient failed for good after we accepted the message
// — the primary refused it (5xx), or it is larger than the primary takes. One report per
// message and recipient (the once-gate), only to a plausibly real sender
// (core/non-delivery-policy.ts), at most so many per sender domain and hour. Whether a
// report was sent or withheld, and why, is added to the recipient's trace.
import type { Readable } from 'node:stream';
import type { Clock } from '../ports/clock.ts';
import type { DeliveryLog } from '../ports/delivery-log.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type { NonDeliverySender } from '../ports/non-delivery-sender.ts';
import type { OnceGate } from '../ports/once-gate.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import type { SendCounter } from '../ports/send-counter.ts';
import { domainOf } from './addresses.ts';
import { TOO_LARGE_PREFIX } from './forward.ts';
import type { DeliveryAttempt, DeliveryState, MessageRecord } from './model.ts';
import { NON_DELIVERY_REPORTS_PER_DOMAIN_HOUR, nonDeliveryDecision } from './non-delivery-policy.ts';
import { type FailedRecipient, statusOfReply } from './non-delivery-report.ts';
import { runOnce } from './once.ts';

/** How a report's outcome reads in the recipient's trace. */
const REPORT_NOTE = 'non-delivery report ';
export const REPORT_SENT = `${REPORT_NOTE}sent to`;
export const REPORT_WITHHELD = `${REPORT_NOTE}withheld:`;
/** Written before the report is handed over: found without an outcome after it, the sender died mid-send. */
export const REPORT_SENDING = `${REPORT_NOTE}sending to`;
export const REPORT_NOT_SENT = `${REPORT_NOTE}not sent:`;

const HEADER_LIMIT_BYTES = 64 * 1024;

export interface NonDeliveryDeps {
  index: MessageRecords & DeliveryLog & OnceGate;
  rawStore: RawMailStore;
  sender: NonDeliverySender;
  counter: SendCounter;
  clock: Clock;
  workerId: string;
  config: {
    /** Our MTA's host name in the report (Reporting-MTA). */
    reportingMta: string;
    leaseMs: number;
    perDomainPerHour?: number;
  };
}

export type ReportOutcome = { recipient: string; sent: true } | { recipient: string; sent: false; reason: string };

/** Reports every recipient of the message that failed for good and was not reported yet. */
export async function reportNonDeliveries(sesMessageId: string, deps: NonDeliveryDeps): Promise<ReportOutcome[]> {
  const now = deps.clock.now();
  // The states first: every forward asks, and most messages owe no report, so the record
  // (a read of its own, one more read unit in DynamoDB) is read only when one is owed.
  const owed = (await deps.index.getDeliveryStates(sesMessageId, now)).flatMap((state) => {
    const failure = reportableFailure(state);
    return failure ? [{ state, failure }] : [];
  });
  if (owed.length === 0) return [];
  const record = await deps.index.getMessage(sesMessageId, now);
  if (!record) return [];
  const outcomes: ReportOutcome[] = [];
  for (const { state, failure } of owed) {
    const key = `dsn#${sesMessageId}#${state.recipient.toLowerCase()}`;
    const inDoubt = lastReportNote(state)?.startsWith(REPORT_SENDING) ?? false;
    const once = await runOnce(deps.index, { key, owner: deps.workerId, now, leaseMs: deps.config.leaseMs }, () =>
      reportOne(record, failure, inDoubt, deps),
    );
    if (once.status === 'ran') outcomes.push(once.value);
  }
  return outcomes;
}

/** A failure the sender is owed a report for: the primary's 5xx, or too large to relay. */
export function reportableFailure(state: DeliveryState): FailedRecipient | null {
  if (state.state !== 'failed') return null;
  const last = [...state.attempts].reverse().find((attempt) => attempt.outcome === 'failed' && !isReportNote(attempt));
  if (!last) return null;
  if (last.response.startsWith(TOO_LARGE_PREFIX)) {
    return { recipient: state.recipient, status: '5.3.4', diagnostic: null, explanation: last.response };
  }
  if (last.code < 500 || last.code > 599 || last.configurationFault) return null;
  return {
    recipient: state.recipient,
    status: statusOfReply(last.code, last.response),
    diagnostic: last.response,
    explanation: last.response,
  };
}

function isReportNote(attempt: DeliveryAttempt): boolean {
  return attempt.kind === 'report';
}

function lastReportNote(state: DeliveryState): string | undefined {
  return state.attempts.findLast(isReportNote)?.response;
}

async function reportOne(record: MessageRecord, failure: FailedRecipient, inDoubt: boolean, deps: NonDeliveryDeps): Promise<ReportOutcome> {
  const withheld = async (reason: string): Promise<ReportOutcome> => {
    await note(record, failure.recipient, `${REPORT_WITHHELD} ${reason}`, deps);
    return { recipient: failure.recipient, sent: false, reason };
  };
  // At most one report: a worker died after handing it over (the SMTP in-doubt window), so it may be out.
  if (inDoubt) return withheld('in doubt: the last attempt stopped while sending it, and a report is never sent twice');
  const decision = nonDeliveryDecision(record);
  if (!decision.send) return withheld(decision.reason);

  const sender = record.envelopeFrom.trim();
  const senderDomain = domainOf(sender);
  const now = deps.clock.now();
  const window = `NDR#${now.toISOString().slice(0, 13)}`;
  const limit = deps.config.perDomainPerHour ?? NON_DELIVERY_REPORTS_PER_DOMAIN_HOUR;
  const counted = await deps.counter.add(
    // A domain has no @, so the counter never meets a user's own send count.
    {
      mailbox: `non-delivery-reports:${senderDomain}`,
      window,
      maxMessages: limit,
      maxRecipients: limit,
      expiresAt: new Date(now.getTime() + 3_600_000),
    },
    1,
  );
  if (!counted) return withheld(`more than ${limit} reports to ${senderDomain} in this hour`);

  const report = {
    reportingMta: deps.config.reportingMta,
    postmaster: `MAILER-DAEMON@${domainOf(failure.recipient)}`,
    sender,
    sesMessageId: record.sesMessageId,
    arrivalDate: new Date(record.receivedAt),
    originalSubject: record.summary.subject,
    recipients: [failure],
    originalHeaders: await headerBlock(await deps.rawStore.open(record.raw)),
  };
  const giveBack = () => deps.counter.subtract(`non-delivery-reports:${senderDomain}`, window, 1);
  await note(record, failure.recipient, `${REPORT_SENDING} ${sender}`, deps);
  const sent = await deps.sender.send(report).catch(async (error: unknown) => {
    // Not sent: the count is given back, and the gate lets a later attempt try again.
    await note(record, failure.recipient, `${REPORT_NOT_SENT} ${error instanceof Error ? error.message : String(error)}`, deps);
    await giveBack();
    throw error;
  });
  if (!sent.sent) {
    await giveBack();
    return withheld(sent.reason);
  }
  await note(record, failure.recipient, `${REPORT_SENT} ${sender} (${sent.providerMessageId})`, deps);
  return { recipient: failure.recipient, sent: true };
}

async function note(record: MessageRecord, recipient: string, response: string, deps: NonDeliveryDeps): Promise<void> {
  await deps.index.recordExtraAttempt(record.sesMessageId, recipient, {
    at: deps.clock.now().toISOString(),
    code: 0,
    response,
    outcome: 'failed',
    kind: 'report',
  });
}

/** The stored message's header block (without the empty line that ends it), at most 64 KB. */
export async function headerBlock(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      const sofar = Buffer.concat(chunks);
      const end = /\r?\n\r?\n/.exec(sofar.toString('latin1'));
      if (end) return sofar.subarray(0, end.index).toString('utf8');
      if (length >= HEADER_LIMIT_BYTES) break;
    }
  } finally {
    body.destroy();
  }
  const all = Buffer.concat(chunks).subarray(0, HEADER_LIMIT_BYTES).toString('utf8');
  // Cut at the last complete line: a report must not end in half a header.
  return all.slice(0, Math.max(0, all.lastIndexOf('\n'))).replace(/\r$/, '');
}
