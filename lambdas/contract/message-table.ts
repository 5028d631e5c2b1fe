// The single DynamoDB table behind the message index, as plain data: its key schema
// (which the CDK construct in lib/ builds the table from) and the layout of its items
// (the DynamoDB adapters write and read them; the directory sync role's IAM conditions
// name their keys).
//
// Items (pk / sk):
//   MBX#<mailbox>        / MSG#<receivedAt ISO>#<sesMessageId>   mailbox entry
//   MBX#<mailbox>        / ID#<sesMessageId>                     entry pointer: its receivedAt,
//                                                                so one id finds its entry
//   MSG#<sesMessageId>   / META                                  the MessageRecord
//   MSG#<sesMessageId>   / DLV#<recipient lower>                 delivery state
//   MSG#<sesMessageId>   / LKP#<kind>#<value>                    trace lookup item
//   ADDR#<address lower> / ADDR                                  address → mailbox
//   ONCE#<gate key>      / ONCE                                  once-only lease gate
//   RESEND#<jobId>       / JOB                                   resend job with its counters
//                                                                (gsi1pk RESENDJOBS, gsi1sk <createdAt>#<jobId>:
//                                                                the job list, newest first)
//   AUDIT#<yyyy-mm-dd>   / <at ISO>#<eventId>                    audit event, no expiresAt:
//                                                                kept beyond the mail retention
//
// Trace lookups use one generic GSI (`gsi1`) on small lookup items, one per
// (message, criterion, value), written next to the record in its partition:
//   gsi1pk = RCPT#<envelope recipient> | FROM#<envelope sender or header From address>
//            | MID#<normalized Message-ID header>
//            | DAY#<yyyy-mm-dd of receivedAt, UTC>  (received mail only: written with the
//              delivery states, so webmail Sent copies are not in it; a time-range
//              search and a bulk resend read these partitions day by day)
//   gsi1sk = <receivedAt ISO>#<sesMessageId>   (newest first with ScanIndexForward=false)
// The GSI projects only the keys and `expiresAt`, so the TTL filter runs on the index
// and the records are then fetched from the base table.
//
// User-derived key parts (addresses, Message-IDs, gate keys) longer than
// MAX_KEY_PART_BYTES are replaced by `sha256:<hex>` of the value, on write and on
// query alike, so hostile headers cannot exceed DynamoDB's key size limits.
//
// Every item that expires carries `expiresAt` (epoch seconds), the table's TTL
// attribute; TTL deletes late, so readers filter on it.
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
  resendJob: (jobId: string) => ({ pk: `RESEND#${keyPart(jobId)}`, sk: 'JOB' }),
  resendJobList: 'RESENDJOBS',
  auditDay: (day: string) => `AUDIT#${day}`,
  auditEvent: (day: string, position: string) => ({ pk: `AUDIT#${day}`, sk: position }),
} as const;
