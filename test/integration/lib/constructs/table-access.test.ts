// Least privilege inside the table (issue 14): each function's table statements as
// CloudFormation, held against what its real handler sends. The handler runs with its
// real DynamoDB adapter against dynalite behind a recording proxy (the raw store, queues
// and relay are the in-memory stand-ins: they never reach DynamoDB); every request on
// the wire must be allowed by the synthesized statements, and every action and every
// partition pattern granted must have been used. Forbidden calls (the audit log, the
// directory, a Scan) are evaluated against the same statements.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { DynamoDbResendJobs } from '../../../../lambdas/adapters/aws/dynamodb-resend-jobs.ts';
import { DynamoDbSendCounter } from '../../../../lambdas/adapters/aws/dynamodb-send-counter.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { MailparserMimeParser } from '../../../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { ENV, WEB_ENV } from '../../../../lambdas/contract/environment.ts';
import { MESSAGE_TABLE } from '../../../../lambdas/contract/message-table.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { cancelResend, DEFAULT_RESEND_CONFIG, getResendJob, listResendJobs, startResend } from '../../../../lambdas/core/resend.ts';
import { createForwardHandler } from '../../../../lambdas/handlers/forward.ts';
import { createIngestHandler } from '../../../../lambdas/handlers/ingest.ts';
import { createObservability } from '../../../../lambdas/handlers/observability.ts';
import { createResendHandler } from '../../../../lambdas/handlers/resend.ts';
import { buildReceiptNotification, wrapInSnsEnvelope } from '../../../../lambdas/handlers/ses-receipt-event.ts';
import type { ResendStep } from '../../../../lambdas/ports/resend-jobs.ts';
import { buildAwsWebmailDeps } from '../../../../lambdas/wiring/aws.ts';
import { readAwsWebEnv } from '../../../../lambdas/wiring/env.ts';
import { MessageIndex } from '../../../../lib/constructs/message-index.ts';
import { grantTableAccess, TABLE_ACCESS, type TableAccess } from '../../../../lib/constructs/table-access.ts';
import type { CfnResource } from '../../../support/cfn-resource.ts';
import { allows, type DynamoCall, glob, type PolicyStatement, recordingProxy, usage } from '../../../support/dynamodb-policy.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { makeEntry, makeRecord, putReceived } from '../../../support/index-contract/fixtures.ts';
import {
  ManualClock,
  MemoryRawMailStore,
  RecordingForwardQueue,
  RecordingMessageVisibility,
  ScriptedRelay,
} from '../../../support/memory-adapters.ts';
import { simpleMessage } from '../../../support/received-mail.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-table-access-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

/** The role's statements as synthesized, with the table's and the lookup index's ARNs as the template writes them. */
const synthesized = new Map<TableAccess, ReturnType<typeof synthesizeOnce>>();
const synthesize = (access: TableAccess) => synthesized.get(access) ?? synthesized.set(access, synthesizeOnce(access)).get(access)!;

function synthesizeOnce(access: TableAccess) {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')) });
  const stack = new Stack(app, 'Access');
  const index = new MessageIndex(stack, 'MessageIndex');
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  grantTableAccess(role, index.table, access);
  const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy') as Record<string, CfnResource>);
  expect(policies).toHaveLength(1);
  const table = { 'Fn::GetAtt': [stack.getLogicalId(index.table.node.defaultChild as never), 'Arn'] };
  return {
    statements: policies[0]!.Properties.PolicyDocument.Statement as PolicyStatement[],
    resources: { table, index: { 'Fn::Join': ['', [table, `/index/${MESSAGE_TABLE.lookupIndex.name}`]] } },
  };
}

/** Every request allowed; every action and partition pattern of every statement used by some request. */
function expectExactly(access: TableAccess, calls: DynamoCall[]): void {
  const { statements, resources } = synthesize(access);
  const summary = JSON.stringify(usage(calls));
  expect(
    calls.filter((call) => !allows(statements, call, resources)),
    summary,
  ).toEqual([]);
  for (const statement of statements) {
    const onTable = JSON.stringify(statement.Resource) === JSON.stringify(resources.table);
    const patterns = (statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? ['*']) as string[];
    const mine = calls.filter((call) => (call.index === undefined) === onTable);
    for (const action of [statement.Action].flat()) {
      expect(
        mine.some(
          (call) => `dynamodb:${call.action}` === action && call.leadingKeys.some((key) => patterns.some((p) => glob(p).test(key))),
        ),
        `${statement.Sid ?? 'index'}: ${action} unused (${summary})`,
      ).toBe(true);
    }
    for (const pattern of patterns) {
      expect(
        mine.some((call) => call.leadingKeys.some((key) => glob(pattern).test(key))),
        `${statement.Sid}: ${pattern} unused (${summary})`,
      ).toBe(true);
    }
  }
}

function denies(access: TableAccess, call: Omit<DynamoCall, 'table'>): boolean {
  const { statements, resources } = synthesize(access);
  return !allows(statements, { table: 't', ...call }, resources);
}

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-central-1:123456789012:q',
    awsRegion: 'eu-central-1',
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
  };
}

// carol is refused for good: the sender (SPF passed) gets a non-delivery report, counted per domain.
const notification = (id: string, envelopeRecipients = ['alice@corp.test', 'bob@corp.test', 'carol@corp.test']) =>
  wrapInSnsEnvelope(
    buildReceiptNotification({
      sesMessageId: id,
      receivedAt: new Date('2026-11-20T10:00:00Z'),
      envelopeFrom: 'p@partner.test',
      envelopeRecipients,
      bucket: 'raw',
      key: id,
      headers: [],
      commonHeaders: {},
      authentication: { spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' },
    }),
    `sns-${id}`,
  );

describe('the pipeline functions against what their handlers really send', () => {
  let server: DynamoDbServer;
  const saved = { ...process.env };
  const pipeline = { calls: { ingest: [] as DynamoCall[], forward: [] as DynamoCall[] } };

  beforeAll(async () => {
    server = await startDynalite();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-central-1' });
    const tableName = 'corp-mail-messages';
    const admin = makeDynamoDbClient(server.endpoint);
    await createMessageTable(admin, tableName);
    admin.destroy();
    const proxy = await recordingProxy(server.endpoint);
    const client = makeDynamoDbClient(proxy.endpoint);
    const index = new DynamoDbMessageIndex({ client, tableName });
    const store = new MemoryRawMailStore();
    const jobs = new RecordingForwardQueue();
    const clock = new ManualClock('2026-11-20T10:00:01Z');
    const observability = createObservability('test');
    for (const id of ['m-1', 'm-2', 'm-3']) store.put({ bucket: 'raw', key: id }, simpleMessage());
    const ingest = createIngestHandler({
      index,
      rawStore: store,
      parser: new MailparserMimeParser(),
      forwardQueue: jobs,
      clock,
      config: { retentionDays: 28, stackId: 'corp-mail', leaseMs: 60_000, subaddressSeparator: '+' },
      retryVisibility: new RecordingMessageVisibility(),
      ...observability,
    });
    const relay = new ScriptedRelay();
    relay.codes.set('bob@corp.test', 451);
    relay.codes.set('carol@corp.test', 550);
    const forward = createForwardHandler({
      index,
      rawStore: store,
      relay,
      forwardQueue: new RecordingForwardQueue(),
      clock,
      config: { stackId: 'corp-mail', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 60_000 },
      // As the AWS wiring builds it, the table side real (the send counter); SES's SendBounce has no stand-in.
      nonDelivery: {
        sender: { send: async () => ({ sent: true, providerMessageId: 'bounce-1' }) },
        counter: new DynamoDbSendCounter({ client, tableName }),
        reportingMta: 'inbound-smtp.eu-central-1.amazonaws.com',
      },
      retryVisibility: new RecordingMessageVisibility(),
      ...observability,
    });
    try {
      // Three messages; m-3's forward job cannot be queued at first (the gate is released), m-1 comes twice (the gate says done).
      const first = await ingest({ Records: ['m-1', 'm-2'].map((id) => sqsRecord(`i-${id}`, notification(id))) }, context);
      jobs.failNext = true;
      const refused = await ingest({ Records: [sqsRecord('i-m-3', notification('m-3'))] }, context);
      const again = await ingest({ Records: ['m-3', 'm-1'].map((id) => sqsRecord(`again-${id}`, notification(id))) }, context);
      // m-2 also matched a second receipt rule: its notification adds dave to the record (design.md §12.20).
      const rule2 = await ingest({ Records: [sqsRecord('i-m-2-rule-2', notification('m-2', ['dave@corp.test']))] }, context);
      expect([first, refused, again, rule2].map((r) => r.batchItemFailures.map((f) => f.itemIdentifier))).toEqual([[], ['i-m-3'], [], []]);
      pipeline.calls.ingest = proxy.calls.splice(0);
      // Forward: alice delivered, bob deferred; m-3's bytes vanish before its job runs (released), m-1's job comes twice (done).
      store.objects.delete('raw/m-3');
      const sent = jobs.sent.map((s, i) => sqsRecord(`f-${i}`, JSON.stringify(s.job)));
      await forward({ Records: sent }, context);
      await forward({ Records: [sent[0]!] }, context);
      pipeline.calls.forward = proxy.calls.splice(0);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });
  afterAll(async () => {
    process.env = saved;
    await server?.stop();
  });

  it.each(['ingest', 'forward'] as const)('%s: every request allowed, nothing granted that it does not use', (role) => {
    // Assess
    expect(pipeline.calls[role].length).toBeGreaterThan(0);
    expectExactly(TABLE_ACCESS[role], pipeline.calls[role]);
  });
});

describe('the webmail against what its adapters really send, as its AWS wiring builds them', () => {
  let server: DynamoDbServer;
  const saved = { ...process.env };
  let calls: DynamoCall[] = [];

  beforeAll(async () => {
    server = await startDynalite();
    const tableName = 'corp-mail-messages';
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-central-1' });
    // What the sync and the ingest left in the table, written around the proxy.
    const admin = makeDynamoDbClient(server.endpoint);
    await createMessageTable(admin, tableName);
    const now = Date.now();
    const record = makeRecord('web-0001', {
      receivedAt: new Date(now - 10 * 60_000).toISOString(),
      expiresAt: Math.floor(now / 1000) + 30 * 86_400,
      envelopeRecipients: ['bob@corp.test'],
    });
    const seed = new DynamoDbMessageIndex({ client: admin, tableName });
    await putReceived(seed, record);
    await seed.putMailboxEntry(makeEntry('bob@corp.test', 'web-0001', { receivedAt: record.receivedAt, expiresAt: record.expiresAt }));
    const sync = new DynamoDbDirectoryStore({ client: admin, tableName });
    await sync.beginSync('sync', new Date(now), 60_000);
    await sync.putUsers([makeDirectoryUser({ id: 'b1', mailbox: 'bob@corp.test', aliases: ['robert@corp.test'] })]);
    await sync.putAddresses([{ address: 'robert@corp.test', mailbox: 'bob@corp.test' }]);
    await sync.finishSync('sync', new Date(now));
    admin.destroy();

    const proxy = await recordingProxy(server.endpoint);
    process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpoint;
    const env = readAwsWebEnv({
      [WEB_ENV.failoverParameter]: '/corp-mail/failover',
      [WEB_ENV.userPoolId]: 'eu-central-1_AbCdEf123',
      [WEB_ENV.userPoolClientId]: 'client-123',
      [WEB_ENV.publicUrl]: 'https://mail.corp.example',
      [WEB_ENV.sessionSecretArn]: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:session-AbCdEf',
      [WEB_ENV.rawBucket]: 'corp-mail-raw',
      [WEB_ENV.breakGlassAdmins]: 'breakglass1@corp.test',
      [ENV.tableName]: tableName,
      [ENV.resendQueueUrl]: 'https://sqs.eu-central-1.amazonaws.com/123456789012/corp-mail-resend',
      [ENV.stackId]: 'corp-mail',
    });
    const webmail = buildAwsWebmailDeps(env, { sessionSecret: 'table-access-session-secret-0123456789abcdef', clientSecret: null });
    const { admin: console_, declare, sessions, directory } = webmail;
    const index = console_!.index;
    expect(index).toBeInstanceOf(DynamoDbMessageIndex);
    expect(directory).toBeInstanceOf(DynamoDbDirectoryStore);
    const mail = index as unknown as DynamoDbMessageIndex;
    const users = directory as DynamoDbDirectoryStore;
    const at = new Date();
    try {
      // Sign-in and every request: the session and the directory.
      await sessions!.create({
        id: 's-1',
        email: 'bob@corp.test',
        tokenAdmin: false,
        createdAt: now,
        expiresAt: now + 3_600_000,
        signedOut: false,
      });
      await sessions!.get('s-1', at);
      await sessions!.signOut('s-1');
      expect(await users.hasSynced()).toBe(true);
      expect(await users.userForAddress('robert@corp.test')).toMatchObject({ mailbox: 'bob@corp.test' });
      // Staff notices list the directory.
      expect((await users.readState()).users).toHaveLength(1);
      // The mailbox pages: list, open, mark read, the deliveries; a Sent copy under a send's once-gate.
      expect(await mail.mailboxFor('robert@corp.test')).toBe('bob@corp.test');
      const page = await mail.listMailboxPage('bob@corp.test', { folder: 'inbox', limit: 10 }, at);
      expect(page.entries.map((e) => e.sesMessageId)).toEqual(['web-0001']);
      await mail.getMailboxEntry('bob@corp.test', 'web-0001', at);
      await mail.getMessage('web-0001', at);
      await mail.updateMailboxEntry('bob@corp.test', 'web-0001', { read: true });
      await mail.getDeliveryStates('web-0001', at);
      expect(await mail.acquireOnce('webmail-send#bob@corp.test#d-1', 'w-1', at, 60_000)).toBe('acquired');
      await mail.putMessage(
        makeRecord('sent-0001', { envelopeRecipients: ['partner@example.org'], expiresAt: Math.floor(now / 1000) + 86_400 }),
      );
      await mail.putMailboxEntry(makeEntry('bob@corp.test', 'sent-0001', { folder: 'sent' }));
      await mail.completeOnce('webmail-send#bob@corp.test#d-1', 'w-1');
      expect(await mail.acquireOnce('webmail-send#bob@corp.test#d-1', 'w-2', at, 60_000)).toBe('done');
      await mail.acquireOnce('webmail-send#bob@corp.test#d-2', 'w-1', at, 60_000);
      await mail.releaseOnce('webmail-send#bob@corp.test#d-2', 'w-1');
      // The admin console: trace, a bulk resend started, listed and cancelled, the audit log.
      await mail.findMessages({ recipient: 'bob@corp.test', limit: 10 }, at);
      await mail.searchMessages({ recipient: 'bob@corp.test', limit: 10 }, at);
      const since = new Date(now - 3_600_000).toISOString();
      const until = new Date(now + 60_000).toISOString();
      await mail.listReceived({ since, until, limit: 10 }, at);
      const resend = { ...console_!.resend, queue: { enqueue: async () => {} } };
      const job = await startResend('admin@corp.test', { kind: 'all', since, until }, resend);
      await listResendJobs({}, resend);
      await getResendJob(job.id, resend);
      await cancelResend('admin@corp.test', job.id, resend);
      await console_!.audit.list({ since, until: new Date(Date.now() + 60_000).toISOString(), limit: 10 });
      // The first page: the recipients the backlog still holds.
      await console_!.index.countPendingRecipients(at);
      // A send counted against the user's limits, and given back (a send that did not happen).
      const counter = new DynamoDbSendCounter({ client: makeDynamoDbClient(proxy.endpoint), tableName });
      const window = {
        mailbox: 'bob@corp.test',
        window: 'H#2026-11-20T10',
        maxMessages: 30,
        maxRecipients: 200,
        expiresAt: new Date(now + 86_400_000),
      };
      expect(await counter.add(window, 3)).toBe(true);
      await counter.subtract('bob@corp.test', 'H#2026-11-20T10', 3);
      // The backlog alarm's link: used once, given back.
      const link = 'outage-link#l-1';
      expect(await declare!.singleUse.take(link, 'breakglass1@corp.test', new Date(now + 600_000), at)).toBe(true);
      await declare!.singleUse.isTaken(link, at);
      await declare!.singleUse.giveBack(link, 'breakglass1@corp.test');
      calls = proxy.calls.splice(0);
    } finally {
      await proxy.close();
    }
  });
  afterAll(async () => {
    process.env = saved;
    await server?.stop();
  });

  it('every request allowed, nothing granted that it does not use', () => {
    // Assess
    expectExactly(TABLE_ACCESS.webmail, calls);
  });

  it.each([
    ['change an audit entry', { action: 'UpdateItem', leadingKeys: ['AUDIT#2026-11-20'] }],
    ['delete an audit entry', { action: 'DeleteItem', leadingKeys: ['AUDIT#2026-11-20'] }],
    ['batch-overwrite audit entries', { action: 'BatchWriteItem', leadingKeys: ['AUDIT#2026-11-20'] }],
    ['write an address', { action: 'PutItem', leadingKeys: ['ADDR#alice@corp.test'] }],
    ['batch-write addresses beside mail', { action: 'BatchWriteItem', leadingKeys: ['MSG#m-1', 'ADDR#alice@corp.test'] }],
    ['write the directory', { action: 'BatchWriteItem', leadingKeys: ['DIR#0'] }],
    ['take over the sync state', { action: 'UpdateItem', leadingKeys: ['DIR#STATE'] }],
    ['write an admin setup window', { action: 'PutItem', leadingKeys: ['SETUP#breakglass1@corp.test'] }],
    ['scan the table', { action: 'Scan', leadingKeys: [] }],
  ])('denies to the webmail: %s', (_what, call) => {
    // Act
    const denied = denies(TABLE_ACCESS.webmail, call);

    // Assess
    expect(denied).toBe(true);
  });
});

describe('the resend worker against what its handler really sends', () => {
  let server: DynamoDbServer;
  const saved = { ...process.env };
  let calls: DynamoCall[] = [];

  beforeAll(async () => {
    server = await startDynalite();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-central-1' });
    const tableName = 'corp-mail-messages';
    const admin = makeDynamoDbClient(server.endpoint);
    await createMessageTable(admin, tableName);
    const now = Date.now();
    const store = new MemoryRawMailStore();
    const seed = new DynamoDbMessageIndex({ client: admin, tableName });
    for (const [i, id] of ['rs-0001', 'rs-0002'].entries()) {
      const record = makeRecord(id, {
        receivedAt: new Date(now - (20 - i) * 60_000).toISOString(),
        expiresAt: Math.floor(now / 1000) + 30 * 86_400,
        envelopeRecipients: ['alice@corp.test', 'bob@corp.test'],
        raw: { bucket: 'raw', key: id },
      });
      await putReceived(seed, record);
      for (const mailbox of record.envelopeRecipients) {
        await seed.putMailboxEntry(makeEntry(mailbox, id, { receivedAt: record.receivedAt, expiresAt: record.expiresAt }));
      }
      store.put(record.raw, simpleMessage());
    }
    // Jobs as the admin console starts them (its own role, around the proxy), their steps on a queue in memory.
    const steps: ResendStep[] = [];
    const queue = {
      failNext: false,
      enqueue: async (more: ResendStep[]) => {
        if (queue.failNext) {
          queue.failNext = false;
          throw new Error('queue unavailable');
        }
        steps.push(...more);
      },
    };
    const clock = new ManualClock(new Date(now).toISOString());
    const console_ = {
      index: seed,
      jobs: new DynamoDbResendJobs({ client: admin, tableName }),
      queue,
      audit: { append: async () => {}, list: async () => ({ events: [], nextCursor: null }) },
      clock,
      config: DEFAULT_RESEND_CONFIG,
    };
    const since = new Date(now - 3_600_000).toISOString();
    const until = new Date(now + 60_000).toISOString();
    await startResend('admin@corp.test', { kind: 'all', since, until }, console_);
    await startResend('admin@corp.test', { kind: 'mailbox', mailbox: 'alice@corp.test', since, until }, console_);
    await startResend('admin@corp.test', { kind: 'message', sesMessageId: 'rs-0001', recipients: ['bob@corp.test'] }, console_);
    const cancelled = await startResend('admin@corp.test', { kind: 'message', sesMessageId: 'rs-0002' }, console_);
    await cancelResend('admin@corp.test', cancelled.id, console_);

    const proxy = await recordingProxy(server.endpoint);
    const client = makeDynamoDbClient(proxy.endpoint);
    const relay = new ScriptedRelay();
    relay.codes.set('bob@corp.test', 451);
    const worker = createResendHandler({
      index: new DynamoDbMessageIndex({ client, tableName }),
      rawStore: store,
      relay,
      jobs: new DynamoDbResendJobs({ client, tableName }),
      queue,
      clock,
      retryVisibility: new RecordingMessageVisibility(),
      config: {
        ...DEFAULT_RESEND_CONFIG,
        stackId: 'corp-mail',
        leaseMs: 60_000,
        maxAttempts: 2,
        retryBaseSeconds: 1,
        retryMaxDelaySeconds: 1,
      },
      ...createObservability('test'),
    });
    try {
      // As Lambda's event source delivers them, until the queue is empty: the first step cannot queue
      // its next ones (its gate is released, it comes again), one step is delivered twice.
      queue.failNext = true;
      for (let round = 0; round < 20 && steps.length > 0; round += 1) {
        const batch = steps.splice(0);
        if (round === 1) batch.push(batch[0]!);
        const records = batch.map((step, i) => sqsRecord(`r-${round}-${i}`, JSON.stringify(step)));
        const { batchItemFailures } = await worker({ Records: records }, context);
        for (const failure of batchItemFailures) steps.push(batch[records.findIndex((r) => r.messageId === failure.itemIdentifier)]!);
        clock.advance(5_000);
      }
      expect(steps).toEqual([]);
      calls = proxy.calls.splice(0);
    } finally {
      client.destroy();
      admin.destroy();
      await proxy.close();
    }
  });
  afterAll(async () => {
    process.env = saved;
    await server?.stop();
  });

  it('every request allowed, nothing granted that it does not use', () => {
    // Assess
    expectExactly(TABLE_ACCESS.resend, calls);
  });

  it.each([
    ['append to the audit log', { action: 'PutItem', leadingKeys: ['AUDIT#2026-11-20'] }],
    ['change an audit entry', { action: 'UpdateItem', leadingKeys: ['AUDIT#2026-11-20'] }],
    ['write an address', { action: 'PutItem', leadingKeys: ['ADDR#alice@corp.test'] }],
    ['write the directory', { action: 'BatchWriteItem', leadingKeys: ['DIR#0'] }],
    ['read a session', { action: 'GetItem', leadingKeys: ['SESSION#s-1'] }],
    ['scan the table', { action: 'Scan', leadingKeys: [] }],
  ])('denies to the resend worker: %s', (_what, call) => {
    // Act
    const denied = denies(TABLE_ACCESS.resend, call);

    // Assess
    expect(denied).toBe(true);
  });
});

describe('what no pipeline function may do', () => {
  it.each([
    ['append to the audit log', { action: 'PutItem', leadingKeys: ['AUDIT#2026-11-20'] }],
    ['change an audit entry', { action: 'UpdateItem', leadingKeys: ['AUDIT#2026-11-20'] }],
    ['delete an audit entry', { action: 'DeleteItem', leadingKeys: ['AUDIT#2026-11-20'] }],
    ['batch-delete audit entries beside a message item', { action: 'BatchWriteItem', leadingKeys: ['MSG#m-1', 'AUDIT#2026-11-20'] }],
    ['write an address', { action: 'PutItem', leadingKeys: ['ADDR#alice@corp.test'] }],
    ['write the directory', { action: 'BatchWriteItem', leadingKeys: ['DIR#0'] }],
    ['read a session', { action: 'GetItem', leadingKeys: ['SESSION#s-1'] }],
    ['scan the table', { action: 'Scan', leadingKeys: [] }],
    ['query the lookup index', { action: 'Query', leadingKeys: ['RCPT#alice@corp.test'], index: 'gsi1' }],
  ])('denies to ingest and forward: %s', (_what, call) => {
    // Act
    const denied = (['ingest', 'forward'] as const).map((role) => denies(TABLE_ACCESS[role], call));

    // Assess
    expect(denied).toEqual([true, true]);
  });
});

// Why the lookup index is queried without dynamodb:LeadingKeys: AWS documents the key as "the first
// key attribute of a table—in other words, the partition key", and its one index example is a table
// and its local index, which share that key; what the key holds for a Query on a global secondary
// index is not documented (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
// A condition there could deny the real searches or hold nothing. It would hide nothing either, and
// this proves it: the index carries only keys and expiresAt, of items in partitions that every role
// querying it may read on the table anyway.
describe('the lookup index, queried without a LeadingKeys condition', () => {
  let server: DynamoDbServer;
  let items: Array<Record<string, { S?: string; N?: string }>> = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    server = await startDynalite();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-central-1' });
    const tableName = 'corp-mail-messages';
    const admin = makeDynamoDbClient(server.endpoint);
    try {
      await createMessageTable(admin, tableName);
      const now = Date.now();
      const index = new DynamoDbMessageIndex({ client: admin, tableName });
      // Everything that writes the index keys: a received message (its RCPT, FROM, MID and DAY lookups) and a resend job (the job list).
      const record = makeRecord('lk-0001', {
        receivedAt: new Date(now - 60_000).toISOString(),
        expiresAt: Math.floor(now / 1000) + 30 * 86_400,
        envelopeRecipients: ['alice@corp.test'],
      });
      await putReceived(index, record);
      const resend = {
        index,
        jobs: new DynamoDbResendJobs({ client: admin, tableName }),
        queue: { enqueue: async () => {} },
        audit: { append: async () => {}, list: async () => ({ events: [], nextCursor: null }) },
        clock: new ManualClock(new Date(now).toISOString()),
        config: DEFAULT_RESEND_CONFIG,
      };
      await startResend('admin@corp.test', { kind: 'message', sesMessageId: 'lk-0001' }, resend);
      items = (await admin.send(new ScanCommand({ TableName: tableName, IndexName: MESSAGE_TABLE.lookupIndex.name })))
        .Items as typeof items;
    } finally {
      admin.destroy();
    }
  });

  afterAll(async () => {
    process.env = saved;
    await server?.stop();
  });

  it('holds only keys and expiresAt, of items every role that queries it may read on the table', () => {
    // Prepare
    const { partitionKey, sortKey, lookupIndex, ttlAttribute } = MESSAGE_TABLE;
    const querying = Object.entries(TABLE_ACCESS).filter(([, access]) => access.lookupIndex);

    // Assess
    expect(new Set(items.map((item) => String(item[lookupIndex.partitionKey]?.S).split('#')[0]))).toEqual(
      new Set(['RCPT', 'FROM', 'MID', 'DAY', 'RESENDJOBS']),
    );
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual([lookupIndex.partitionKey, lookupIndex.sortKey, partitionKey, sortKey, ttlAttribute].sort());
    }
    expect(querying.map(([name]) => name).sort()).toEqual(['resend', 'webmail']);
    for (const [name, access] of querying) {
      const { statements, resources } = synthesize(access);
      const unreadable = items
        .map((item) => item[partitionKey]!.S!)
        .filter((pk) => !allows(statements, { action: 'GetItem', table: 't', leadingKeys: [pk] }, resources));
      expect(unreadable, name).toEqual([]);
    }
  });
});
