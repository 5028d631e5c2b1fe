// The single DynamoDB table behind the index as plain data, shared by the CDK construct and
// the adapters (local mode and tests create it from the same constants in
// adapters/aws/message-table.ts). The items, their keys, the lookup index and TTL: docs/design.md §10.1.
import { createHash } from 'node:crypto';

export const MESSAGE_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  billingMode: 'PAY_PER_REQUEST',
  lookupIndex: {
    name: 'gsi1',
    partitionKey: 'gsi1pk',
    sortKey: 'gsi1sk',
    projection: { type: 'INCLUDE', nonKeyAttributes: ['expiresAt'] },
  },
} as const;

/** Longer key parts are hashed (DynamoDB: partition key ≤ 2048 bytes, sort key ≤ 1024). */
export const MAX_KEY_PART_BYTES = 512;

export function keyPart(value: string): string {
  if (Buffer.byteLength(value, 'utf8') <= MAX_KEY_PART_BYTES) return value;
  return `sha256:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}

/**
 * Single-use keys of the backlog alarm: an admin's episode (`alarm-link#<username>`) and a
 * used link (`outage-link#<id>`). The alarm function's IAM policy names the first.
 */
export const SINGLE_USE_PREFIX = { alarmEpisode: 'alarm-link#', outageLink: 'outage-link#' } as const;

export type LookupKind = 'RCPT' | 'FROM' | 'MID' | 'DAY';

/** Key builders: callers pass values already in comparison form (lower case etc.). */
export const messageTableKeys = {
  mailboxEntry: (mailbox: string, receivedAt: string, sesMessageId: string) => ({
    pk: `MBX#${keyPart(mailbox)}`,
    sk: `MSG#${receivedAt}#${sesMessageId}`,
  }),
  mailboxPartition: (mailbox: string) => `MBX#${keyPart(mailbox)}`,
  mailboxEntryPointer: (mailbox: string, sesMessageId: string) => ({
    pk: `MBX#${keyPart(mailbox)}`,
    sk: `ID#${keyPart(sesMessageId)}`,
  }),
  message: (sesMessageId: string) => ({ pk: `MSG#${sesMessageId}`, sk: 'META' }),
  messagePartition: (sesMessageId: string) => `MSG#${sesMessageId}`,
  delivery: (sesMessageId: string, recipient: string) => ({
    pk: `MSG#${sesMessageId}`,
    sk: `DLV#${keyPart(recipient)}`,
  }),
  lookup: (sesMessageId: string, kind: LookupKind, value: string) => ({
    pk: `MSG#${sesMessageId}`,
    sk: `LKP#${kind}#${keyPart(value)}`,
  }),
  lookupIndexPartition: (kind: LookupKind, value: string) => `${kind}#${keyPart(value)}`,
  lookupIndexSort: (receivedAt: string, sesMessageId: string) => `${receivedAt}#${sesMessageId}`,
  address: (address: string) => ({ pk: `ADDR#${keyPart(address)}`, sk: 'ADDR' }),
  gate: (key: string) => ({ pk: `ONCE#${keyPart(key)}`, sk: 'ONCE' }),
  singleUse: (key: string) => ({ pk: `USED#${keyPart(key)}`, sk: 'USED' }),
  session: (sessionId: string) => ({ pk: `SESSION#${keyPart(sessionId)}`, sk: 'SESSION' }),
  resendJob: (jobId: string) => ({ pk: `RESEND#${keyPart(jobId)}`, sk: 'JOB' }),
  resendJobList: 'RESENDJOBS',
  auditDay: (day: string) => `AUDIT#${day}`,
  auditEvent: (day: string, position: string) => ({ pk: `AUDIT#${day}`, sk: position }),
  /** A sending user's count of messages and recipients in one window (`H#<hour>` or `D#<day>`, UTC). */
  sendCount: (mailbox: string, window: string) => ({ pk: `${SEND_COUNT_PREFIX}${keyPart(mailbox)}`, sk: window }),
  /**
   * How many recipients of one message still wait for the primary (the console's backlog):
   * one item per message in one of PENDING_SHARDS partitions, so the count is a few Queries.
   */
  pendingRecipients: (shard: number, sesMessageId: string) => ({ pk: `${PENDING_PREFIX}${shard.toString(16)}`, sk: sesMessageId }),
  /** A break-glass admin's TOTP setup window (issue 13; the sign-in trigger reads it). */
  adminSetup: (username: string) => ({ pk: `${ADMIN_SETUP_PREFIX}${keyPart(username)}`, sk: 'SETUP' }),
} as const;

/** Partition key prefix of the pending-recipient counts (ingest and forward write them, the webmail sums them). */
export const PENDING_PREFIX = 'PENDING#';
/** How many partitions the pending-recipient counts are spread over (writes of a burst do not meet in one). */
export const PENDING_SHARDS = 16;

/** Partition key prefix of the admins' TOTP setup windows: the sign-in trigger may read these items. */
export const ADMIN_SETUP_PREFIX = 'SETUP#';

/** Partition key prefix of the outbound send counters: only the webmail writes these items. */
export const SEND_COUNT_PREFIX = 'SENDCOUNT#';
