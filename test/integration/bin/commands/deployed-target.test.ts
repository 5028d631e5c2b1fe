// `shadowmail trace|resend|failover --stack STACK_ID` against a deployed stack, as an
// admin runs them with their own AWS credentials: the stack's names come from the
// CloudFormation outputs of <STACK_ID>-stateful and -stateless, the table is real
// DynamoDB (DynamoDB Local, through AWS_ENDPOINT_URL_DYNAMODB), and CloudFormation,
// SSM and SQS — which have no local stand-in — are small fakes behind their endpoint
// variables (cli-deployed-aws-fakes.ts). The commands run in-process through bin/cli.ts.
// Each action is recorded as the AWS caller STS names (GetCallerIdentity), the OS user
// and host as context.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STS_DEADLINE_MS } from '../../../../bin/commands/aws-caller.ts';
import { CLI_AWS_CALL_DEADLINE_MS } from '../../../../bin/commands/aws-clients.ts';
import { resolveDeployedTarget } from '../../../../bin/commands/deployed-target.ts';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { DynamoDbResendJobs } from '../../../../lambdas/adapters/aws/dynamodb-resend-jobs.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { SqsResendQueue } from '../../../../lambdas/adapters/aws/sqs-resend-queue.ts';
import { ShadowmailError } from '../../../../lambdas/core/errors.ts';
import { DEFAULT_RESEND_CONFIG, processResendStep } from '../../../../lambdas/core/resend.ts';
import type { AuditEvent } from '../../../../lambdas/ports/audit-log.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import { type DynamoDbServer, startDynamoDbLocal } from '../../../support/dynamodb-servers.ts';
import { makeRecord, putReceived } from '../../../support/index-contract/fixtures.ts';
import { MemoryRawMailStore, ScriptedRelay } from '../../../support/memory-adapters.ts';

const STACK = 'corp-mail';
const REGION = 'eu-central-1';
const TABLE = 'corp-mail-messages';
const PARAMETER = '/corp-mail/failover';
const RAW_BUCKET = 'corp-mail-raw-123456789012';
/** The principal whose credentials the admin uses, as STS names it. */
const CALLER = 'arn:aws:sts::123456789012:assumed-role/ShadowmailAdmin/alice@corp.example';
const OS_USER = `${userInfo().username}@${hostname()}`;
/** The actor as the CLI gives it (the failover parameter keeps it so) … */
const ACTOR_GIVEN = `cli:${CALLER} (${OS_USER})`;
/** … and in the audit log's comparison form (lower case). */
const ACTOR = ACTOR_GIVEN.toLowerCase();
const MESSAGE_ID = 'deployed-0001';
const RAW = 'From: ext@example.org\r\nTo: bob@corp.test\r\nSubject: Deployed quarterly\r\n\r\nbody\r\n';

const run = runCli;

describe('shadowmail CLI against a deployed stack (--stack)', () => {
  let dynamo: DynamoDbServer;
  let aws: FakeAws;
  let client: ReturnType<typeof makeDynamoDbClient>;
  let audit: DynamoDbAuditLog;
  const rawStore = new MemoryRawMailStore();
  // The SQS client sends to the queue URL's host: the deployed queue's URL names the fake.
  let resendQueue = '';
  const savedEnv = { ...process.env };
  const startedAt = new Date(Date.now() - 60_000).toISOString();

  const auditSince = async (action: AuditEvent['action']) =>
    (await audit.list({ since: startedAt, until: new Date(Date.now() + 60_000).toISOString(), action, limit: 100 })).events;

  beforeAll(async () => {
    [dynamo, aws] = await Promise.all([startDynamoDbLocal(), startFakeAws()]);
    resendQueue = `${aws.endpoint}/123456789012/corp-mail-resend`;
    aws.stacks.set(`${STACK}-stateful`, { TableName: TABLE, RawMailBucketName: RAW_BUCKET, ResendQueueUrl: resendQueue });
    aws.stacks.set(`${STACK}-stateless`, { FailoverParameterName: PARAMETER });
    aws.caller.Arn = CALLER;
    // A stack deployed by an older version: its stateful stack lacks the resend queue.
    aws.stacks.set('old-mail-stateful', { TableName: TABLE, RawMailBucketName: 'old-mail-raw' });
    useFakeAws(aws, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint });
    client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, TABLE);
    audit = new DynamoDbAuditLog({ client, tableName: TABLE });
    const now = Date.now();
    const record = makeRecord(MESSAGE_ID, {
      receivedAt: new Date(now - 10 * 60_000).toISOString(),
      expiresAt: Math.floor(now / 1000) + 30 * 86_400,
      envelopeRecipients: ['bob@corp.test', 'carol@corp.test'],
      summary: { subject: 'Deployed quarterly' },
    });
    await putReceived(new DynamoDbMessageIndex({ client, tableName: TABLE }), record);
    rawStore.put(record.raw, RAW);
  });

  afterAll(async () => {
    process.env = savedEnv;
    client?.destroy();
    await Promise.all([dynamo?.stop(), aws?.close()]);
  });

  it('resolves the outputs of the stateful and the stateless stack, reading only the stacks it needs', async () => {
    // Prepare
    const before = aws.requests.length;
    // Act
    const all = await resolveDeployedTarget({ stackId: STACK, region: REGION }, [
      'tableName',
      'rawBucket',
      'resendQueueUrl',
      'failoverParameter',
    ]);
    const tableOnly = await resolveDeployedTarget({ stackId: STACK, region: REGION }, ['tableName']);
    // Assess
    expect(all.outputs).toEqual({ tableName: TABLE, rawBucket: RAW_BUCKET, resendQueueUrl: resendQueue, failoverParameter: PARAMETER });
    expect(all.where).toBe(`stack ${STACK} (${REGION})`);
    expect(tableOnly.outputs).toEqual({ tableName: TABLE });
    const described = aws.requests.slice(before).map((r) => `${r.action} ${String(r.params.StackName)}`);
    expect(described).toEqual([
      `DescribeStacks ${STACK}-stateful`,
      `DescribeStacks ${STACK}-stateless`,
      `DescribeStacks ${STACK}-stateful`,
    ]);
  });

  it('answers a missing stack, a missing output and a missing region with one clear line, a malformed stack id with the usage', async () => {
    // Act
    const noStack = await run('trace', '--recipient', 'bob@corp.test', '--stack', 'nowhere', '--region', REGION);
    const noOutput = await run(
      'resend',
      '--all',
      '--since',
      '2030-03-01',
      '--until',
      '2030-03-02',
      '--no-wait',
      '--stack',
      'old-mail',
      '--region',
      REGION,
    );
    const noRegion = await resolveDeployedTarget({ stackId: STACK, region: undefined }, ['tableName']).catch((error: unknown) => error);
    const badStack = await run('failover', 'status', '--stack', 'no such stack');
    // Assess
    expect(noStack.code).toBe(2);
    expect(noStack.err).toBe(
      `shadowmail trace: stack nowhere-stateful not found in ${REGION}: check --stack (the stackId of the deployment) and --region\n`,
    );
    expect(noOutput.code).toBe(2);
    expect(noOutput.err).toBe(
      `shadowmail resend: stack old-mail-stateful (${REGION}) has no output ResendQueueUrl: deploy the current version of shadowmail\n`,
    );
    expect(noRegion).toBeInstanceOf(ShadowmailError);
    expect((noRegion as Error).message).toMatch(/^no AWS region: pass --region/);
    expect(badStack.code).toBe(2);
    expect(badStack.err.split('\n').slice(0, 2)).toEqual([
      'shadowmail failover: --stack must be the stackId of the deployment (a letter, then letters, digits or dashes), not "no such stack"',
      'usage:',
    ]);
  });

  it('refuses --stack with --data-dir or --ssm-parameter, and --region without a stack, in one line and the usage; the help names --stack', async () => {
    // Act
    const attempts = await Promise.all([
      run('trace', '--recipient', 'bob@corp.test', '--stack', STACK, '--data-dir', '/tmp/x'),
      run('resend', 'list', '--region', REGION),
      run('failover', 'status', '--stack', STACK, '--ssm-parameter', PARAMETER),
      run('failover', 'on', '--region', REGION),
    ]);
    const help = await Promise.all([run('help'), run('trace', '--help'), run('resend', '--help')]);
    // Assess
    for (const result of attempts) {
      expect(result.code).toBe(2);
      expect(result.err.split('\n')[0]).toMatch(
        /^shadowmail (trace|resend|failover): (give either --\S+ or --\S+, not both|--region goes with --stack)$/,
      );
      expect(result.err.split('\n')[1]).toBe('usage:');
    }
    for (const result of help) expect(result.out).toContain('--stack STACK_ID [--region REGION]');
  });

  it('traces over the deployed table and audits the search there as the AWS caller', async () => {
    // Act
    const result = await run('trace', '--recipient', 'BOB@corp.test', '--json', '--stack', STACK, '--region', REGION);
    // Assess
    expect(result.code, result.err).toBe(0);
    const traced = JSON.parse(result.out) as Array<{
      sesMessageId: string;
      subject: string;
      deliveries: Array<{ recipient: string; state: string }>;
    }>;
    expect(traced.map((m) => m.sesMessageId)).toEqual([MESSAGE_ID]);
    expect(traced[0]!.subject).toBe('Deployed quarterly');
    expect(traced[0]!.deliveries.map((d) => d.recipient).sort()).toEqual(['bob@corp.test', 'carol@corp.test']);
    expect(await auditSince('trace.search')).toEqual([
      expect.objectContaining({
        actor: ACTOR,
        action: 'trace.search',
        outcome: 'ok',
        details: expect.objectContaining({ recipient: 'BOB@corp.test', results: 1 }),
      }),
    ]);
  });

  it('queues a resend with --no-wait: the job in the deployed table, its step on the deployed resend queue, audited', async () => {
    // Prepare
    const queuedBefore = aws.sqsMessages.length;
    // Act
    const result = await run(
      'resend',
      '--message-id',
      MESSAGE_ID,
      '--to',
      'carol@corp.test',
      '--no-wait',
      '--stack',
      STACK,
      '--region',
      REGION,
    );
    const jobId = result.out.trim();
    const status = await run('resend', 'status', jobId, '--json', '--stack', STACK, '--region', REGION);
    // Assess
    expect(result.code, result.err).toBe(0);
    expect(result.err).toContain(`resend job ${jobId} queued (message ${MESSAGE_ID} to carol@corp.test)`);
    expect(result.err).toContain(`the resend function of stack ${STACK} (${REGION}) runs it`);
    const job = await new DynamoDbResendJobs({ client, tableName: TABLE }).get(jobId, new Date());
    expect(job).toMatchObject({
      state: 'queued',
      createdBy: ACTOR_GIVEN,
      scope: { kind: 'message', sesMessageId: MESSAGE_ID, recipients: ['carol@corp.test'] },
    });
    const sent = aws.sqsMessages.slice(queuedBefore);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.queueUrl).toBe(resendQueue);
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ type: 'message', jobId, sesMessageId: MESSAGE_ID });
    expect(await auditSince('resend.single')).toEqual([expect.objectContaining({ actor: ACTOR, target: MESSAGE_ID, outcome: 'ok' })]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ id: jobId, state: 'queued' });
  });

  it("follows a resend to its end while the stack's resend function runs it, and prints the summary", async () => {
    // Prepare: the deployed resend function, fed by what reaches the resend queue.
    const relay = new ScriptedRelay();
    const sqs = new SQSClient({ region: REGION });
    const worker = {
      index: new DynamoDbMessageIndex({ client, tableName: TABLE }),
      rawStore,
      relay,
      jobs: new DynamoDbResendJobs({ client, tableName: TABLE }),
      queue: new SqsResendQueue(sqs, resendQueue),
      clock: { now: () => new Date() },
      workerId: 'lambda-request-1',
      config: { ...DEFAULT_RESEND_CONFIG, stackId: STACK, leaseMs: 60_000 },
    };
    let taken = aws.sqsMessages.length;
    let following = true;
    const lambda = (async () => {
      while (following) {
        for (const message of aws.sqsMessages.slice(taken)) {
          taken += 1;
          await processResendStep(JSON.parse(message.body), worker);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    // Act
    const result = await run('resend', '--message-id', `<${MESSAGE_ID}@ext.example>`, '--stack', STACK, '--region', REGION).finally(() => {
      following = false;
    });
    await lambda;
    sqs.destroy();
    // Assess
    expect(result.code, result.err).toBe(0);
    expect(result.err).toContain(`the resend function of stack ${STACK} (${REGION}) executes the job`);
    expect(result.out).toMatch(/^resend job rs-\S+ {2}done after [\d.]+ s\n/);
    expect(result.out).toMatch(/recipients {2}2 delivered, 0 failed/);
    expect(relay.sent.map((sent) => sent.envelope.recipients)).toEqual([['bob@corp.test', 'carol@corp.test']]);
  });

  it('switches the deployed failover parameter and writes the audit entry into the deployed table', async () => {
    // Act
    const on = await run(
      'failover',
      'on',
      '--message',
      'Exchange is down.',
      '--reason',
      'datacenter power',
      '--stack',
      STACK,
      '--region',
      REGION,
    );
    const status = await run('failover', 'status', '--json', '--stack', STACK, '--region', REGION);
    // Assess
    expect(on.code, on.err).toBe(0);
    expect(on.out).toContain(`flag      SSM parameter ${PARAMETER} of stack ${STACK} (${REGION})`);
    expect(JSON.parse(aws.parameters.get(PARAMETER)!)).toMatchObject({
      on: true,
      message: 'Exchange is down.',
      reason: 'datacenter power',
      changedBy: ACTOR_GIVEN,
    });
    expect(await auditSince('failover.on')).toEqual([
      expect.objectContaining({ actor: ACTOR, outcome: 'ok', details: { reason: 'datacenter power', message: 'Exchange is down.' } }),
    ]);
    expect(JSON.parse(status.out)).toMatchObject({ on: true, changedBy: ACTOR_GIVEN });
    expect(aws.requests.filter((request) => request.service === 'sts').at(-1)).toMatchObject({ action: 'GetCallerIdentity' });
  });

  it('refuses to switch a parameter named by --ssm-parameter (no table: the switch could not be audited), pointing to --stack; reads its status', async () => {
    // Prepare
    aws.parameters.set('/other/failover', JSON.stringify({ on: true, changedAt: '2030-03-01T09:00:00.000Z', changedBy: ACTOR }));
    const before = (await auditSince('failover.off')).length;
    // Act
    const off = await run('failover', 'off', '--reason', 'restored', '--ssm-parameter', '/other/failover', '--region', REGION);
    const status = await run('failover', 'status', '--json', '--ssm-parameter', '/other/failover', '--region', REGION);
    // Assess
    expect(off.code).toBe(2);
    expect(off.err.split('\n')[0]).toMatch(
      /^shadowmail failover: --ssm-parameter names no table, so the switch could not be audited: use --stack STACK_ID$/,
    );
    expect(JSON.parse(aws.parameters.get('/other/failover')!)).toMatchObject({ on: true });
    expect(await auditSince('failover.off')).toHaveLength(before);
    expect(status.code, status.err).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ on: true });
  });

  it('imports a directory into the deployed table (--table, no --endpoint) and audits it as the AWS caller', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'shadowmail-directory-'));
    const file = join(dir, 'users.csv');
    await writeFile(file, 'id,mailbox,displayName,kind,disabled\nguid-bob,bob@corp.test,Bob Example,user,false\n');
    // Act
    const result = await run('directory', 'import', file, '--table', TABLE, '--region', REGION).finally(() =>
      rm(dir, { recursive: true, force: true }),
    );
    // Assess
    expect(result.code, result.err).toBe(0);
    expect(await auditSince('directory.sync')).toEqual([expect.objectContaining({ actor: ACTOR, outcome: 'ok' })]);
  });

  it('when STS cannot be reached, switches failover and cancels a resend as the OS user and says so; trace and starting a resend refuse and do nothing', async () => {
    // Prepare: STS at a port nobody listens on (a firewall, a proxy, STS deactivated in the region).
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const queued = await run(
      'resend',
      '--message-id',
      MESSAGE_ID,
      '--to',
      'bob@corp.test',
      '--no-wait',
      '--stack',
      STACK,
      '--region',
      REGION,
    );
    const jobId = queued.out.trim();
    const jobsBefore = aws.sqsMessages.length;
    const tracesBefore = (await auditSince('trace.search')).length;
    // Act
    process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${port}`;
    const [on, cancel, trace, resend] = await Promise.all([
      run('failover', 'on', '--message', 'Exchange is down.', '--reason', 'no sts', '--stack', STACK, '--region', REGION),
      run('resend', 'cancel', jobId, '--stack', STACK, '--region', REGION),
      run('trace', '--recipient', 'bob@corp.test', '--stack', STACK, '--region', REGION),
      run('resend', '--message-id', MESSAGE_ID, '--to', 'carol@corp.test', '--no-wait', '--stack', STACK, '--region', REGION),
    ]).finally(() => {
      process.env.AWS_ENDPOINT_URL_STS = aws.endpoint;
    });
    // Assess
    const unconfirmed = `cli:${OS_USER} (aws caller not confirmed)`;
    expect(on.code, on.err).toBe(0);
    expect(on.err).toMatch(/^warning: cannot ask STS who the AWS caller is \(sts:GetCallerIdentity: .+\): recorded as /m);
    expect(JSON.parse(aws.parameters.get(PARAMETER)!)).toMatchObject({ on: true, reason: 'no sts', changedBy: unconfirmed });
    expect((await auditSince('failover.on')).find((event) => event.details?.reason === 'no sts')).toMatchObject({
      actor: unconfirmed.toLowerCase(),
      outcome: 'ok',
    });
    expect(queued.code, queued.err).toBe(0);
    expect(cancel.code, cancel.err).toBe(0);
    expect(cancel.err).toMatch(/^warning: cannot ask STS who the AWS caller is/);
    expect(await new DynamoDbResendJobs({ client, tableName: TABLE }).get(jobId, new Date())).toMatchObject({
      state: 'cancelled',
      cancelledBy: unconfirmed,
    });
    for (const [result, name] of [
      [trace, 'trace'],
      [resend, 'resend'],
    ] as const) {
      expect(result.code).toBe(2);
      expect(result.err).toMatch(
        new RegExp(
          `^shadowmail ${name}: cannot ask STS who the AWS caller is \\(sts:GetCallerIdentity: .+\\): the action is recorded as that principal, so nothing was done; .+\n$`,
        ),
      );
    }
    expect(aws.sqsMessages.length).toBe(jobsBefore);
    expect(await auditSince('trace.search')).toHaveLength(tracesBefore);
  });

  it('does not hang on an SSM or CloudFormation endpoint that accepts and never answers: failover fails in bounded time, in one line', {
    timeout: 120_000,
  }, async () => {
    // Prepare: a proxy or firewall that swallows the connection, first for SSM, then for CloudFormation.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const swallowed = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const before = aws.parameters.get(PARAMETER);
    const timed = async (variable: string) => {
      process.env[variable] = swallowed;
      const started = performance.now();
      const result = await run('failover', 'on', '--reason', 'silent endpoint', '--stack', STACK, '--region', REGION).finally(() => {
        process.env[variable] = aws.endpoint;
      });
      return { ...result, seconds: (performance.now() - started) / 1000 };
    };
    // Act
    const ssm = await timed('AWS_ENDPOINT_URL_SSM');
    const cloudFormation = await timed('AWS_ENDPOINT_URL_CLOUDFORMATION');
    silent.close();
    // Assess: an error line within the CLI's deadline (failover reads the flag, then writes it: two calls), the flag untouched.
    for (const result of [ssm, cloudFormation]) {
      expect(result.code, result.err).not.toBe(0);
      expect(result.err.trim().split('\n')).toHaveLength(1);
      expect(result.err).toMatch(/^shadowmail failover: cannot (read|write) .+: TimeoutError: .+\n$/);
      expect(result.seconds).toBeLessThan((2 * CLI_AWS_CALL_DEADLINE_MS) / 1000 + 10);
    }
    expect(aws.parameters.get(PARAMETER)).toBe(before);
  });

  it('does not wait for an STS that accepts and never answers: failover switches after the deadline, as the OS user', {
    timeout: 30_000,
  }, async () => {
    // Prepare: a host that takes the connection and says nothing (a proxy or firewall that swallows it).
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const started = performance.now();
    // Act
    const off = await run('failover', 'off', '--reason', 'silent sts', '--stack', STACK, '--region', REGION).finally(() => {
      process.env.AWS_ENDPOINT_URL_STS = aws.endpoint;
      silent.close();
    });
    const seconds = (performance.now() - started) / 1000;
    // Assess
    expect(off.code, off.err).toBe(0);
    expect(off.err).toMatch(/^warning: cannot ask STS who the AWS caller is \(sts:GetCallerIdentity: .+\): recorded as /m);
    expect(JSON.parse(aws.parameters.get(PARAMETER)!)).toMatchObject({ on: false, changedBy: `cli:${OS_USER} (aws caller not confirmed)` });
    expect(seconds).toBeGreaterThanOrEqual(STS_DEADLINE_MS / 1000 - 0.5);
    expect(seconds).toBeLessThan(STS_DEADLINE_MS / 1000 + 5);
  });
});
