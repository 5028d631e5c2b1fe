// What the webmail leaves behind for `shadowmail reconcile`, written through the index's
// ports into any store (memory, local mode's table, DynamoDB behind a proxy): a Sent
// copy (raw bytes under sent/, its record and a Sent entry) and a received message with
// the user's read flag and the forward's delivery state for the mailbox.
import { SENT_PREFIX } from '../../lambdas/contract/raw-mail-bucket.ts';
import type { DeliveryStateName, MailboxEntry, MessageRecord } from '../../lambdas/core/model.ts';
import type { DeliveryLog } from '../../lambdas/ports/delivery-log.ts';
import type { MailboxEntries } from '../../lambdas/ports/mailbox-entries.ts';
import type { MessageRecords } from '../../lambdas/ports/message-records.ts';
import type { RawMailWriter } from '../../lambdas/ports/raw-mail-store.ts';

export interface ReconcileMailStore {
  index: Pick<MessageRecords, 'putMessage'> &
    Pick<MailboxEntries, 'putMailboxEntry' | 'updateMailboxEntry'> &
    Pick<DeliveryLog, 'createDeliveryState'>;
  raw: RawMailWriter;
  bucket: string;
  /** TTL of what is written (epoch seconds). */
  expiresAt: number;
}

/** A plain message with this Message-ID (`<id@domain>`), CRLF line ends. */
export function rawMessage(messageId: string, subject: string, from: string, date: Date, extraHeaders = ''): string {
  return [
    `${extraHeaders}From: ${from}`,
    'To: partner@example.org',
    `Subject: ${subject}`,
    `Message-ID: ${messageId}`,
    `Date: ${date.toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Text of ${subject}.`,
    '',
  ].join('\r\n');
}

async function put(
  store: ReconcileMailStore,
  mailbox: string,
  sesMessageId: string,
  key: string,
  raw: string,
  at: Date,
  entry: Partial<MailboxEntry>,
): Promise<void> {
  const location = { bucket: store.bucket, key };
  await store.raw.put(location, Buffer.from(raw));
  const receivedAt = at.toISOString();
  const record: MessageRecord = {
    sesMessageId,
    receivedAt,
    expiresAt: store.expiresAt,
    envelopeFrom: mailbox,
    envelopeRecipients: [mailbox],
    verdicts: { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' },
    visibility: 'normal',
    spamFlagged: false,
    raw: location,
    size: raw.length,
    loopDetected: false,
    summary: {
      from: [],
      to: [],
      cc: [],
      replyTo: [],
      subject: sesMessageId,
      date: receivedAt,
      messageIdHeader: /^Message-ID: (\S+)/m.exec(raw)?.[1] ?? null,
      inReplyTo: null,
      references: [],
      snippet: '',
      hasHtml: false,
      attachments: [],
      forwardStamps: [],
      parseError: null,
    },
  };
  await store.index.putMessage(record);
  await store.index.putMailboxEntry({
    mailbox,
    sesMessageId,
    receivedAt,
    expiresAt: store.expiresAt,
    recipients: [mailbox],
    folder: 'inbox',
    read: false,
    visibility: 'normal',
    spamFlagged: false,
    size: raw.length,
    from: [],
    to: [],
    cc: [],
    subject: sesMessageId,
    date: receivedAt,
    snippet: '',
    attachments: [],
    ...entry,
  });
}

/** A message the user sent from the webmail: `raw` as stored (with the Bcc line the sender's copy keeps, if any). */
export async function putSentCopy(
  store: ReconcileMailStore,
  mailbox: string,
  id: string,
  raw: string,
  at: Date,
  folder: MailboxEntry['folder'] = 'sent',
): Promise<void> {
  await put(store, mailbox, id, `${SENT_PREFIX}${id}`, raw, at, { folder, read: true });
}

/** A received message in INBOX, read or not, with the forward's state for the mailbox. */
export async function putReceived(
  store: ReconcileMailStore,
  mailbox: string,
  id: string,
  raw: string,
  at: Date,
  options: { read: boolean; state: DeliveryStateName },
): Promise<void> {
  await put(store, mailbox, id, `raw/${id}`, raw, at, { folder: 'inbox', read: options.read });
  await store.index.createDeliveryState({
    sesMessageId: id,
    recipient: mailbox,
    state: options.state,
    receivedAt: at.toISOString(),
    expiresAt: store.expiresAt,
    attempts: [],
    attemptCount: 0,
    lastReply: null,
    updatedAt: at.toISOString(),
    reason: options.state === 'failed' ? '550 5.1.1 mailbox unavailable' : null,
  });
}

/** `shadowmail reconcile` against a Dovecot stand-in over IMAPS with its master user, then `extra`. */
export function reconcileArgs(
  dovecot: { imapsPort: number; caFile: string; serviceUser: string },
  passwordFile: string,
  ...extra: string[]
): string[] {
  return [
    'reconcile',
    '--imap',
    `imaps://127.0.0.1:${dovecot.imapsPort}`,
    '--ca-file',
    dovecot.caFile,
    '--user',
    dovecot.serviceUser,
    '--password-file',
    passwordFile,
    ...extra,
  ];
}
