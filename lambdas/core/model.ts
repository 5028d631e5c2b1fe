// The domain vocabulary shared by every use case: what a received message is,
// what we index per mailbox, and what we record per recipient delivery.

/** Verdict values as SES reports them. */
export type VerdictStatus = 'PASS' | 'FAIL' | 'GRAY' | 'PROCESSING_FAILED' | 'DISABLED';

export interface Verdicts {
  spam: VerdictStatus;
  virus: VerdictStatus;
  spf: VerdictStatus;
  dkim: VerdictStatus;
  dmarc: VerdictStatus;
}

/**
 * Why the webmail warns about a received message (core/authentication.ts): SPF, DKIM or DMARC
 * failed, or its From names one of our domains without having passed DMARC as ours.
 */
export type AuthenticationWarning = 'spf' | 'dkim' | 'dmarc' | 'own-domain';

/** Where the raw bytes of a message live (S3 bucket + key, or the local store). */
export interface RawLocation {
  bucket: string;
  key: string;
}

/** A header as SES lists it in the notification (`mail.headers`). */
export interface HeaderField {
  name: string;
  value: string;
}

/** What the SES receipt notification tells us about one received message. */
export interface ReceivedMail {
  /** SES message id: the unique key of the message everywhere. */
  sesMessageId: string;
  /** Receipt time, ISO 8601. */
  receivedAt: string;
  /** Envelope MAIL FROM (`mail.source`); empty string for the null sender. */
  envelopeFrom: string;
  /** Envelope RCPT TO (`receipt.recipients`), the only place BCC recipients appear. */
  envelopeRecipients: string[];
  verdicts: Verdicts;
  raw: RawLocation;
  /** Headers SES parsed; may be truncated. Used when our own parse fails. */
  headers: HeaderField[];
  headersTruncated: boolean;
  commonHeaders: CommonHeaders;
}

/** The few headers SES summarizes as `commonHeaders` (and local mode the same way); a type, so that it fits SES's open record. */
export type CommonHeaders = {
  from?: string[];
  to?: string[];
  cc?: string[];
  subject?: string;
  date?: string;
  messageId?: string;
};

export interface AttachmentInfo {
  filename: string | null;
  contentType: string;
  size: number;
  contentId: string | null;
  inline: boolean;
}

/** The headers a message is listed, shown and answered by: ingest's summary and the webmail's rendering. */
export interface MessageHeaders {
  /** Header mailboxes formatted as SES does: `Name <a@b>` or `a@b`. */
  from: string[];
  to: string[];
  cc: string[];
  replyTo: string[];
  subject: string;
  /** Date header as ISO, or null when absent or unparseable. */
  date: string | null;
  messageIdHeader: string | null;
  inReplyTo: string | null;
  references: string[];
}

/** What ingest extracts from the raw message: headers and a snippet, never bodies. */
export interface MessageSummary extends MessageHeaders {
  snippet: string;
  hasHtml: boolean;
  attachments: AttachmentInfo[];
  /** Values of every X-Shadowmail-Forwarded header (mail-loop detection). */
  forwardStamps: string[];
  /** Why the parse was incomplete, if it was. */
  parseError: string | null;
}

export type MessageVisibility = 'normal' | 'quarantined';

/** The per-message record: envelope, verdicts, summary. One per SES message. */
export interface MessageRecord {
  sesMessageId: string;
  receivedAt: string;
  /** TTL, epoch seconds. Reads must filter on it: the store deletes late. */
  expiresAt: number;
  envelopeFrom: string;
  envelopeRecipients: string[];
  verdicts: Verdicts;
  visibility: MessageVisibility;
  spamFlagged: boolean;
  /** Absent on what was not received (Sent copies) and on records older than the check. */
  authWarnings?: AuthenticationWarning[];
  raw: RawLocation;
  size: number;
  summary: MessageSummary;
  /** Set when the message carries this stack's forward stamp: it is never relayed. */
  loopDetected: boolean;
}

/** One message as it appears in one mailbox. */
export interface MailboxEntry {
  mailbox: string;
  sesMessageId: string;
  receivedAt: string;
  expiresAt: number;
  /** The envelope recipients that resolved to this mailbox (aliases included). */
  recipients: string[];
  folder: 'inbox' | 'sent' | 'deleted';
  read: boolean;
  visibility: MessageVisibility;
  spamFlagged: boolean;
  /** The message's authentication warnings, repeated so the folder list can mark it. */
  authWarnings?: AuthenticationWarning[];
  size: number;
  from: string[];
  to: string[];
  cc: string[];
  subject: string;
  date: string | null;
  snippet: string;
  attachments: AttachmentInfo[];
}

/** What a mailbox entry repeats of the message's summary, so a folder page reads the entries alone. */
export function entrySummaryOf(
  summary: MessageSummary,
): Pick<MailboxEntry, 'from' | 'to' | 'cc' | 'subject' | 'date' | 'snippet' | 'attachments'> {
  const { from, to, cc, subject, date, snippet, attachments } = summary;
  return { from, to, cc, subject, date, snippet, attachments };
}

export type DeliveryStateName = 'queued' | 'delivered' | 'deferred' | 'failed';

/**
 * The primary refused *us*, not the message: TLS could not be set up as configured
 * (`tls`: certificate not trusted or not for the smart-host name, STARTTLS required but
 * not offered or refused) or the login was required or refused (`auth`: 530, 534, 535,
 * 538). Retrying with the same settings cannot help, yet the message is kept and retried
 * (never failed for good) until an admin fixes the smart host, secret or connector.
 */
export type ConfigurationFault = 'tls' | 'auth';

export interface DeliveryAttempt {
  at: string;
  /** SMTP reply code, or 0 when no reply was received (connection failure). */
  code: number;
  response: string;
  outcome: 'delivered' | 'deferred' | 'failed';
  /** Set when this attempt failed on the smart-host settings (absent otherwise). */
  configurationFault?: ConfigurationFault;
  /**
   * `report`: a line about the sender's non-delivery report (core/report-non-delivery.ts),
   * not an attempt at the primary. Trace shows it; the last reply and the console's view of
   * Exchange leave it out. Absent on every real attempt.
   */
  kind?: 'report';
}

export interface DeliveryState {
  sesMessageId: string;
  recipient: string;
  state: DeliveryStateName;
  receivedAt: string;
  expiresAt: number;
  attempts: DeliveryAttempt[];
  attemptCount: number;
  lastReply: string | null;
  updatedAt: string;
  /** Why it is failed for good (5xx, expired, mail loop). */
  reason: string | null;
  /**
   * The part of the message whose job relays this recipient: the notification that created
   * the state (core/forward-part.ts). Absent on states created before parts: the whole message.
   */
  part?: string;
}

/** The job on the forward queue. */
export interface ForwardJob {
  sesMessageId: string;
  /** When the message was received: the forward maximum age counts from here. */
  receivedAt: string;
  /** How many delivery attempts have been made so far (for backoff). */
  attempt: number;
  /**
   * The recipients this job relays: those one receipt rule's notification created the delivery
   * state of (core/forward-part.ts). Absent in jobs queued before messages had parts: they
   * relay every recipient of the record.
   */
  recipients?: string[];
}

export const FORWARD_STAMP_HEADER = 'X-Shadowmail-Forwarded';

// The directory (core/directory.ts syncs it; ports/directory.ts stores and reads it).

export type DirectoryUserKind = 'user' | 'shared';

export interface DirectoryUser {
  /** Stable across renames: AD's objectGUID as hex, or the CSV's id / mailbox. */
  id: string;
  /** Primary SMTP address in comparison form; the mailbox mail is filed under. */
  mailbox: string;
  displayName: string;
  /** Further addresses of the same mailbox, comparison form, sorted, without the primary. */
  aliases: string[];
  /** `shared`: a shared mailbox (AD msExchRecipientTypeDetails = 4); nobody signs in as it. */
  kind: DirectoryUserKind;
  /** Account disabled in AD: mail still flows, sign-in is refused. */
  disabled: boolean;
  /** Member (directly or through nested groups) of the configured admin group. */
  admin: boolean;
  /**
   * Mobile number in E.164 form (+4917012345678) from AD's `mobile` (or the configured
   * attribute / CSV column): where a break-glass sign-in code and failover notices go.
   * Absent: no number, or one that could not be read (the sync warns).
   */
  mobile?: string;
  /** A private address outside the company's domains (comparison form), for notices; absent when unknown. */
  privateEmail?: string;
}

export interface AddressAssignment {
  address: string;
  mailbox: string;
}
