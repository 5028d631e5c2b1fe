// The reconcile role as CloudFormation: a policy of exactly the DynamoDB calls and
// partition keys reconcile makes — held against the real use case (lambdas/core/reconcile.ts
// on the real DynamoDB adapters) run against dynalite behind a recording proxy, every
// request evaluated against the synthesized statements — plus the stateful stack's
// outputs, the Sent copies under sent/ and their key through S3 only. Trusted as the
// directory-sync role. cdk-nag AwsSolutions must pass. Bundling is skipped.
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { SENT_PREFIX } from '../../../../lambdas/contract/raw-mail-bucket.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { DEFAULT_SENT_FOLDER_NAMES, reconcile } from '../../../../lambdas/core/reconcile.ts';
import type { ReconcileJournal, ReconcileJournalState } from '../../../../lambdas/ports/reconcile-journal.ts';
import { MessageIndex } from '../../../../lib/constructs/message-index.ts';
import { RawMailBucket } from '../../../../lib/constructs/raw-mail-bucket.ts';
import { ReconcileRole, type ReconcileRoleProps } from '../../../../lib/constructs/reconcile-role.ts';
import type { CfnJson, CfnResource } from '../../../support/cfn-resource.ts';
import { allows, type PolicyStatement, recordingProxy } from '../../../support/dynamodb-policy.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { MemoryRawMailStore } from '../../../support/memory-adapters.ts';
import { MemoryImapMailboxes } from '../../../support/memory-imap-mailboxes.ts';
import { putReceived, putSentCopy, rawMessage } from '../../../support/reconcile-mail.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-reconcile-role-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

const TRUST_ANCHOR_ARN = 'arn:aws:rolesanywhere:eu-central-1:123456789012:trust-anchor/11111111-2222-3333-4444-555555555555';

function build(props: Partial<Omit<ReconcileRoleProps, 'table' | 'sentReadPolicy'>> = {}) {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Reconcile', { env: { account: '123456789012', region: 'eu-central-1' } });
  const index = new MessageIndex(stack, 'MessageIndex');
  const raw = new RawMailBucket(stack, 'RawMail', { rawPrefix: 'raw/', keyAlias: 'alias/shadowmail/test', retentionDays: 28 });
  const role = new ReconcileRole(stack, 'Reconcile', {
    table: index.table,
    sentReadPolicy: raw.sentReadPolicy,
    statefulStackName: 'prod-stateful',
    ...props,
  });
  const template = Template.fromStack(stack);
  const roles = Object.entries(template.findResources('AWS::IAM::Role') as Record<string, CfnResource>).filter(
    ([id]) => id === stack.getLogicalId(role.role.node.defaultChild as never),
  );
  expect(roles).toHaveLength(1);
  return {
    template,
    role: roles[0]![1].Properties,
    roleId: roles[0]![0],
    tableId: stack.getLogicalId(index.table.node.defaultChild as never),
    bucketId: stack.getLogicalId(raw.bucket.node.defaultChild as never),
    keyId: stack.getLogicalId(raw.key.node.defaultChild as never),
    sentPolicyId: stack.getLogicalId(raw.sentReadPolicy.node.defaultChild as never),
  };
}

const statementsOf = (role: Record<string, CfnJson>): PolicyStatement[] => {
  expect(role.Policies).toHaveLength(1);
  return role.Policies[0].PolicyDocument.Statement;
};
const dynamoStatements = (role: Record<string, CfnJson>) =>
  statementsOf(role).filter((s) => [s.Action].flat().every((a) => String(a).startsWith('dynamodb:')));

class MemoryJournal implements ReconcileJournal {
  readonly where = 'memory';
  state: ReconcileJournalState = { job: null, pending: [] };
  async read() {
    return structuredClone(this.state);
  }
  async write(state: ReconcileJournalState) {
    this.state = structuredClone(state);
  }
}

describe('permissions against what reconcile really sends', () => {
  let server: DynamoDbServer;
  beforeAll(async () => {
    server = await startDynalite();
  });
  afterAll(async () => server?.stop());

  it('allows every request of a run over all mailboxes and of one by alias, with read state, and grants no DynamoDB call it does not make', async () => {
    // Prepare
    const { role, tableId } = build();
    const statements = dynamoStatements(role);
    const tableName = 'shadowmail-prod-MessageIndexTable';
    const direct = makeDynamoDbClient(server.endpoint);
    await createMessageTable(direct, tableName);
    const seedIndex = new DynamoDbMessageIndex({ client: direct, tableName });
    const directory = new DynamoDbDirectoryStore({ client: direct, tableName });
    const alice = 'alice@corp.example';
    await directory.putUsers([makeDirectoryUser({ id: 'a', mailbox: alice, aliases: ['info@corp.example'] })]);
    await directory.putAddresses([
      { address: alice, mailbox: alice },
      { address: 'info@corp.example', mailbox: alice },
    ]);
    const raw = new MemoryRawMailStore();
    const store = { index: seedIndex, raw: { put: async (l: never, b: Buffer) => raw.put(l, b) }, bucket: 'raw', expiresAt: 4_102_444_800 };
    const at = new Date(Date.now() - 3_600_000);
    await putSentCopy(store, alice, 'sent-1', rawMessage('<s1@corp.example>', 'reply', alice, at), at);
    await putReceived(store, alice, 'in-1', rawMessage('<r1@partner.example>', 'hello', 'p@partner.example', at), at, {
      read: true,
      state: 'delivered',
    });
    await putReceived(store, alice, 'in-2', rawMessage('<r2@partner.example>', 'later', 'p@partner.example', at), at, {
      read: true,
      state: 'queued',
    });
    const imap = new MemoryImapMailboxes().addUser(alice);
    imap.deliver(alice, rawMessage('<r1@partner.example>', 'hello', 'p@partner.example', at), at);
    const proxy = await recordingProxy(server.endpoint);
    const client = makeDynamoDbClient(proxy.endpoint);
    const deps = {
      index: new DynamoDbMessageIndex({ client, tableName }),
      directory: new DynamoDbDirectoryStore({ client, tableName }),
      audit: new DynamoDbAuditLog({ client, tableName }),
      rawStore: raw,
      imap,
      journal: new MemoryJournal(),
      clock: { now: () => new Date() },
      sentKeyPrefix: SENT_PREFIX,
    };
    const request = {
      actor: 'cli:ops@host',
      server: 'imaps://x',
      readState: true,
      dryRun: false,
      sentFolderNames: DEFAULT_SENT_FOLDER_NAMES,
    };

    // Act
    let reports: Awaited<ReturnType<typeof reconcile>>[];
    try {
      reports = [
        await reconcile({ ...request, mailboxes: [] }, deps),
        await reconcile({ ...request, mailboxes: ['info@corp.example'] }, deps),
      ];
    } finally {
      client.destroy();
      direct.destroy();
      await proxy.close();
    }

    // Assess
    expect(reports[0]!.summary).toMatchObject({ appended: 1, markedRead: 1, pending: 1 });
    expect(reports[1]!.summary).toMatchObject({ alreadyThere: 1, markedRead: 1 });
    const table = { 'Fn::GetAtt': [tableId, 'Arn'] };
    expect(proxy.calls.filter((call) => !allows(statements, call, { table }))).toEqual([]);
    const granted = new Set(statements.flatMap((s) => [s.Action].flat()));
    expect([...granted].sort()).toEqual([...new Set(proxy.calls.map((c) => `dynamodb:${c.action}`))].sort());
    const keysOf = (action: string) =>
      new Set(proxy.calls.filter((c) => c.action === action).flatMap((c) => c.leadingKeys.map((k) => k.split('#')[0])));
    expect(keysOf('Query')).toEqual(new Set(['DIR', 'MBX', 'MSG']));
    expect(keysOf('GetItem')).toEqual(new Set(['ADDR', 'DIR', 'MSG']));
    expect(keysOf('PutItem')).toEqual(new Set(['AUDIT']));
  });

  it.each([
    ['writing a message', { action: 'PutItem', leadingKeys: ['MSG#0001'] }],
    ['changing a mailbox entry', { action: 'UpdateItem', leadingKeys: ['MBX#a@corp.example'] }],
    ['writing the directory', { action: 'BatchWriteItem', leadingKeys: ['ADDR#a@corp.example'] }],
    ['reading the audit log', { action: 'Query', leadingKeys: ['AUDIT#2030-01-01'] }],
    ['changing an audit entry', { action: 'UpdateItem', leadingKeys: ['AUDIT#2030-01-01'] }],
    ['reading sessions', { action: 'GetItem', leadingKeys: ['SESSION#abc'] }],
    ['reading the lookup index', { action: 'Query', leadingKeys: ['RCPT#a@corp.example'], index: 'gsi1' }],
    ['a Scan', { action: 'Scan', leadingKeys: [] }],
  ])('denies %s', (_what, call) => {
    // Prepare
    const built = build();
    // Act
    const allowed = allows(dynamoStatements(built.role), { table: 't', ...call }, { table: { 'Fn::GetAtt': [built.tableId, 'Arn'] } });
    // Assess
    expect(allowed).toBe(false);
  });
});

describe('the role', () => {
  it('reads only the Sent copies of the raw-mail bucket, decrypts through S3 only, and reads the stateful stack', () => {
    // Act
    const { role, template, bucketId, keyId, sentPolicyId } = build();
    // Assess
    const others = statementsOf(role).filter((s) => !String([s.Action].flat()[0]).startsWith('dynamodb:'));
    expect(others).toEqual([
      {
        Sid: 'StackOutputs',
        Effect: 'Allow',
        Action: 'cloudformation:DescribeStacks',
        Resource: 'arn:aws:cloudformation:eu-central-1:123456789012:stack/prod-stateful/*',
      },
    ]);
    expect(role.ManagedPolicyArns).toEqual([{ Ref: sentPolicyId }]);
    const policy = template.findResources('AWS::IAM::ManagedPolicy')[sentPolicyId] as CfnResource;
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'SentCopies',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${SENT_PREFIX}*`]] },
      },
      {
        Sid: 'SentCopiesKey',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-central-1.amazonaws.com' } },
      },
    ]);
  });

  it('is trusted like the directory-sync role: external id, Roles Anywhere for one anchor, one-hour sessions; outputs ReconcileRoleArn', () => {
    // Act
    const { role, template, roleId } = build({ externalId: 'shadowmail-7f3a', rolesAnywhere: { trustAnchorArn: TRUST_ANCHOR_ARN } });
    // Assess
    expect(role.MaxSessionDuration).toBe(3600);
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'shadowmail-7f3a' } } }),
      expect.objectContaining({
        Principal: { Service: 'rolesanywhere.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': TRUST_ANCHOR_ARN } },
      }),
    ]);
    template.hasOutput('ReconcileRoleArn', { Value: { 'Fn::GetAtt': [roleId, 'Arn'] } });
  });
});
