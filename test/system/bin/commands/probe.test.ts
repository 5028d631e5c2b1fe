// `shadowmail probe --to ADDR`, two ways:
// - against a deployed stack of fakes: SES sending is the SDK endpoint fake, which plays
//   SES inbound + ingest + forward by writing what they would into the real table
//   (DynamoDB Local); the SES endpoint for --via is a real SMTP server (local mode's
//   sink) that takes the message and indexes nothing;
// - end to end against local mode (npm start) in front of a real Postfix as the primary:
//   the real pipeline receives, indexes and relays the probe.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { type SmtpSink, startSmtpSink } from '../../../../lambdas/adapters/local/smtp-sink.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import type { SentEmail } from '../../../support/doctor-aws-fakes.ts';
import { type DynamoDbServer, startDynamoDbLocal } from '../../../support/dynamodb-servers.ts';
import { makeRecord, putReceived } from '../../../support/index-contract/fixtures.ts';
import { type LocalProcess, startLocal } from '../../../support/local-process.ts';
import { type PostfixInstance, startPostfix } from '../../../support/postfix.ts';

const STACK = 'corp-mail';
const REGION = 'eu-central-1';
const TABLE = 'corp-mail-messages';

const run = runCli;

/** The step lines of the text output: `<time>  <label> <detail>`. */
const stepLines = (out: string): string[] => out.split('\n').filter((line) => /^ {2} +(\+\d+\.\d s|-) {2}/.test(line));
const subjectOf = (raw: Buffer): string => /^Subject: (.*)$/m.exec(raw.toString('latin1'))![1]!.trim();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('shadowmail probe --stack (SES sending and SMTP, against fakes)', () => {
  let dynamo: DynamoDbServer;
  let aws: FakeAws;
  let sesEndpoint: SmtpSink;
  let sinkDir = '';
  let index: DynamoDbMessageIndex;
  let client: ReturnType<typeof makeDynamoDbClient>;
  const savedEnv = { ...process.env };
  let sequence = 0;

  /** What SES inbound and the ingest leave in the table for a message SES sent to our MX. */
  async function receive(email: SentEmail, receivedAt = new Date()): Promise<string> {
    sequence += 1;
    const sesMessageId = `inbound-${String(sequence).padStart(4, '0')}`;
    await putReceived(
      index,
      makeRecord(sesMessageId, {
        receivedAt: receivedAt.toISOString(),
        expiresAt: Math.floor(Date.now() / 1000) + 30 * 86_400,
        envelopeFrom: '0100018f-bounce@eu-central-1.amazonses.com',
        envelopeRecipients: email.to,
        summary: {
          subject: subjectOf(email.raw),
          to: email.to,
          from: [email.from],
          messageIdHeader: `<${sesMessageId}@eu-central-1.amazonses.com>`,
        },
      }),
    );
    return sesMessageId;
  }

  beforeAll(async () => {
    sinkDir = await mkdtemp(join(tmpdir(), 'shadowmail-probe-ses-'));
    [dynamo, aws, sesEndpoint] = await Promise.all([
      startDynamoDbLocal(),
      startFakeAws(),
      startSmtpSink({ host: '127.0.0.1', port: 0, dir: sinkDir }),
    ]);
    client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, TABLE);
    index = new DynamoDbMessageIndex({ client, tableName: TABLE });
    aws.stacks.set(`${STACK}-stateful`, { TableName: TABLE });
    // This fake deployment's SES inbound endpoint is the SMTP server on 127.0.0.1.
    aws.stacks.set(`${STACK}-stateless`, { MailDomains: 'corp.test,corp-group.test', MxTarget: '127.0.0.1' });
    useFakeAws(aws, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint });
  });

  beforeEach(() => {
    aws.doctor.sentEmails.length = 0;
    aws.doctor.sendEmailError = null;
    aws.doctor.onSendEmail = () => undefined;
  });

  afterAll(async () => {
    process.env = savedEnv;
    client?.destroy();
    await Promise.all([dynamo?.stop(), aws?.close(), sesEndpoint?.close()]);
    await rm(sinkDir, { recursive: true, force: true });
  });

  it('sends by SES from postmaster of the domain and sees every step, with times after the send', async () => {
    // Prepare: SES delivers to the MX (us); the ingest indexes it; the forward relays it and Exchange says 250.
    aws.doctor.onSendEmail = (email) => {
      void (async () => {
        await pause(300);
        const id = await receive(email);
        await pause(1200);
        await index.recordDeliveryAttempt(
          id,
          email.to[0]!,
          { at: new Date().toISOString(), code: 250, response: '250 2.6.0 <x@EX01> Queued mail for delivery', outcome: 'delivered' },
          'delivered',
          null,
        );
      })();
    };

    // Act
    const result = await run('probe', '--stack', STACK, '--region', REGION, '--to', 'Alice@corp.test', '--timeout', '20');

    // Assess
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const [sent] = aws.doctor.sentEmails;
    expect(sent).toMatchObject({ from: 'postmaster@corp.test', to: ['Alice@corp.test'] });
    const subject = subjectOf(sent!.raw);
    expect(subject).toMatch(/^shadowmail probe [0-9a-f]{12}$/);
    expect(sent!.raw.toString()).toMatch(/^Message-ID: <shadowmail-probe\.[0-9a-f]{12}@corp\.test>\r$/m);
    const lines = result.out.split('\n');
    expect(lines[0]).toBe(`shadowmail probe: stack ${STACK} (${REGION})`);
    expect(lines[1]).toBe(`to Alice@corp.test, subject "${subject}", by SES sending from postmaster@corp.test`);
    const steps = stepLines(result.out);
    expect(steps.map((line) => line.slice(13, 35).trim())).toEqual(['sent', 'received by SES', 'indexed', 'relayed', "Exchange's 250"]);
    expect(steps[0]).toMatch(
      /^ {4} +\+\d\.\d s {2}sent {19}SES accepted it \(message id 0100018f\w+-000000\) and delivers it to the MX of corp\.test$/,
    );
    expect(steps[1]).toMatch(/received by SES {8}at \S+Z, SES message id inbound-\d{4}$/);
    expect(steps[4]).toMatch(/Exchange's 250 {9}250 2\.6\.0 <x@EX01> Queued mail for delivery$/);
    const seconds = steps.map((line) => Number(/\+(\d+\.\d) s/.exec(line)![1]));
    expect(seconds[4]! - seconds[1]!).toBeGreaterThanOrEqual(1.1);
    expect(lines.at(-2)).toMatch(/^probe ok: every step seen in \d+\.\d s$/);
  });

  it('fails at "Exchange\'s 250" with Exchange\'s reply when the message is relayed but deferred', async () => {
    // Prepare
    aws.doctor.onSendEmail = async (email) => {
      const id = await receive(email);
      await index.recordDeliveryAttempt(
        id,
        email.to[0]!,
        {
          at: new Date().toISOString(),
          code: 451,
          response: '451 4.7.0 Temporary server error. Please try again later. PRX4',
          outcome: 'deferred',
        },
        'deferred',
        null,
      );
    };

    // Act
    const result = await run('probe', '--stack', STACK, '--region', REGION, '--to', 'bob@corp-group.test', '--timeout', '3', '--json');

    // Assess
    expect(result.code).toBe(1);
    const report = JSON.parse(result.out) as {
      steps: Array<{ label: string; atMs: number | null; detail: string }>;
      failedAt: string;
      hint: string;
    };
    expect(report.steps.map((step) => [step.label, step.atMs !== null])).toEqual([
      ['sent', true],
      ['received by SES', true],
      ['indexed', true],
      ['relayed', true],
      ["Exchange's 250", false],
    ]);
    expect(report.failedAt).toBe("Exchange's 250");
    expect(report.hint).toBe(
      'the primary answered: 451 4.7.0 Temporary server error. Please try again later. PRX4 — shadowmail keeps retrying; shadowmail trace shows each attempt (docs/deploy.md 6.6)',
    );
  });

  it('fails at "indexed" when the SES endpoint took the message (--via) but nothing was indexed', async () => {
    // Act
    const result = await run(
      'probe',
      '--stack',
      STACK,
      '--region',
      REGION,
      '--to',
      'carol@corp.test',
      '--from',
      'it@corp.test',
      '--via',
      `smtp://127.0.0.1:${sesEndpoint.port}`,
      '--timeout',
      '2',
    );

    // Assess
    expect(result.code).toBe(1);
    expect(aws.doctor.sentEmails).toEqual([]);
    const steps = stepLines(result.out);
    expect(steps[0]).toMatch(new RegExp(`sent {19}127\\.0\\.0\\.1:${sesEndpoint.port} answered 250 Ok: kept as \\S+$`));
    expect(steps[1]).toMatch(/received by SES {8}250 at the end of DATA$/);
    expect(steps.slice(2).map((line) => line.trim())).toEqual([
      '-  indexed                not seen',
      '-  relayed                not seen',
      "-  Exchange's 250         not seen",
    ]);
    expect(result.out).toContain(
      'probe FAILED at "indexed": accepted, but not indexed within 2 s: the ingest function\'s log and the ingest and notifications dead-letter queues (shadowmail doctor)',
    );
    expect(result.out.split('\n')[1]).toBe(
      `to carol@corp.test, subject "${/subject "([^"]+)"/.exec(result.out)![1]}", over SMTP to 127.0.0.1:${sesEndpoint.port} from it@corp.test`,
    );
  });

  it('fails at "received by SES" and points at the MX when SES sent it but it never arrived', async () => {
    // Act
    const result = await run('probe', '--stack', STACK, '--region', REGION, '--to', 'dave@corp.test', '--timeout', '2');

    // Assess
    expect(result.code).toBe(1);
    expect(aws.doctor.sentEmails).toHaveLength(1);
    expect(result.out).toContain(
      'probe FAILED at "received by SES": not in shadowmail\'s table within 2 s. Does the MX of corp.test point at SES (shadowmail doctor\'s dns lines)?',
    );
  });

  it('fails at "sent" when SES refuses to send it', async () => {
    // Prepare
    aws.doctor.sendEmailError = {
      status: 400,
      type: 'MessageRejected',
      message: 'Email address is not verified. The following identities failed the check in region EU-CENTRAL-1: postmaster@corp.test',
    };

    // Act
    const result = await run('probe', '--stack', STACK, '--region', REGION, '--to', 'erin@corp.test', '--timeout', '2');

    // Assess
    expect(result.code).toBe(1);
    expect(stepLines(result.out).every((line) => line.endsWith('not seen'))).toBe(true);
    expect(result.out).toContain('probe FAILED at "sent": SES refused the message: MessageRejected: Email address is not verified.');
  });

  it("refuses an address outside the stack's domains and bad options, in one line with exit 2", async () => {
    // Act
    const results = await Promise.all([
      run('probe', '--stack', STACK, '--region', REGION, '--to', 'someone@gmail.example'),
      run('probe', '--stack', STACK, '--region', REGION),
      run('probe', '--stack', STACK, '--region', REGION, '--to', 'alice@corp.test', '--via', 'mail.corp.test:25'),
      run('probe', '--stack', STACK, '--region', REGION, '--to', 'alice@corp.test', '--timeout', '0'),
    ]);

    // Assess
    expect(results[0]!.err.split('\n')[0]).toBe(
      `shadowmail probe: --to must be an address of corp.test, corp-group.test (the domains of stack ${STACK} (${REGION})), not someone@gmail.example`,
    );
    expect(results[1]!.err).toMatch(/^shadowmail probe: --to ADDR is required/);
    expect(results[2]!.err).toMatch(/^shadowmail probe: --via must be an SMTP URL/);
    expect(results[3]!.err).toMatch(/^shadowmail probe: --timeout must be a whole number of seconds/);
    for (const result of results) expect(result.code).toBe(2);
    expect(aws.doctor.sentEmails).toEqual([]);
  });
});

describe('shadowmail probe against local mode, in front of a real Postfix', () => {
  let postfix: PostfixInstance;
  let local: LocalProcess;
  let dataDir = '';

  beforeAll(async () => {
    // bob's mailbox answers 450 at RCPT: a primary that defers.
    postfix = await startPostfix({
      domain: 'corp.test',
      users: ['alice', 'bob'],
      recipientAccess: { 'bob@corp.test': '450 4.2.0 Mailbox busy, try again later' },
    });
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-probe-local-'));
    local = await startLocal(dataDir, { SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${postfix.port}` });
  });

  afterAll(async () => {
    await local?.kill();
    await postfix?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("sends to local mode's SMTP port and sees it received, indexed, relayed and in the primary's mailbox", async () => {
    // Act
    const result = await run('probe', '--to', 'alice@corp.test', '--data-dir', dataDir, '--timeout', '60');

    // Assess
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const subject = /subject "([^"]+)"/.exec(result.out)![1]!;
    expect(result.out.split('\n').slice(0, 2)).toEqual([
      `shadowmail probe: local mode (pid ${local.runtime.pid})`,
      `to alice@corp.test, subject "${subject}", over SMTP to 127.0.0.1:${local.runtime.smtpPort} from postmaster@corp.test`,
    ]);
    const steps = stepLines(result.out);
    expect(steps.map((line) => line.slice(13, 35).trim())).toEqual([
      'sent',
      'received by local mode',
      'indexed',
      'relayed',
      "the primary's 250",
    ]);
    expect(steps.every((line) => /\+\d+\.\d s/.test(line))).toBe(true);
    expect(steps[4]).toMatch(/the primary's 250 {6}250 2\.0\.0 Ok: queued as \w+$/);
    const delivered = await postfix.waitForDelivered('alice', 1);
    expect(delivered.map((message) => subjectOf(message))).toEqual([subject]);
  });

  it('fails at "the primary\'s 250" with the primary\'s 4xx when the primary defers it', async () => {
    // Act
    const result = await run('probe', '--to', 'bob@corp.test', '--data-dir', dataDir, '--timeout', '8');

    // Assess
    expect(result.code).toBe(1);
    expect(stepLines(result.out).map((line) => line.includes('not seen'))).toEqual([false, false, false, false, true]);
    expect(result.out).toMatch(
      /probe FAILED at "the primary's 250": the primary answered: 450 4\.2\.0 <bob@corp\.test>: Recipient address rejected: Mailbox busy, try again later — shadowmail keeps retrying/,
    );
  });

  it('says so when local mode is not running on the data directory', async () => {
    // Prepare
    const empty = await mkdtemp(join(tmpdir(), 'shadowmail-probe-none-'));

    // Act
    const result = await run('probe', '--to', 'alice@corp.test', '--data-dir', empty);

    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toBe(
      `shadowmail probe: local mode is not running on ${empty}: start it (npm start) — the probe sends to its SMTP port — or pass --stack\n`,
    );
    await rm(empty, { recursive: true, force: true });
  });
});
