// Use case: a message SES received is indexed per mailbox and queued for the primary.
// Unparseable mail is indexed from what SES knows and still forwarded: never lost.

import type { AddressMap } from '../ports/address-map.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeliveryLog } from '../ports/delivery-log.ts';
import type { ForwardQueue } from '../ports/forward-queue.ts';
import type { MailboxEntries } from '../ports/mailbox-entries.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type { MimeParser } from '../ports/mime-parser.ts';
import type { OnceGate } from '../ports/once-gate.ts';
import type { PendingRecipients } from '../ports/pending-recipients.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import { envelopeRecipient, uniqueRecipients } from './addresses.ts';
import { authenticationWarnings, recipientDomains } from './authentication.ts';
import { LeaseBusyError, MimeParseError } from './errors.ts';
import { enqueueGate, ownedRecipients, partOf, pendingCountKey } from './forward-part.ts';
import { belongsToStack } from './forward-stamp.ts';
import {
  type DeliveryState,
  entrySummaryOf,
  FORWARD_STAMP_HEADER,
  type ForwardJob,
  type MailboxEntry,
  type MessageRecord,
  type MessageSummary,
  type ReceivedMail,
} from './model.ts';
import { runOnce } from './once.ts';
import { expiresAtFor } from './retention.ts';
import { withoutBidiControls } from './text.ts';

export interface IngestConfig {
  retentionDays: number;
  /** Identifies this deployment in the forward stamp, for loop detection. */
  stackId: string;
  /** How long one worker may hold the enqueue gate before another may take over. */
  leaseMs: number;
  /** The subaddress separator (`alice+tag` → `alice`); '' turns the mapping off. */
  subaddressSeparator: string;
  /** The mail domains (lower case), for the own-domain warning; the recipients' domains count anyway. */
  ownDomains?: string[];
}

export interface IngestDeps {
  index: AddressMap & MessageRecords & MailboxEntries & DeliveryLog & OnceGate & PendingRecipients;
  rawStore: RawMailStore;
  parser: MimeParser;
  forwardQueue: ForwardQueue;
  clock: Clock;
  /** Distinguishes concurrent workers (Lambda request id, process id). */
  workerId: string;
  config: IngestConfig;
}

export interface IngestOutcome {
  sesMessageId: string;
  mailboxes: string[];
  parsed: boolean;
  forwardEnqueued: boolean;
}

export async function ingestMessage(mail: ReceivedMail, deps: IngestDeps): Promise<IngestOutcome> {
  const { index, config } = deps;
  const size = await deps.rawStore.size(mail.raw);
  const summary = await summarize(mail, deps);
  const expiresAt = expiresAtFor(mail.receivedAt, config.retentionDays);
  const recipients = uniqueRecipients(mail.envelopeRecipients);
  const quarantined = mail.verdicts.virus === 'FAIL';
  const spamFlagged = mail.verdicts.spam === 'FAIL';
  const authWarnings = authenticationWarnings({
    verdicts: mail.verdicts,
    from: summary.from,
    ownDomains: [...new Set([...(config.ownDomains ?? []), ...recipientDomains(recipients)])],
  });

  const record: MessageRecord = {
    sesMessageId: mail.sesMessageId,
    receivedAt: mail.receivedAt,
    expiresAt,
    envelopeFrom: mail.envelopeFrom,
    envelopeRecipients: recipients,
    verdicts: mail.verdicts,
    visibility: quarantined ? 'quarantined' : 'normal',
    spamFlagged,
    authWarnings,
    raw: mail.raw,
    size,
    summary,
    loopDetected: summary.forwardStamps.some((stamp) => belongsToStack(stamp, config.stackId)),
  };
  // Another receipt rule's notification of this message may have stored it first: then only
  // these recipients are added (ports/message-records.ts), they get their own job below, and
  // what follows is filed as that message (SES times each rule's action: receipt.timestamp).
  // The address map is read meanwhile: nothing below is written before the record is.
  const [stored, byMailbox] = await Promise.all([index.putMessage(record), groupByMailbox(recipients, index, config.subaddressSeparator)]);

  // Entries and states are independent items (each written once, whatever the order): one
  // round trip of time for all of them. All stand before the enqueue gate below.
  const entries = [...byMailbox].map(([mailbox, mailboxRecipients]) => {
    const entry: MailboxEntry = {
      mailbox,
      sesMessageId: mail.sesMessageId,
      receivedAt: stored.receivedAt,
      expiresAt: stored.expiresAt,
      recipients: mailboxRecipients,
      folder: 'inbox',
      read: false,
      visibility: stored.visibility,
      spamFlagged: stored.spamFlagged,
      authWarnings: stored.authWarnings,
      size,
      ...entrySummaryOf(summary),
    };
    return index.putMailboxEntry(entry);
  });

  const now = deps.clock.now().toISOString();
  const part = partOf(recipients);
  const states = recipients.map((recipient) => {
    const state: DeliveryState = {
      sesMessageId: mail.sesMessageId,
      recipient,
      state: 'queued',
      receivedAt: stored.receivedAt,
      expiresAt: stored.expiresAt,
      attempts: [],
      attemptCount: 0,
      lastReply: null,
      updatedAt: now,
      reason: null,
      part,
    };
    return index.createDeliveryState(state);
  });
  const [created] = await Promise.all([Promise.all(states), Promise.all(entries)]);
  // A recipient another rule's notification created first is relayed by that one's job; when
  // this call created every state, all are this part's and there is nothing to read back.
  const owned = created.every(Boolean)
    ? recipients
    : ownedRecipients(part, recipients, await index.getDeliveryStates(mail.sesMessageId, deps.clock.now()));

  const forwardEnqueued = owned.length > 0 && (await enqueueForwardOnce(stored, recipients, owned, deps));
  return {
    sesMessageId: mail.sesMessageId,
    mailboxes: [...byMailbox.keys()],
    parsed: summary.parseError === null,
    forwardEnqueued,
  };
}

async function summarize(mail: ReceivedMail, deps: IngestDeps): Promise<MessageSummary> {
  try {
    return await deps.parser.summarize(await deps.rawStore.open(mail.raw));
  } catch (error) {
    if (!(error instanceof MimeParseError)) throw error;
    return summaryFromNotification(mail, error.message);
  }
}

/** What SES parsed for us: enough to index and forward a message our parser refused. */
export function summaryFromNotification(mail: ReceivedMail, parseError: string): MessageSummary {
  const common = mail.commonHeaders;
  const parsedDate = common.date ? Date.parse(common.date) : NaN;
  // Shown in the list as the parser's would be: no bidi control may reorder them.
  const shown = (values: string[] | undefined) => (values ?? []).map(withoutBidiControls);
  return {
    from: shown(common.from),
    to: shown(common.to),
    cc: shown(common.cc),
    replyTo: [],
    subject: withoutBidiControls(common.subject ?? ''),
    date: Number.isNaN(parsedDate) ? null : new Date(parsedDate).toISOString(),
    messageIdHeader: common.messageId ?? null,
    inReplyTo: null,
    references: [],
    snippet: '',
    hasHtml: false,
    attachments: [],
    forwardStamps: mail.headers
      .filter((header) => header.name.toLowerCase() === FORWARD_STAMP_HEADER.toLowerCase())
      .map((header) => header.value),
    parseError,
  };
}

/** Recipients by mailbox, in the recipients' order; the recipients are looked up at once. */
async function groupByMailbox(recipients: string[], index: AddressMap, separator: string): Promise<Map<string, string[]>> {
  const normals = recipients.map((recipient) => envelopeRecipient(recipient, separator));
  const mailboxes = await Promise.all(normals.map(async (normal) => (await firstMapped(normal.lookups, index)) ?? normal.fallback));
  const byMailbox = new Map<string, string[]>();
  for (const [position, normal] of normals.entries()) {
    const mailbox = mailboxes[position]!;
    const list = byMailbox.get(mailbox) ?? [];
    list.push(normal.address);
    byMailbox.set(mailbox, list);
  }
  return byMailbox;
}

async function firstMapped(addresses: string[], index: AddressMap): Promise<string | null> {
  for (const address of addresses) {
    const mailbox = await index.mailboxFor(address);
    if (mailbox !== null) return mailbox;
  }
  return null;
}

/**
 * Exactly one forward job per notification, even when SQS delivers it twice or to two
 * workers at once: a gate in the index decides who enqueues. The job relays the
 * recipients this notification owns; a message several receipt rules delivered has one
 * notification, and one job, per rule (core/forward-part.ts).
 */
async function enqueueForwardOnce(message: MessageRecord, recipients: string[], owned: string[], deps: IngestDeps): Promise<boolean> {
  const job: ForwardJob = { sesMessageId: message.sesMessageId, receivedAt: message.receivedAt, attempt: 0, recipients: owned };
  const gate = enqueueGate(message.sesMessageId, recipients);
  const once = await runOnce(
    deps.index,
    { key: gate, owner: deps.workerId, now: deps.clock.now(), leaseMs: deps.config.leaseMs },
    async () => {
      // Before the job exists, so the forward's own count always comes later and wins.
      await deps.index.setPendingRecipients(pendingCountKey(job), owned.length, message.expiresAt);
      await deps.forwardQueue.enqueue(job, 0);
    },
  );
  if (once.status === 'busy') throw new LeaseBusyError(gate);
  return once.status === 'ran';
}
