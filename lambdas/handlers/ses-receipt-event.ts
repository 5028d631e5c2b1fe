// The SES receipt notification as it reaches the ingest queue (SQS ← SNS ← SES),
// parsed and validated into the domain's ReceivedMail; and the same shape built
// by local mode's SMTP listener, so one ingest handler serves both.
import type { AuthenticationVerdicts } from '../core/authentication.ts';
import { InvalidInputError } from '../core/errors.ts';
import type { ReceivedMail, VerdictStatus } from '../core/model.ts';
import * as z from './zod-mini.ts';

const verdict = z.pipe(
  z.optional(z.object({ status: z.string() })),
  z.transform((value: { status: string } | undefined): VerdictStatus => normalizeVerdict(value?.status)),
);
const nonEmpty = () => z.string().check(z.minLength(1));
const strings = () => z.optional(z.array(z.string()));

const sesNotificationSchema = z.object({
  notificationType: z.literal('Received'),
  mail: z.object({
    timestamp: z.string(),
    source: z.string(),
    messageId: nonEmpty(),
    destination: strings(),
    headersTruncated: z.optional(z.boolean()),
    headers: z.optional(z.array(z.object({ name: z.string(), value: z.string() }))),
    commonHeaders: z.optional(
      z.looseObject({
        from: strings(),
        to: strings(),
        cc: strings(),
        subject: z.optional(z.string()),
        date: z.optional(z.string()),
        messageId: z.optional(z.string()),
      }),
    ),
  }),
  receipt: z.object({
    timestamp: z.string(),
    recipients: z.array(z.string()).check(z.minLength(1)),
    spamVerdict: verdict,
    virusVerdict: verdict,
    spfVerdict: verdict,
    dkimVerdict: verdict,
    dmarcVerdict: verdict,
    action: z.object({
      type: z.literal('S3'),
      bucketName: nonEmpty(),
      objectKey: nonEmpty(),
    }),
  }),
});

export type SesReceiptNotification = z.input<typeof sesNotificationSchema>;

const snsEnvelopeSchema = z.object({ Type: z.literal('Notification'), Message: z.string() });

function normalizeVerdict(status: string | undefined): VerdictStatus {
  const upper = (status ?? 'DISABLED').toUpperCase();
  return (['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'] as const).find((known) => known === upper) ?? 'GRAY';
}

/**
 * The name SES gives the test object it writes under the prefix when a receipt rule
 * with an S3 action is created, and the message id of the notification about it.
 */
export const SES_SETUP_NOTIFICATION = 'AMAZON_SES_SETUP_NOTIFICATION';

/** What an ingest queue record holds: received mail, or SES's setup notice (no mail at all). */
export type IngestRecord = { kind: 'received'; mail: ReceivedMail } | { kind: 'setup'; detail: string };

/**
 * SES's notice that the rule, bucket and topic work, in every form it is seen in (AWS does
 * not document it): `AmazonSnsSubscriptionSucceeded`, or a "Received" notification for the
 * AMAZON_SES_SETUP_NOTIFICATION object (by message id or object key, recipients or not).
 */
function setupNotice(notification: unknown): string | undefined {
  if (typeof notification !== 'object' || notification === null) return undefined;
  const { notificationType, mail, receipt } = notification as {
    notificationType?: unknown;
    mail?: { messageId?: unknown };
    receipt?: { action?: { objectKey?: unknown } };
  };
  if (notificationType === 'AmazonSnsSubscriptionSucceeded') return 'AmazonSnsSubscriptionSucceeded';
  if (notificationType !== 'Received') return undefined;
  if (mail?.messageId === SES_SETUP_NOTIFICATION) return `Received, message id ${SES_SETUP_NOTIFICATION}`;
  const key = receipt?.action?.objectKey;
  if (typeof key === 'string' && key.split('/').at(-1) === SES_SETUP_NOTIFICATION) return `Received, object ${key}`;
  return undefined;
}

/** An SQS record body (an SNS envelope around the SES notification, or the bare notification) → what it holds. */
export function parseIngestRecord(body: string): IngestRecord {
  const envelope = z.safeParse(snsEnvelopeSchema, parseJson(body, 'SQS body'));
  const notificationJson = envelope.success ? envelope.data.Message : body;
  const notification = parseJson(notificationJson, 'SES notification');
  const setup = setupNotice(notification);
  if (setup !== undefined) return { kind: 'setup', detail: setup };
  const parsed = z.safeParse(sesNotificationSchema, notification);
  if (!parsed.success) {
    throw new InvalidInputError(`not an SES receipt notification with an S3 action: ${z.prettifyError(parsed.error)}`);
  }
  const { mail, receipt } = parsed.data;
  const common = mail.commonHeaders ?? {};
  return {
    kind: 'received',
    mail: {
      sesMessageId: mail.messageId,
      receivedAt: new Date(receipt.timestamp).toISOString(),
      envelopeFrom: mail.source,
      envelopeRecipients: receipt.recipients,
      verdicts: {
        spam: receipt.spamVerdict,
        virus: receipt.virusVerdict,
        spf: receipt.spfVerdict,
        dkim: receipt.dkimVerdict,
        dmarc: receipt.dmarcVerdict,
      },
      raw: { bucket: receipt.action.bucketName, key: receipt.action.objectKey },
      headers: mail.headers ?? [],
      headersTruncated: mail.headersTruncated ?? false,
      commonHeaders: {
        ...(common.from && { from: common.from }),
        ...(common.to && { to: common.to }),
        ...(common.cc && { cc: common.cc }),
        ...(common.subject !== undefined && { subject: common.subject }),
        ...(common.date !== undefined && { date: common.date }),
        ...(common.messageId !== undefined && { messageId: common.messageId }),
      },
    },
  };
}

/** An SQS record body that must hold received mail (the setup notice is refused as input). */
export function parseIngestRecordBody(body: string): ReceivedMail {
  const record = parseIngestRecord(body);
  if (record.kind === 'setup') throw new InvalidInputError(`the SES setup notification holds no mail (${record.detail})`);
  return record.mail;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${what} is not JSON`, { cause: error });
  }
}

export interface LocalReceipt {
  sesMessageId: string;
  receivedAt: Date;
  envelopeFrom: string;
  envelopeRecipients: string[];
  bucket: string;
  key: string;
  headers: { name: string; value: string }[];
  commonHeaders: SesReceiptNotification['mail']['commonHeaders'];
  /** SPF, DKIM and DMARC as local mode's authenticator judged them (DISABLED when it did not run). */
  authentication?: AuthenticationVerdicts;
}

/**
 * SES leaves headers out of the notification when they would make it too large for
 * SNS (`headersTruncated`); local mode does the same so its queue never refuses one.
 */
export const MAX_NOTIFICATION_HEADER_BYTES = 64 * 1024;
const MAX_COMMON_HEADER_CHARS = 2_000;

function truncateHeaders(headers: LocalReceipt['headers']): { headers: LocalReceipt['headers']; truncated: boolean } {
  const kept: LocalReceipt['headers'] = [];
  let bytes = 0;
  for (const header of headers) {
    bytes += Buffer.byteLength(header.name) + Buffer.byteLength(header.value) + 32;
    if (bytes > MAX_NOTIFICATION_HEADER_BYTES) return { headers: kept, truncated: true };
    kept.push(header);
  }
  return { headers: kept, truncated: false };
}

function clipCommonHeaders(common: LocalReceipt['commonHeaders']): LocalReceipt['commonHeaders'] {
  if (!common) return common;
  const clip = (value: string) => value.slice(0, MAX_COMMON_HEADER_CHARS);
  const clipList = (values: string[] | undefined) => values?.slice(0, 100).map(clip);
  return {
    ...(common.from && { from: clipList(common.from) }),
    ...(common.to && { to: clipList(common.to) }),
    ...(common.cc && { cc: clipList(common.cc) }),
    ...(common.subject !== undefined && { subject: clip(common.subject) }),
    ...(common.date !== undefined && { date: clip(common.date) }),
    ...(common.messageId !== undefined && { messageId: clip(common.messageId) }),
  };
}

/** The notification SES would publish for a message received by local mode. */
export function buildReceiptNotification(receipt: LocalReceipt): SesReceiptNotification {
  const timestamp = receipt.receivedAt.toISOString();
  const { headers, truncated } = truncateHeaders(receipt.headers);
  const disabled = { status: 'DISABLED' };
  const judged = (status: VerdictStatus | undefined) => (status ? { status } : disabled);
  return {
    notificationType: 'Received',
    mail: {
      timestamp,
      source: receipt.envelopeFrom,
      messageId: receipt.sesMessageId,
      destination: receipt.envelopeRecipients,
      headersTruncated: truncated,
      headers,
      commonHeaders: clipCommonHeaders(receipt.commonHeaders),
    },
    receipt: {
      timestamp,
      recipients: receipt.envelopeRecipients,
      spamVerdict: disabled,
      virusVerdict: disabled,
      spfVerdict: judged(receipt.authentication?.spf),
      dkimVerdict: judged(receipt.authentication?.dkim),
      dmarcVerdict: judged(receipt.authentication?.dmarc),
      action: { type: 'S3', bucketName: receipt.bucket, objectKey: receipt.key },
    },
  };
}

/** Wraps a notification the way SNS delivers it to an SQS subscription. */
export function wrapInSnsEnvelope(notification: SesReceiptNotification, messageId: string): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: messageId,
    TopicArn: 'arn:aws:sns:local:000000000000:shadowmail-inbound',
    Subject: 'Amazon SES Email Receipt Notification',
    Message: JSON.stringify(notification),
    Timestamp: new Date().toISOString(),
  });
}
