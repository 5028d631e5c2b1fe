// Sending a draft: validate, compose, keep the raw copy, send, then index the copy in
// the user's Sent folder.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DEFAULT_SEND_LIMITS, type SendLimits } from '../../contract/send-limits.ts';
import type { Clock } from '../../ports/clock.ts';
import type { MessageIndex } from '../../ports/message-index.ts';
import type { MimeComposer } from '../../ports/mime-composer.ts';
import type { OutboundMailer } from '../../ports/outbound-mailer.ts';
import type { RawMailWriter } from '../../ports/raw-mail-store.ts';
import type { SendCounter } from '../../ports/send-counter.ts';
import type { Identity } from '../../ports/sign-in.ts';
import { domainOf, normalizeAddress } from '../addresses.ts';
import {
  type AttachmentInfo,
  entrySummaryOf,
  type MailboxEntry,
  type MessageRecord,
  type MessageSummary,
  type RawLocation,
} from '../model.ts';
import { expiresAtFor } from '../retention.ts';
import { type AttachmentPart, openAttachments, type StoredAttachmentResolver } from './attachments.ts';
import { type ComposeLimits, DEFAULT_COMPOSE_LIMITS, type Draft, DraftError } from './draft.ts';
import { formatMailbox } from './mailboxes.ts';
import { reserveSend } from './send-limits.ts';
import { validateDraft } from './validation.ts';

export interface SendConfig {
  retentionDays: number;
  /** Where Sent copies' raw bytes go: `<sentBucket>/<sentKeyPrefix><id>`. */
  sentBucket: string;
  sentKeyPrefix?: string;
  /** Right side of generated Message-IDs; default: the domain of the sender's address. */
  messageIdDomain?: string;
  limits?: Partial<ComposeLimits>;
  /** Messages and recipients per hour and day of one sending mailbox (DEFAULT_SEND_LIMITS for what is not given). */
  sendLimits?: Partial<SendLimits>;
}

export interface SendDeps {
  index: Pick<MessageIndex, 'mailboxFor' | 'getMailboxEntry' | 'putMessage' | 'putMailboxEntry'>;
  composer: MimeComposer;
  mailer: OutboundMailer;
  rawWriter: RawMailWriter;
  resolveAttachment: StoredAttachmentResolver;
  /** Counts each mailbox's sends against config.sendLimits. */
  sendCounter: SendCounter;
  clock: Clock;
  /** Id of the Sent copy (default `sent-<uuid>`). */
  newId?: () => string;
  config: SendConfig;
}

export interface SendOutcome {
  /** Id of the copy in the Sent folder (the key of its index items and raw object). */
  sesMessageId: string;
  /** The Message-ID header of what was sent. */
  messageId: string;
  providerMessageId: string;
  mailbox: string;
  /** The envelope: To + Cc + Bcc. */
  recipients: string[];
  /**
   * Null when the Sent copy is indexed. The mail has gone out by then, so an index
   * failure is reported here rather than thrown (throwing would invite a resend).
   */
  sentCopyError: unknown;
}

const SNIPPET_LENGTH = 200;

/**
 * Sends a draft from the user's own address and keeps a copy in their Sent folder.
 * Order: validate → open stored attachments (each must be in the user's mailbox) →
 * compose → count it against the send limits (SendLimitError) → write the raw copy →
 * send → index the copy. A failure before sending sends nothing and gives the count
 * back; an orphaned raw copy expires with the bucket's lifecycle.
 */
export async function sendDraft(identity: Identity, draft: Draft, deps: SendDeps): Promise<SendOutcome> {
  const limits = { ...DEFAULT_COMPOSE_LIMITS, ...deps.config.limits };
  const valid = validateDraft(draft, identity, limits);
  const now = deps.clock.now();
  const mailbox = (await deps.index.mailboxFor(valid.from.address)) ?? normalizeAddress(valid.from.address);

  const domain = deps.config.messageIdDomain ?? domainOf(valid.from.address);
  const messageId = `<${randomUUID()}@${domain}>`;
  const opened: Readable[] = [];
  let raw: Buffer;
  let parts: AttachmentPart[];
  try {
    parts = await openAttachments(valid.attachments, mailbox, now, deps, limits, opened);
    raw = await deps.composer
      .compose({
        from: valid.from,
        to: valid.to,
        cc: valid.cc,
        subject: valid.subject,
        text: valid.text,
        messageId,
        date: now,
        inReplyTo: valid.inReplyTo ?? null,
        references: valid.references ?? [],
        attachments: parts.map((part) => part.attachment),
      })
      .catch((error: unknown) => {
        throw error instanceof DraftError ? error : (findDraftError(error) ?? error);
      });
  } finally {
    for (const stream of opened) if (!stream.destroyed) stream.destroy();
  }
  if (raw.length > limits.maxMessageBytes)
    throw new DraftError('attachments', 'too-large', `the message is larger than ${limits.maxMessageBytes} bytes`);

  const recipients = [...valid.to, ...valid.cc, ...valid.bcc].map((m) => m.address);
  // Counted last before anything leaves, so a draft the user must correct counts nothing.
  const sendLimits = { ...DEFAULT_SEND_LIMITS, ...deps.config.sendLimits };
  const reservation = await reserveSend(deps.sendCounter, mailbox, recipients.length, now, sendLimits);

  const sentId = deps.newId?.() ?? `sent-${randomUUID()}`;
  const location: RawLocation = { bucket: deps.config.sentBucket, key: `${deps.config.sentKeyPrefix ?? ''}${sentId}` };
  const copy = valid.bcc.length > 0 ? Buffer.concat([Buffer.from(deps.composer.bccField(valid.bcc), 'utf8'), raw]) : raw;
  let providerMessageId: string;
  try {
    await deps.rawWriter.put(location, copy);
    ({ providerMessageId } = await deps.mailer.send({ from: valid.from.address, recipients }, raw));
  } catch (error) {
    // The mail server did not take it (SES and SMTP answer only once they have): it does not count.
    await reservation.release().catch(() => undefined);
    throw error;
  }

  let sentCopyError: unknown = null;
  try {
    const receivedAt = now.toISOString();
    const expiresAt = expiresAtFor(receivedAt, deps.config.retentionDays);
    const summary = sentSummary(valid, messageId, receivedAt, parts);
    const record: MessageRecord = {
      sesMessageId: sentId,
      receivedAt,
      expiresAt,
      envelopeFrom: valid.from.address,
      envelopeRecipients: recipients,
      verdicts: { spam: 'DISABLED', virus: 'DISABLED', spf: 'DISABLED', dkim: 'DISABLED', dmarc: 'DISABLED' },
      visibility: 'normal',
      spamFlagged: false,
      raw: location,
      size: copy.length,
      summary,
      loopDetected: false,
    };
    const entry: MailboxEntry = {
      mailbox,
      sesMessageId: sentId,
      receivedAt,
      expiresAt,
      recipients: [valid.from.address.toLowerCase()],
      folder: 'sent',
      read: true,
      visibility: 'normal',
      spamFlagged: false,
      size: copy.length,
      ...entrySummaryOf(summary),
    };
    await deps.index.putMessage(record);
    await deps.index.putMailboxEntry(entry);
  } catch (error) {
    sentCopyError = error;
  }
  return { sesMessageId: sentId, messageId, providerMessageId, mailbox, recipients, sentCopyError };
}

/** The DraftError somewhere in a cause chain (composer libraries wrap stream errors). */
function findDraftError(error: unknown): DraftError | null {
  for (let current = error, depth = 0; current && depth < 10; depth++) {
    if (current instanceof DraftError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

function sentSummary(draft: Draft, messageId: string, date: string, parts: readonly AttachmentPart[]): MessageSummary {
  const attachments: AttachmentInfo[] = parts.map(({ attachment, size }) => ({
    filename: attachment.filename,
    contentType: attachment.contentType,
    size,
    contentId: null,
    inline: false,
  }));
  return {
    from: [formatMailbox(draft.from)],
    to: draft.to.map(formatMailbox),
    cc: draft.cc.map(formatMailbox),
    replyTo: [],
    subject: draft.subject,
    date,
    messageIdHeader: messageId,
    inReplyTo: draft.inReplyTo ?? null,
    references: draft.references ?? [],
    snippet: draft.text.replace(/\s+/g, ' ').trim().slice(0, SNIPPET_LENGTH),
    hasHtml: false,
    attachments,
    forwardStamps: [],
    parseError: null,
  };
}
