// Least privilege inside the one table (issue 14): each function may make only the item
// calls its adapters make, each held by dynamodb:LeadingKeys to the partition key
// prefixes of lambdas/contract/message-table.ts it works on. Nobody here touches DIR#
// or writes ADDR# (only the directory sync does: directory-sync-role.ts); only the
// webmail appends to the audit log and reads it, and no role may update or delete an
// audit item. test/integration/lib/constructs/table-access.test.ts drives each real
// handler through a recording proxy and holds every request against these statements.
//
// dynamodb:LeadingKeys is the partition key of the items a call reads or writes; with
// ForAllValues every key of a batch must match, and Null=false refuses a call without
// keys (a Scan) that ForAllValues alone would let through
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { messageTableKeys as keys, MESSAGE_TABLE, PENDING_PREFIX } from '../../lambdas/contract/message-table.ts';

const prefix = (pk: string) => `${pk}*`;
/** Partition key patterns, one per kind of item (message-table.ts). */
export const PARTITIONS = {
  message: prefix(keys.messagePartition('')),
  mailbox: prefix(keys.mailboxPartition('')),
  address: prefix(keys.address('').pk),
  directory: 'DIR#*',
  gate: prefix(keys.gate('').pk),
  singleUse: prefix(keys.singleUse('').pk),
  session: prefix(keys.session('').pk),
  resendJob: prefix(keys.resendJob('').pk),
  audit: prefix(keys.auditDay('')),
  sendCount: prefix(keys.sendCount('', '').pk),
  pendingRecipients: prefix(PENDING_PREFIX),
} as const;

export type TableAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'BatchGetItem' | 'BatchWriteItem';

export interface TableGrant {
  sid: string;
  actions: readonly TableAction[];
  /** Partition key patterns (StringLike). */
  partitions: readonly string[];
}

export interface TableAccess {
  grants: readonly TableGrant[];
  /** Query on the lookup index (trace, bulk resend): the index holds only keys and expiresAt. */
  lookupIndex: boolean;
}

const gates: TableGrant = { sid: 'OnceGates', actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'], partitions: [PARTITIONS.gate] };

/** What each function of the pipeline and the webmail may do in the table. */
export const TABLE_ACCESS = {
  ingest: {
    grants: [
      { sid: 'ReadAddressMap', actions: ['GetItem'], partitions: [PARTITIONS.address] },
      { sid: 'IndexMessages', actions: ['GetItem', 'PutItem', 'BatchWriteItem'], partitions: [PARTITIONS.message, PARTITIONS.mailbox] },
      // Another receipt rule's notification adds its recipients to the stored record and reads
      // the delivery states to see which recipients it owns (design.md §12.20).
      { sid: 'MessageParts', actions: ['Query', 'UpdateItem'], partitions: [PARTITIONS.message] },
      // How many recipients the forward job will have to deliver (the console's backlog).
      { sid: 'PendingRecipients', actions: ['PutItem'], partitions: [PARTITIONS.pendingRecipients] },
      gates,
    ],
    lookupIndex: false,
  },
  forward: {
    grants: [
      { sid: 'Deliveries', actions: ['GetItem', 'Query', 'UpdateItem'], partitions: [PARTITIONS.message] },
      // Non-delivery reports per sender domain and hour (core/report-non-delivery.ts).
      { sid: 'SendCounts', actions: ['UpdateItem'], partitions: [PARTITIONS.sendCount] },
      // How many recipients still wait after each attempt (the console's backlog).
      { sid: 'PendingRecipients', actions: ['PutItem'], partitions: [PARTITIONS.pendingRecipients] },
      gates,
    ],
    lookupIndex: false,
  },
  resend: {
    grants: [
      { sid: 'Messages', actions: ['GetItem', 'Query', 'UpdateItem'], partitions: [PARTITIONS.message, PARTITIONS.mailbox] },
      { sid: 'ResendJobs', actions: ['GetItem', 'UpdateItem'], partitions: [PARTITIONS.resendJob] },
      gates,
    ],
    lookupIndex: true,
  },
  webmail: {
    grants: [
      { sid: 'ReadDirectory', actions: ['GetItem'], partitions: [PARTITIONS.address, PARTITIONS.directory] },
      { sid: 'ListDirectory', actions: ['Query'], partitions: [PARTITIONS.directory] },
      {
        sid: 'Mail',
        actions: ['GetItem', 'Query', 'BatchGetItem', 'PutItem', 'UpdateItem', 'BatchWriteItem'],
        partitions: [PARTITIONS.message, PARTITIONS.mailbox],
      },
      gates,
      { sid: 'Sessions', actions: ['GetItem', 'PutItem', 'UpdateItem'], partitions: [PARTITIONS.session] },
      { sid: 'SingleUse', actions: ['GetItem', 'PutItem', 'DeleteItem'], partitions: [PARTITIONS.singleUse] },
      { sid: 'ResendJobs', actions: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'], partitions: [PARTITIONS.resendJob] },
      // Per-user send limits: one conditional ADD per window, and its subtraction when a send did not happen.
      { sid: 'SendCounts', actions: ['UpdateItem'], partitions: [PARTITIONS.sendCount] },
      // The console sums the recipients still waiting.
      { sid: 'PendingRecipients', actions: ['Query'], partitions: [PARTITIONS.pendingRecipients] },
      // Append-only and readable: no UpdateItem, DeleteItem or BatchWriteItem can reach an audit item.
      { sid: 'AuditLog', actions: ['PutItem', 'Query'], partitions: [PARTITIONS.audit] },
    ],
    lookupIndex: true,
  },
} as const satisfies Record<string, TableAccess>;

/** The statements of one function's access to the table (and, if it has that, to the lookup index). */
export function tableStatements(table: dynamodb.ITable, access: TableAccess): iam.PolicyStatement[] {
  const statements = access.grants.map(
    (grant) =>
      new iam.PolicyStatement({
        sid: grant.sid,
        actions: grant.actions.map((action) => `dynamodb:${action}`),
        resources: [table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.partitions] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
  );
  if (access.lookupIndex) {
    // Without LeadingKeys: AWS does not document what the key holds for a Query on a global secondary
    // index, and the index (keys and expiresAt of MSG# and RESEND# items, which every role querying it
    // may read) would hide nothing behind it; table-access.test.ts proves the latter.
    statements.push(
      new iam.PolicyStatement({
        sid: 'QueryLookupIndex',
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${MESSAGE_TABLE.lookupIndex.name}`],
      }),
    );
  }
  return statements;
}

/** Adds the statements to a function's role. */
export function grantTableAccess(role: iam.IRole, table: dynamodb.ITable, access: TableAccess): void {
  for (const statement of tableStatements(table, access)) role.addToPrincipalPolicy(statement);
}
