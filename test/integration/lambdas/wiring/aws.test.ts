// The AWS composition roots of the admin console and of the resend worker, built from a
// valid environment exactly as the Lambda functions build them: a resend started through
// the webmail's admin deps is run by the resend Lambda's `handler` to the SMTP smart
// host, and the console's failover switch reaches the SSM parameter and the gate at once.
// Real parts where they exist here: DynamoDB (dynalite), S3 (s3rver), the smart host (the
// local SMTP sink). SQS, SSM and SES sending have no stand-in: small fakes behind their endpoint
// variables (test/support/cli-deployed-aws-fakes.ts). Secrets Manager is not reached: the
// webmail's secrets are handed to buildAwsWebmailDeps, the part after reading them.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { DynamoDbResendJobs } from '../../../../lambdas/adapters/aws/dynamodb-resend-jobs.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { makeLocalS3Client, S3RawMailStore } from '../../../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { type SmtpSink, startSmtpSink } from '../../../../lambdas/adapters/local/smtp-sink.ts';
import { ENV, WEB_ENV } from '../../../../lambdas/contract/environment.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { switchFailover } from '../../../../lambdas/core/failover.ts';
import { isSettled, startResend } from '../../../../lambdas/core/resend.ts';
import { notifyStaff, planStaffNotices } from '../../../../lambdas/core/staff-notices.ts';
import { handler as resendLambda } from '../../../../lambdas/entry/resend.ts';
import { systemClock } from '../../../../lambdas/ports/clock.ts';
import { buildAwsWebmailDeps, webmailMailer } from '../../../../lambdas/wiring/aws.ts';
import { awsResendDeps } from '../../../../lambdas/wiring/aws-relay.ts';
import { readAwsWebEnv } from '../../../../lambdas/wiring/env.ts';
import { localContext } from '../../../../lambdas/wiring/local-lambda.ts';
import { type FakeAws, startFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { makeRecord, putReceived } from '../../../support/index-contract/fixtures.ts';
import { type RunningS3rver, startS3rver } from '../../../support/s3rver.ts';

const TABLE = 'corp-mail-messages';
const BUCKET = 'corp-mail-raw';
const PARAMETER = '/corp-mail/failover';
const MESSAGE_ID = 'wiring-0001';
const RAW = 'From: ext@example.org\r\nTo: bob@corp.test\r\nSubject: Wiring\r\n\r\nstored bytes \u00e4\r\n';

describe('AWS wiring of the admin console and the resend worker', () => {
  let dir = '';
  let dynamo: DynamoDbServer;
  let aws: FakeAws;
  let s3: RunningS3rver;
  let sink: SmtpSink;
  let resendQueue = '';
  let webEnv: NodeJS.ProcessEnv;
  const savedEnv = { ...process.env };
  const client = () => makeDynamoDbClient(dynamo.endpoint);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-aws-wiring-'));
    const [dynalite, fake, s3Server, smtp] = await Promise.all([
      startDynalite(),
      startFakeAws(),
      startS3rver([BUCKET]),
      startSmtpSink({ host: '127.0.0.1', port: 0, dir: join(dir, 'primary') }),
    ]);
    [dynamo, aws, s3, sink] = [dynalite, fake, s3Server, smtp];
    const s3Endpoint = `http://127.0.0.1:${s3.port}`;
    resendQueue = `${aws.endpoint}/123456789012/corp-mail-resend`;
    webEnv = {
      [WEB_ENV.failoverParameter]: PARAMETER,
      [WEB_ENV.userPoolId]: 'eu-central-1_AbCdEf123',
      [WEB_ENV.userPoolClientId]: 'client-123',
      [WEB_ENV.publicUrl]: 'https://mail.corp.example',
      [WEB_ENV.sessionSecretArn]: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:session-AbCdEf',
      [WEB_ENV.rawBucket]: BUCKET,
      [ENV.tableName]: TABLE,
      [ENV.resendQueueUrl]: resendQueue,
      [ENV.stackId]: 'corp-mail',
    };
    // The resend function's environment, as the stack sets it; SDK endpoints lead to the stand-ins.
    Object.assign(process.env, {
      ...aws.endpointEnv(),
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      [ENV.tableName]: TABLE,
      [ENV.forwardQueueUrl]: `${aws.endpoint}/123456789012/corp-mail-forward`,
      [ENV.stackId]: 'corp-mail',
      [ENV.smartHost]: '127.0.0.1',
      [ENV.smartHostPort]: String(sink.port),
      [ENV.smartHostTls]: 'none',
      [ENV.resendQueueUrl]: resendQueue,
      [ENV.sourceQueueUrl]: resendQueue,
      [ENV.resendMaxAttempts]: '3',
    });
    delete process.env.AWS_PROFILE;
    const setup = client();
    await createMessageTable(setup, TABLE);
    const now = Date.now();
    const record = makeRecord(MESSAGE_ID, {
      receivedAt: new Date(now - 10 * 60_000).toISOString(),
      expiresAt: Math.floor(now / 1000) + 30 * 86_400,
      envelopeRecipients: ['bob@corp.test'],
      raw: { bucket: BUCKET, key: `raw/${MESSAGE_ID}` },
    });
    await putReceived(new DynamoDbMessageIndex({ client: setup, tableName: TABLE }), record);
    const s3Client = makeLocalS3Client(s3Endpoint);
    await new S3RawMailStore(s3Client).put(record.raw, Buffer.from(RAW));
    s3Client.destroy();
    setup.destroy();
  });

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([dynamo?.stop(), aws?.close(), s3?.close(), sink?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends webmail mail through SES with the configuration set its environment names', async () => {
    // Prepare: the variable the stack sets (lib/constructs/webmail.ts)
    const env = readAwsWebEnv({ ...webEnv, [WEB_ENV.sesConfigurationSet]: 'corp-mail-webmail' });
    const before = aws.requests.length;

    // Act
    const sent = await webmailMailer(env).send({ from: 'bob@corp.test', recipients: ['partner@example.org'] }, Buffer.from(RAW));

    // Assess
    const calls = aws.requests.slice(before).filter((r) => r.service === 'sesv2');
    expect(sent.providerMessageId).toMatch(/^0100018f[0-9a-f]{32}-000000$/);
    expect(calls).toEqual([
      expect.objectContaining({
        action: 'SendEmail',
        params: expect.objectContaining({ ConfigurationSetName: 'corp-mail-webmail', FromEmailAddress: 'bob@corp.test' }),
      }),
    ]);
  });

  it("reads the resend worker's settings from its environment", async () => {
    // Act
    const deps = await awsResendDeps();
    // Assess
    expect(deps.config).toMatchObject({
      stackId: 'corp-mail',
      maxAttempts: 3,
      leaseMs: 360_000,
      retryBaseSeconds: 60,
      retryMaxDelaySeconds: 900,
    });
  });

  it('runs a bulk resend started through the admin deps with the resend Lambda, to the smart host, byte for byte', async () => {
    // Prepare
    const webmail = buildAwsWebmailDeps(readAwsWebEnv(webEnv), {
      sessionSecret: 'wiring-test-session-secret-0123456789abcdef',
      clientSecret: null,
    });
    const admin = webmail.admin!;
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    let taken = aws.sqsMessages.length;
    // Act
    const job = await startResend('admin@corp.test', { kind: 'all', since, until }, admin.resend);
    // The queue's deliveries, as Lambda's SQS event source would make them, until nothing is left.
    for (let round = 0; round < 10 && taken < aws.sqsMessages.length; round += 1) {
      const batch = aws.sqsMessages.slice(taken);
      taken += batch.length;
      const event: SQSEvent = {
        Records: batch.map((message, i) => ({
          messageId: `m-${round}-${i}`,
          receiptHandle: 'r',
          body: message.body,
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:eu-central-1:123456789012:corp-mail-resend',
          awsRegion: 'eu-central-1',
          messageAttributes: {},
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
        })),
      };
      const response = await resendLambda(event, localContext('shadowmail-resend'));
      expect(response.batchItemFailures).toEqual([]);
    }
    const stored = await new DynamoDbResendJobs({ client: client(), tableName: TABLE }).get(job.id, new Date());
    const audited = await admin.audit.list({ since, until, action: 'resend.bulk', limit: 10 });
    const delivered = (await readdir(join(dir, 'primary'))).filter((name) => name.endsWith('.eml'));
    // Assess
    expect(aws.sqsMessages.every((message) => message.queueUrl === resendQueue)).toBe(true);
    expect(stored && isSettled(stored)).toBe(true);
    expect(stored).toMatchObject({ state: 'done', counters: { total: 1, done: 1, delivered: 1, failed: 0, skipped: 0 } });
    expect(audited.events).toEqual([expect.objectContaining({ actor: 'admin@corp.test', target: 'all mailboxes', outcome: 'ok' })]);
    expect(delivered).toHaveLength(1);
    const copy = await readFile(join(dir, 'primary', delivered[0]!), 'latin1');
    expect(copy.endsWith(Buffer.from(RAW).toString('latin1'))).toBe(true);
    expect(copy).toMatch(new RegExp(`^X-Shadowmail-Resent: ${job.id}; [^\\r]+\\r\\nX-Shadowmail-Forwarded: corp-mail; id=${MESSAGE_ID}; `));
  });

  it('switches the SSM parameter from the console, and the gate of this instance sees it at once', async () => {
    // Prepare
    const webmail = buildAwsWebmailDeps(readAwsWebEnv(webEnv), {
      sessionSecret: 'wiring-test-session-secret-0123456789abcdef',
      clientSecret: null,
    });
    const before = await webmail.failover.read();
    const reads = () => aws.requests.filter((r) => r.service === 'ssm' && r.action === 'GetParameter').length;
    // Act
    await switchFailover(
      webmail.admin!.flag,
      { on: true, message: 'Exchange is down.', actor: 'admin@corp.test', reason: 'outage' },
      { now: () => new Date() },
    );
    const readsAfterSwitch = reads();
    const gate = await webmail.failover.read();
    const readsAfterGate = reads();
    const page = await webmail.admin!.flag.read();
    // Assess
    expect(before.on).toBe(false);
    expect(JSON.parse(aws.parameters.get(PARAMETER)!)).toMatchObject({ on: true, changedBy: 'admin@corp.test', reason: 'outage' });
    expect(gate).toMatchObject({ on: true, message: 'Exchange is down.' });
    // The gate answered from the cache the switch refreshed; the console reads the parameter itself.
    expect(readsAfterGate).toBe(readsAfterSwitch);
    expect(reads()).toBe(readsAfterGate + 1);
    expect(page.on).toBe(true);
  });

  it('wires failover notices from the environment: SMS through SNS, mail through SES at the account rate, the directory from the table', async () => {
    // Prepare
    await new DynamoDbDirectoryStore({ client: client(), tableName: TABLE }).putUsers([
      makeDirectoryUser({ id: 'n1', mailbox: 'nora@corp.test', mobile: '+4917055555555', privateEmail: 'nora@example.net' }),
    ]);
    aws.doctor.account = { SendQuota: { MaxSendRate: 14 } };
    const env = readAwsWebEnv({ ...webEnv, [WEB_ENV.noticeChannels]: 'sms,email', [WEB_ENV.noticeSender]: 'noreply@corp.test' });
    const webmail = buildAwsWebmailDeps(env, { sessionSecret: 'wiring-test-session-secret-0123456789abcdef', clientSecret: null });
    const notices = webmail.admin!.notices!;
    const state = { on: true, since: new Date().toISOString(), message: '', changedBy: 'admin@corp.test', reason: 'drill' };

    // Act
    const plan = await planStaffNotices({ state }, notices.settings, notices.parts);
    const result = await notifyStaff({ state, actor: 'admin@corp.test', repeat: 'again' }, notices.settings, {
      ...notices.parts,
      audit: webmail.admin!.audit,
      clock: systemClock,
    });

    // Assess
    expect(plan.rates).toEqual({ smsPartsPerSecond: 10, mailsPerSecond: 14 });
    expect(result).toMatchObject({ sent: { sms: 1, email: 1 }, failed: { sms: 0, email: 0 } });
    expect(aws.doctor.sms.published.map((sms) => sms.phoneNumber)).toContain('+4917055555555');
    expect(aws.doctor.sentEmails.find((email) => email.to.includes('nora@example.net'))).toMatchObject({
      from: 'noreply@corp.test',
      simple: { text: expect.stringContaining('https://mail.corp.example/') },
    });
    // Without notice variables the console offers none; mail without a sender stops the cold start.
    expect(
      buildAwsWebmailDeps(readAwsWebEnv(webEnv), { sessionSecret: 'wiring-test-session-secret-0123456789abcdef', clientSecret: null })
        .admin!.notices,
    ).toBeNull();
    expect(() =>
      buildAwsWebmailDeps(readAwsWebEnv({ ...webEnv, [WEB_ENV.noticeChannels]: 'email' }), {
        sessionSecret: 'wiring-test-session-secret-0123456789abcdef',
        clientSecret: null,
      }),
    ).toThrow(/SHADOWMAIL_NOTICE_SENDER/);
  });
});
