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
import { type OnPremTrustProps, onPremAssumedBy, trustRolesAnywhere } from './on-prem-trust.ts';
import { PARTITIONS, type TableAccess, tableStatements } from './table-access.ts';

/** What reconcile may do in the table: read the directory, the mailboxes' entries, the messages' records and delivery states; append its audit entry. */
export const RECONCILE_TABLE_ACCESS = {
  grants: [
    { sid: 'ReadDirectory', actions: ['GetItem'], partitions: [PARTITIONS.address, PARTITIONS.directory] },
    { sid: 'ListDirectory', actions: ['Query'], partitions: [PARTITIONS.directory] },
    { sid: 'ReadMailboxes', actions: ['Query'], partitions: [PARTITIONS.mailbox] },
    { sid: 'ReadMessages', actions: ['GetItem', 'Query'], partitions: [PARTITIONS.message] },
    // Append-only, and no read of the log: it cannot learn an entry's key to overwrite it.
    { sid: 'AuditReconcile', actions: ['PutItem'], partitions: [PARTITIONS.audit] },
  ],
  lookupIndex: false,
} as const satisfies TableAccess;

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
    const stack = Stack.of(this);
    // A stack's ARN ends in an id CloudFormation assigns on creation: the name and any id.
    const statefulStack = stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${props.statefulStackName}/*` });
    const statements = [
      ...tableStatements(props.table, RECONCILE_TABLE_ACCESS),
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
