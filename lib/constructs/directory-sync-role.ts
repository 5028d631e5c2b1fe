// The IAM role `shadowmail directory sync --table …` assumes on the on-prem host that
// reaches Active Directory. It may make exactly the table calls the sync and
// `directory list` make (lambdas/adapters/aws/dynamodb-directory-store.ts), each held to
// its DIR#/ADDR# partitions by dynamodb:LeadingKeys (docs/design.md §7), append the
// sync's audit entry (PutItem in AUDIT# partitions only; with no read of them it cannot
// learn the key of an existing entry to overwrite it), read the bind-password secret,
// and keep the break-glass accounts of the webmail's user pool with exactly the calls
// lambdas/adapters/aws/cognito-break-glass-accounts.ts makes, and keep the address rules of the
// stack's receipt rule set (lambdas/adapters/aws/ses-receipt-rules.ts). How the host gets the role:
// docs/deploy.md §8.1 and §8.2; the accounts: §8.5.
import { CfnOutput, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { messageTableKeys } from '../../lambdas/contract/message-table.ts';
import { type OnPremTrustProps, onPremAssumedBy, trustRolesAnywhere } from './on-prem-trust.ts';

// Repeated from dynamodb-directory-store.ts (lib/ may import only the table constants
// of lambdas/); test/integration/lib/constructs/directory-sync-role.test.ts holds both against a real sync.
const DIRECTORY_SHARDS = 16;

/** The partition keys the sync reads and writes, by what it does with them. */
export const DIRECTORY_SYNC_PARTITIONS = {
  state: 'DIR#STATE',
  shards: Array.from({ length: DIRECTORY_SHARDS }, (_, shard) => `DIR#${shard.toString(16)}`),
  /** Every address item: `ADDR#<address>` (or `ADDR#sha256:…` for an overlong one). */
  addresses: `${messageTableKeys.address('').pk}*`,
  /** The audit log's day partitions (`AUDIT#<yyyy-mm-dd>`), where the sync appends its entry. */
  audit: `${messageTableKeys.auditDay('')}*`,
} as const;

/**
 * The user pool calls of the break-glass accounts, as the Service Authorization Reference
 * names them (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncognitouserpools.html;
 * each takes the userpool resource): list, create, confirm (set password), update, enable,
 * disable, delete. Nothing that reads or changes the pool itself, its clients or its groups.
 */
export const BREAK_GLASS_ACCOUNT_ACTIONS = [
  'cognito-idp:ListUsers',
  'cognito-idp:AdminCreateUser',
  'cognito-idp:AdminSetUserPassword',
  'cognito-idp:AdminUpdateUserAttributes',
  'cognito-idp:AdminEnableUser',
  'cognito-idp:AdminDisableUser',
  'cognito-idp:AdminDeleteUser',
] as const;

/**
 * The receipt rule calls of the sync (lambdas/adapters/aws/ses-receipt-rules.ts). The Service
 * Authorization Reference lists no resource type for them
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonses.html), so IAM takes
 * only "*"; the grant is held to the stack's region, and CreateReceiptRule / UpdateReceiptRule with an
 * S3 action that names a role need iam:PassRole for it (same page, "Dependent actions"), given for the
 * delivery role only.
 */
export const RECEIPT_RULE_ACTIONS = [
  'ses:DescribeReceiptRuleSet',
  'ses:CreateReceiptRule',
  'ses:UpdateReceiptRule',
  'ses:DeleteReceiptRule',
] as const;

const externalIdPattern = /^[\w+=,.@:/-]{2,1224}$/;
const secretArnPattern = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const keyArnPattern = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;
const userPoolArnPattern = /^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool\/[a-z0-9-]+_[0-9A-Za-z]+$/;
const trustAnchorArnPattern = /^arn:aws[a-z-]*:rolesanywhere:[a-z0-9-]+:\d{12}:trust-anchor\/[0-9a-f-]{36}$/;

export interface DirectorySyncRoleProps extends OnPremTrustProps {
  /** The message table (stateful stack) the sync writes the directory into. */
  table: dynamodb.ITable;
  /** Complete ARN of the Secrets Manager secret with the LDAP bind password (--bind-password-secret). */
  bindPasswordSecretArn?: string;
  /** The customer-managed KMS key of that secret, if it has one (the AWS-managed key needs no grant). */
  bindPasswordSecretKeyArn?: string;
  /** The webmail's user pool (`arn:aws:cognito-idp:<region>:<account>:userpool/<id>`): the sync keeps its break-glass accounts. */
  userPoolArn?: string;
  /** The role of the storing rules' S3 action (InboundNotifications.deliveryRole): the sync keeps the address rules. */
  receiptRules?: { deliveryRoleArn: string };
}

export class DirectorySyncRole extends Construct {
  readonly role: iam.Role;
  /** Stack output `DirectorySyncRoleArn`. */
  readonly roleArnOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: DirectorySyncRoleProps) {
    super(scope, id);
    validate(this, props);
    const { state, shards, addresses, audit } = DIRECTORY_SYNC_PARTITIONS;
    const table = props.table.tableArn;
    const onlyPartitions = (operator: 'StringEquals' | 'StringLike', keys: readonly string[]) => ({
      [`ForAllValues:${operator}`]: { 'dynamodb:LeadingKeys': [...keys] },
      // ForAllValues is true for a request without keys; every allowed call has them, so insist.
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
    const statements = [
      new iam.PolicyStatement({
        sid: 'DirectoryState',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [table],
        conditions: onlyPartitions('StringEquals', [state]),
      }),
      new iam.PolicyStatement({
        sid: 'ReadDirectoryUsers',
        actions: ['dynamodb:Query'],
        resources: [table],
        conditions: onlyPartitions('StringEquals', shards),
      }),
      new iam.PolicyStatement({
        sid: 'WriteDirectory',
        actions: ['dynamodb:BatchWriteItem'],
        resources: [table],
        conditions: onlyPartitions('StringLike', [addresses, ...shards]),
      }),
      new iam.PolicyStatement({
        sid: 'AuditSync',
        actions: ['dynamodb:PutItem'],
        resources: [table],
        conditions: onlyPartitions('StringLike', [audit]),
      }),
    ];
    if (props.userPoolArn !== undefined) {
      statements.push(
        new iam.PolicyStatement({ sid: 'BreakGlassAccounts', actions: [...BREAK_GLASS_ACCOUNT_ACTIONS], resources: [props.userPoolArn] }),
      );
    }
    if (props.receiptRules !== undefined) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReceiptRules',
          actions: [...RECEIPT_RULE_ACTIONS],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:RequestedRegion': Stack.of(this).region } },
        }),
        new iam.PolicyStatement({
          sid: 'PassDeliveryRole',
          actions: ['iam:PassRole'],
          resources: [props.receiptRules.deliveryRoleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'ses.amazonaws.com' } },
        }),
      );
    }
    if (props.bindPasswordSecretArn !== undefined) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'BindPassword',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [props.bindPasswordSecretArn],
        }),
      );
      if (props.bindPasswordSecretKeyArn !== undefined) {
        statements.push(
          new iam.PolicyStatement({
            sid: 'BindPasswordKey',
            actions: ['kms:Decrypt'],
            resources: [props.bindPasswordSecretKeyArn],
            conditions: {
              StringEquals: { 'kms:ViaService': `secretsmanager.${regionOf(props.bindPasswordSecretArn, this)}.amazonaws.com` },
            },
          }),
        );
      }
    }

    this.role = new iam.Role(this, 'Role', {
      description: 'shadowmail: directory sync from an on-prem host (shadowmail directory sync --table)',
      ...onPremAssumedBy(props),
      // Part of the role resource itself, so the role never exists without its limits.
      inlinePolicies: { DirectorySync: new iam.PolicyDocument({ statements }) },
    });
    trustRolesAnywhere(this.role, props);
    if (props.receiptRules !== undefined) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'SES receipt rule calls take no resource but "*" (Service Authorization Reference lists no resource type for them); held to the stack region by aws:RequestedRegion.',
      });
    }

    this.roleArnOutput = new CfnOutput(this, 'RoleArn', {
      description: 'Role for `shadowmail directory sync --table` on the AD host: role_arn of its AWS CLI profile (docs/deploy.md)',
      value: this.role.roleArn,
    });
    this.roleArnOutput.overrideLogicalId('DirectorySyncRoleArn');
  }
}

function regionOf(secretArn: string, scope: Construct): string {
  return Token.isUnresolved(secretArn) ? Stack.of(scope).region : secretArn.split(':')[3]!;
}

function validate(scope: Construct, props: DirectorySyncRoleProps): void {
  const check = (value: string | undefined, pattern: RegExp, name: string, expected: string) => {
    if (value !== undefined && !Token.isUnresolved(value) && !pattern.test(value)) {
      throw new Error(`${scope.node.path}: ${name} ${JSON.stringify(value)} is not ${expected}`);
    }
  };
  check(props.externalId, externalIdPattern, 'externalId', '2 to 1224 letters, digits or +=,.@:/-');
  check(
    props.bindPasswordSecretArn,
    secretArnPattern,
    'bindPasswordSecretArn',
    'the complete ARN of a Secrets Manager secret (…:secret:name-AbCdEf)',
  );
  check(props.bindPasswordSecretKeyArn, keyArnPattern, 'bindPasswordSecretKeyArn', 'the ARN of a KMS key');
  check(props.userPoolArn, userPoolArnPattern, 'userPoolArn', 'the ARN of a Cognito user pool');
  check(
    props.rolesAnywhere?.trustAnchorArn,
    trustAnchorArnPattern,
    'rolesAnywhere.trustAnchorArn',
    'the ARN of an IAM Roles Anywhere trust anchor',
  );
  if (props.bindPasswordSecretKeyArn !== undefined && props.bindPasswordSecretArn === undefined) {
    throw new Error(`${scope.node.path}: bindPasswordSecretKeyArn needs bindPasswordSecretArn`);
  }
}
