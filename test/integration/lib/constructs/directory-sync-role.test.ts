// The directory-sync role as CloudFormation: who may assume it (this account, with
// an external id if set; IAM Roles Anywhere for one trust anchor if set), one-hour
// sessions, and a policy of exactly the DynamoDB calls and partition keys the sync
// makes, and exactly the Cognito calls of the break-glass accounts on the one pool.
// Both are held against the real thing: `shadowmail directory import` and `list` (the
// CLI, the real DynamoDB store) run against dynalite behind a recording proxy, and with
// --user-pool-id against the fake Cognito API, and every request on the wire is
// evaluated against the synthesized policy statements. cdk-nag AwsSolutions must pass.
// Bundling is skipped.
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DIRECTORY_SHARDS, directoryKeys } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { messageTableKeys } from '../../../../lambdas/contract/message-table.ts';
import {
  BREAK_GLASS_ACCOUNT_ACTIONS,
  DIRECTORY_SYNC_PARTITIONS,
  DirectorySyncRole,
  type DirectorySyncRoleProps,
  RECEIPT_RULE_ACTIONS,
} from '../../../../lib/constructs/directory-sync-role.ts';
import { MessageIndex } from '../../../../lib/constructs/message-index.ts';
import type { CfnJson, CfnResource } from '../../../support/cfn-resource.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import { allows, glob, type PolicyStatement, recordingProxy } from '../../../support/dynamodb-policy.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-sync-role-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

const SECRET_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/ldap-bind-AbC123';
const KEY_ARN = 'arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9';
const POOL_ID = 'eu-central-1_CorpPool1';
const USER_POOL_ARN = `arn:aws:cognito-idp:eu-central-1:123456789012:userpool/${POOL_ID}`;
const DELIVERY_ROLE_ARN = 'arn:aws:iam::123456789012:role/shadowmail-stateful-DeliveryRole';
const TRUST_ANCHOR_ARN = 'arn:aws:rolesanywhere:eu-central-1:123456789012:trust-anchor/11111111-2222-3333-4444-555555555555';

type Statement = PolicyStatement;
type Resource = CfnResource;

function build(props: Omit<DirectorySyncRoleProps, 'table'> = {}) {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Sync');
  const index = new MessageIndex(stack, 'MessageIndex');
  const sync = new DirectorySyncRole(stack, 'DirectorySync', { table: index.table, ...props });
  const template = Template.fromStack(stack);
  const roles = Object.values(template.findResources('AWS::IAM::Role') as Record<string, Resource>);
  expect(roles).toHaveLength(1);
  return {
    app,
    template,
    role: roles[0]!.Properties,
    roleId: stack.getLogicalId(sync.role.node.defaultChild as never),
    tableId: stack.getLogicalId(index.table.node.defaultChild as never),
  };
}

const statementsOf = (role: Record<string, CfnJson>): Statement[] => {
  expect(role.Policies).toHaveLength(1);
  return role.Policies[0].PolicyDocument.Statement;
};

const cli = (...args: string[]) => runCli('directory', ...args);

const csv = (rows: string[]) => `${['mailbox,displayName,aliases,kind,disabled,admin', ...rows].join('\n')}\n`;
const people = (count: number, aliasSuffix: string) =>
  Array.from({ length: count }, (_, i) => `user${i}@corp.example,User ${i},user${i}.${aliasSuffix}@corp.example,user,false,false`);

describe('permissions against what the sync really sends', () => {
  let server: DynamoDbServer;
  let workDir: string;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  beforeAll(async () => {
    server = await startDynalite();
    workDir = await mkdtemp(join(tmpdir(), 'shadowmail-sync-role-run-'));
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
  });
  afterAll(async () => {
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await server?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('allows every request of an import, a changing re-import and a list, and grants no call they do not make', async () => {
    // Prepare
    const { role } = build();
    const statements = statementsOf(role);
    const tableName = 'shadowmail-prod-MessageIndexTable';
    const client = makeDynamoDbClient(server.endpoint);
    await createMessageTable(client, tableName);
    client.destroy();
    const first = join(workDir, 'first.csv');
    const second = join(workDir, 'second.csv');
    // 40 users: several batches of 25 and (nearly) every shard.
    await writeFile(first, csv(people(40, 'a')));
    // 3 users gone, every alias moved: address deletes, user deletes and puts.
    await writeFile(second, csv(people(37, 'b')));
    const proxy = await recordingProxy(server.endpoint);
    const target = ['--table', tableName, '--region', 'eu-central-1', '--endpoint', proxy.endpoint];

    // Act
    let runs: Array<{ code: number; err: string }>;
    try {
      runs = [
        await cli('import', first, ...target),
        await cli('import', second, '--max-removals', '5', ...target),
        await cli('list', ...target),
      ];
    } finally {
      await proxy.close();
    }

    // Assess
    for (const run of runs) expect(run.code, run.err).toBe(0);
    const tableArn = { 'Fn::GetAtt': [build().tableId, 'Arn'] };
    const calls = proxy.calls;
    expect(calls.map((c) => c.table).every((t) => t === tableName)).toBe(true);
    expect(calls.filter((call) => !allows(statements, call, { table: tableArn }))).toEqual([]);
    const written = calls.filter((c) => c.action === 'BatchWriteItem').flatMap((c) => c.leadingKeys);
    expect(written.some((key) => key.startsWith('ADDR#'))).toBe(true);
    expect(written.some((key) => key.startsWith('DIR#'))).toBe(true);
    // No surplus: each granted action is one the sync used.
    const granted = new Set(statements.flatMap((s) => [s.Action].flat()));
    expect([...granted].sort()).toEqual([...new Set(calls.map((c) => `dynamodb:${c.action}`))].sort());
  });

  it.each([
    ['a write to a message partition', { action: 'BatchWriteItem', leadingKeys: ['ADDR#a@corp.example', 'MSG#0001'] }],
    ['a PutItem of an address', { action: 'PutItem', leadingKeys: ['ADDR#a@corp.example'] }],
    ['reading a mailbox', { action: 'Query', leadingKeys: ['MBX#a@corp.example'] }],
    ['reading the lookup index', { action: 'Query', leadingKeys: ['RCPT#a@corp.example'], index: 'gsi1' }],
    ['a Scan', { action: 'Scan', leadingKeys: [] }],
    ['writing the state through a batch', { action: 'BatchWriteItem', leadingKeys: ['DIR#STATE'] }],
    ['reading an address item', { action: 'GetItem', leadingKeys: ['ADDR#a@corp.example'] }],
    ['changing an audit entry', { action: 'UpdateItem', leadingKeys: ['AUDIT#2025-01-01'] }],
    ['deleting an audit entry', { action: 'DeleteItem', leadingKeys: ['AUDIT#2025-01-01'] }],
    ['reading the audit log', { action: 'Query', leadingKeys: ['AUDIT#2025-01-01'] }],
    ['a PutItem into a message partition', { action: 'PutItem', leadingKeys: ['MSG#0001'] }],
  ])('denies %s', (_what, call) => {
    // Prepare
    const built = build();

    // Act
    const allowed = allows(statementsOf(built.role), { table: 't', ...call }, { table: { 'Fn::GetAtt': [built.tableId, 'Arn'] } });

    // Assess
    expect(allowed).toBe(false);
  });

  it('names the partitions the store writes: its 16 shards, its state item and the address items', () => {
    // Act
    const shards = Array.from({ length: DIRECTORY_SHARDS }, (_, shard) => directoryKeys.shardPartition(shard));

    // Assess
    expect(DIRECTORY_SYNC_PARTITIONS.shards).toEqual(shards);
    expect(DIRECTORY_SYNC_PARTITIONS.state).toBe(directoryKeys.state().pk);
    expect(glob(DIRECTORY_SYNC_PARTITIONS.addresses).test(messageTableKeys.address('a@corp.example').pk)).toBe(true);
    expect(glob(DIRECTORY_SYNC_PARTITIONS.addresses).test(messageTableKeys.address(`${'x'.repeat(600)}@corp.example`).pk)).toBe(true);
  });
});

describe('the role', () => {
  it('has the exact policy: state, shard reads, batch writes, each limited to its partition keys, on the table only', () => {
    // Act
    const { role, tableId } = build();

    // Assess
    const table = { 'Fn::GetAtt': [tableId, 'Arn'] };
    const shards = Array.from({ length: 16 }, (_, i) => `DIR#${i.toString(16)}`);
    const present = { 'dynamodb:LeadingKeys': 'false' };
    expect(statementsOf(role)).toEqual([
      {
        Sid: 'DirectoryState',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: table,
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['DIR#STATE'] }, Null: present },
      },
      {
        Sid: 'ReadDirectoryUsers',
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: table,
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': shards }, Null: present },
      },
      {
        Sid: 'WriteDirectory',
        Effect: 'Allow',
        Action: 'dynamodb:BatchWriteItem',
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ADDR#*', ...shards] }, Null: present },
      },
      {
        Sid: 'AuditSync',
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: table,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['AUDIT#*'] }, Null: present },
      },
    ]);
  });

  it('may keep the break-glass accounts of the one user pool named, with the seven user calls and nothing else', () => {
    // Act
    const without = statementsOf(build().role);
    const withPool = statementsOf(build({ userPoolArn: USER_POOL_ARN }).role);

    // Assess
    expect(JSON.stringify(without)).not.toMatch(/cognito/);
    expect(withPool.slice(4)).toEqual([
      {
        Sid: 'BreakGlassAccounts',
        Effect: 'Allow',
        Action: [
          'cognito-idp:AdminCreateUser',
          'cognito-idp:AdminDeleteUser',
          'cognito-idp:AdminDisableUser',
          'cognito-idp:AdminEnableUser',
          'cognito-idp:AdminSetUserPassword',
          'cognito-idp:AdminUpdateUserAttributes',
          'cognito-idp:ListUsers',
        ],
        Resource: USER_POOL_ARN,
      },
    ]);
  });

  it('may keep the receipt rules only in the stack region, and pass only the delivery role, only to SES', () => {
    // Act
    const without = statementsOf(build().role);
    const withRules = statementsOf(build({ receiptRules: { deliveryRoleArn: DELIVERY_ROLE_ARN } }).role);

    // Assess
    expect(JSON.stringify(without)).not.toMatch(/ses:|iam:PassRole/);
    expect(withRules.slice(4)).toEqual([
      {
        Sid: 'ReceiptRules',
        Effect: 'Allow',
        Action: ['ses:CreateReceiptRule', 'ses:DeleteReceiptRule', 'ses:DescribeReceiptRuleSet', 'ses:UpdateReceiptRule'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:RequestedRegion': { Ref: 'AWS::Region' } } },
      },
      {
        Sid: 'PassDeliveryRole',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: DELIVERY_ROLE_ARN,
        Condition: { StringEquals: { 'iam:PassedToService': 'ses.amazonaws.com' } },
      },
    ]);
    expect([...RECEIPT_RULE_ACTIONS].sort()).toEqual(withRules[4]!.Action);
  });

  it('trusts this account (an admin then grants sts:AssumeRole to the host identity) for sessions of at most one hour', () => {
    // Act
    const { role } = build();

    // Assess
    expect(role.MaxSessionDuration).toBe(3600);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
      },
    ]);
  });

  it('requires the external id when one is set, and trusts Roles Anywhere only for the given trust anchor and certificate', () => {
    // Act
    const { role } = build({
      externalId: 'shadowmail-sync-7f3a',
      rolesAnywhere: { trustAnchorArn: TRUST_ANCHOR_ARN, certificateCommonName: 'dc-sync01' },
    });

    // Assess
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'shadowmail-sync-7f3a' } } }),
      {
        Effect: 'Allow',
        Principal: { Service: 'rolesanywhere.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
        Condition: {
          ArnEquals: { 'aws:SourceArn': TRUST_ANCHOR_ARN },
          StringEquals: { 'aws:PrincipalTag/x509Subject/CN': 'dc-sync01' },
        },
      },
    ]);
  });

  it('may read the bind password secret (and decrypt it through Secrets Manager) only when one is named', () => {
    // Act
    const without = statementsOf(build().role);
    const withSecret = statementsOf(build({ bindPasswordSecretArn: SECRET_ARN, bindPasswordSecretKeyArn: KEY_ARN }).role);

    // Assess
    expect(JSON.stringify(without)).not.toMatch(/secretsmanager|kms/);
    expect(withSecret.slice(4)).toEqual([
      { Sid: 'BindPassword', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_ARN },
      {
        Sid: 'BindPasswordKey',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: KEY_ARN,
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-central-1.amazonaws.com' } },
      },
    ]);
  });

  it('outputs the role ARN as DirectorySyncRoleArn', () => {
    // Act
    const { template, roleId } = build();

    // Assess
    template.hasOutput('DirectorySyncRoleArn', { Value: { 'Fn::GetAtt': [roleId, 'Arn'] } });
  });

  it.each([
    [
      'a partial secret ARN',
      { bindPasswordSecretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:ldap' },
      /bindPasswordSecretArn .* is not the complete ARN/,
    ],
    ['an external id with spaces', { externalId: 'my id' }, /externalId "my id"/],
    ['a key without a secret', { bindPasswordSecretKeyArn: KEY_ARN }, /bindPasswordSecretKeyArn needs bindPasswordSecretArn/],
    [
      'a pool ARN that is none',
      { userPoolArn: 'arn:aws:cognito-idp:eu-central-1:123456789012:identitypool/x' },
      /userPoolArn .* is not the ARN of a Cognito user pool/,
    ],
    [
      'a trust anchor that is none',
      { rolesAnywhere: { trustAnchorArn: 'arn:aws:iam::123456789012:role/x' } },
      /rolesAnywhere.trustAnchorArn/,
    ],
  ])('refuses %s, naming the prop', (_what, props, message) => {
    // Act
    const attempt = () => build(props as Omit<DirectorySyncRoleProps, 'table'>);

    // Assess
    expect(attempt).toThrow(message);
  });

  it('passes cdk-nag AwsSolutions with every option set', () => {
    // Prepare
    const { app } = build({
      externalId: 'x-123',
      bindPasswordSecretArn: SECRET_ARN,
      bindPasswordSecretKeyArn: KEY_ARN,
      rolesAnywhere: { trustAnchorArn: TRUST_ANCHOR_ARN },
      userPoolArn: USER_POOL_ARN,
      receiptRules: { deliveryRoleArn: DELIVERY_ROLE_ARN },
    });

    // Act
    const assembly = app.synth();

    // Assess
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });
});

describe('the break-glass account calls the sync really makes', () => {
  let server: DynamoDbServer;
  let aws: FakeAws;
  let workDir: string;
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    [server, aws] = await Promise.all([startDynalite(), startFakeAws()]);
    useFakeAws(aws);
    workDir = await mkdtemp(join(tmpdir(), 'shadowmail-sync-role-pool-'));
  });
  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([server?.stop(), aws?.close(), rm(workDir, { recursive: true, force: true })]);
  });

  it('are all granted on the pool, and every granted one is used by a create, change, disable, enable and delete', async () => {
    // Prepare
    const statement = statementsOf(build({ userPoolArn: USER_POOL_ARN }).role).find((s) => s.Sid === 'BreakGlassAccounts')!;
    const tableName = 'corp-mail-pool';
    const client = makeDynamoDbClient(server.endpoint);
    await createMessageTable(client, tableName);
    client.destroy();
    aws.doctor.cognitoUsers.addPool(POOL_ID);
    const target = ['--table', tableName, '--region', 'eu-central-1', '--endpoint', server.endpoint, '--user-pool-id', POOL_ID];
    const file = (name: string, rows: string[]) => {
      const path = join(workDir, name);
      return writeFile(path, `${['id,mailbox,disabled,mobile', ...rows].join('\n')}\n`).then(() => path);
    };
    const runs = [
      await file('1.csv', [
        'a,alice@corp.test,false,0170 1000001',
        'b,bob@corp.test,false,0170 1000002',
        'c,carol@corp.test,false,0170 1000003',
      ]),
      await file('2.csv', ['a,alice@corp.test,false,0170 2000001', 'b,bob@corp.test,true,0170 1000002']),
      await file('3.csv', ['a,alice@corp.test,false,0170 2000001', 'b,bob@corp.test,false,0170 1000002']),
    ];

    // Act
    const results = [];
    for (const csvFile of runs) results.push(await cli('import', csvFile, ...target));

    // Assess
    for (const result of results) expect(result.code, result.err).toBe(0);
    const calls = aws.requests.filter((request) => request.service === 'cognito');
    expect(calls.every((call) => call.params.UserPoolId === POOL_ID)).toBe(true);
    const used = [...new Set(calls.map((call) => `cognito-idp:${call.action}`))].sort();
    expect(used).toEqual([...statement.Action].sort());
    expect([...BREAK_GLASS_ACCOUNT_ACTIONS].sort()).toEqual(used);
    expect(statement.Resource).toBe(USER_POOL_ARN);
  });
});
