// The IAM role `shadowmail reconcile --stack` runs with on the on-prem host next to
// Exchange (whose IMAP is not on the internet). It may make exactly the calls reconcile
// makes (lambdas/core/reconcile.ts through the DynamoDB adapters), each held to its
// partitions by dynamodb:LeadingKeys: read the directory (DIR#, ADDR#), the mailboxes'
// entries (MBX#), the messages' records and delivery states (MSG#), and append its
// audit entry (PutItem in AUDIT# only, never a read of it). Outside the table: the
// stateful stack's outputs (the table's name), the Sent copies' raw bytes (sent/ of the
// raw-mail bucket, never what was received) and their key through S3 only.
// Trusted like the directory-sync role (on-prem-trust.ts). docs/deploy.md, "Reconcile".
import { CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { messageTableKeys } from '../../lambdas/contract/message-table.ts';
import { DIRECTORY_SYNC_PARTITIONS } from './directory-sync-role.ts';
import { type OnPremTrustProps, onPremAssumedBy, trustRolesAnywhere } from './on-prem-trust.ts';

/** The partition keys reconcile reads (and writes: the audit entry), by what it does with them. */
export const RECONCILE_PARTITIONS = {
  /** The directory: its state item, its user shards, the address items (a --mailbox given by an alias). */
  directory: [DIRECTORY_SYNC_PARTITIONS.state, ...DIRECTORY_SYNC_PARTITIONS.shards, DIRECTORY_SYNC_PARTITIONS.addresses],
  shards: DIRECTORY_SYNC_PARTITIONS.shards,
  /** Every mailbox's entries: `MBX#<mailbox>`. */
  mailboxes: `${messageTableKeys.mailboxPartition('')}*`,
  /** Every message's record and delivery states: `MSG#<id>`. */
  messages: `${messageTableKeys.messagePartition('')}*`,
  audit: DIRECTORY_SYNC_PARTITIONS.audit,
} as const;

export interface ReconcileRoleProps extends OnPremTrustProps {
  table: dynamodb.ITable;
  /** RawMailBucket.sentReadPolicy: the Sent copies under sent/ and their key through S3 (defined in the bucket's stack, where cdk-nag names its wildcard). */
  sentReadPolicy: iam.IManagedPolicy;
  /** `<stackId>-stateful`: the CLI reads its outputs (TableName) with --stack. */
  statefulStackName: string;
}

export class ReconcileRole extends Construct {
  readonly role: iam.Role;
  /** Stack output `ReconcileRoleArn`. */
  readonly roleArnOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: ReconcileRoleProps) {
    super(scope, id);
    const { directory, shards, mailboxes, messages, audit } = RECONCILE_PARTITIONS;
    const table = props.table.tableArn;
    const onlyPartitions = (operator: 'StringEquals' | 'StringLike', keys: readonly string[]) => ({
      [`ForAllValues:${operator}`]: { 'dynamodb:LeadingKeys': [...keys] },
      // ForAllValues is true for a request without keys; every allowed call has them, so insist.
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
    const stack = Stack.of(this);
    // A stack's ARN ends in an id CloudFormation assigns on creation: the name and any id.
    const statefulStack = stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${props.statefulStackName}/*` });
    const statements = [
      new iam.PolicyStatement({
        sid: 'ReadDirectory',
        actions: ['dynamodb:GetItem'],
        resources: [table],
        conditions: onlyPartitions('StringLike', directory),
      }),
      new iam.PolicyStatement({
        sid: 'ReadDirectoryUsers',
        actions: ['dynamodb:Query'],
        resources: [table],
        conditions: onlyPartitions('StringEquals', shards),
      }),
      new iam.PolicyStatement({
        sid: 'ReadMailboxes',
        actions: ['dynamodb:Query'],
        resources: [table],
        conditions: onlyPartitions('StringLike', [mailboxes]),
      }),
      new iam.PolicyStatement({
        sid: 'ReadMessages',
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [table],
        conditions: onlyPartitions('StringLike', [messages]),
      }),
      new iam.PolicyStatement({
        sid: 'AuditReconcile',
        actions: ['dynamodb:PutItem'],
        resources: [table],
        conditions: onlyPartitions('StringLike', [audit]),
      }),
      new iam.PolicyStatement({ sid: 'StackOutputs', actions: ['cloudformation:DescribeStacks'], resources: [statefulStack] }),
    ];

    this.role = new iam.Role(this, 'Role', {
      description: 'shadowmail: reconcile from the on-prem host next to Exchange (shadowmail reconcile --stack)',
      ...onPremAssumedBy(props),
      // Part of the role resource itself, so the role never exists without its limits.
      inlinePolicies: { Reconcile: new iam.PolicyDocument({ statements }) },
      managedPolicies: [props.sentReadPolicy],
    });
    trustRolesAnywhere(this.role, props);
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${flattened(stack.resolve(statefulStack))}]`,
      reason: 'DescribeStacks on the one stateful stack of this deployment; the trailing id is assigned by CloudFormation.',
    });

    this.roleArnOutput = new CfnOutput(this, 'RoleArn', {
      description: 'Role for `shadowmail reconcile --stack` on the host next to Exchange: role_arn of its AWS CLI profile (docs/deploy.md)',
      value: this.role.roleArn,
    });
    this.roleArnOutput.overrideLogicalId('ReconcileRoleArn');
  }
}

/** A resolved ARN as cdk-nag names it in a finding: Fn::Join flattened, a Ref as <Name>. */
function flattened(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as { 'Fn::Join'?: [string, unknown[]]; Ref?: string };
  if (node['Fn::Join']) return node['Fn::Join'][1].map(flattened).join(node['Fn::Join'][0]);
  if (node.Ref) return `<${node.Ref}>`;
  return JSON.stringify(value);
}
