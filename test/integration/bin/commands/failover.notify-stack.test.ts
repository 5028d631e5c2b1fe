// `shadowmail failover on --notify --stack` against a deployed stack: the directory and
// the audit log in the stack's table (dynalite behind the real DynamoDB adapter), the flag
// in SSM, the notices through SNS Publish and SES v2 SendEmail — the fake AWS server
// speaking their wire protocols, reached by the real SDK clients.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';

const STACK = 'corp-mail';
const REGION = 'eu-central-1';
const TABLE = 'corp-mail-messages';
const PARAMETER = '/corp-mail/failover';

describe('shadowmail failover --notify --stack', () => {
  let dynamo: DynamoDbServer;
  let aws: FakeAws;
  let client: ReturnType<typeof makeDynamoDbClient>;
  const savedEnv = { ...process.env };
  const startedAt = new Date(Date.now() - 60_000).toISOString();
  const stack = (...argv: string[]) => runCli('failover', ...argv, '--stack', STACK, '--region', REGION);

  beforeAll(async () => {
    [dynamo, aws] = await Promise.all([startDynalite(), startFakeAws()]);
    useFakeAws(aws, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint });
    client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, TABLE);
    await new DynamoDbDirectoryStore({ client, tableName: TABLE }).putUsers([
      makeDirectoryUser({ id: '1', mailbox: 'alice@corp.example', mobile: '+4917012345678', privateEmail: 'alice@example.net' }),
      makeDirectoryUser({ id: '2', mailbox: 'bob@corp.example', mobile: '+4917011111111' }),
      makeDirectoryUser({ id: '3', mailbox: 'team@corp.example', kind: 'shared', mobile: '+4917033333333' }),
    ]);
    aws.stacks.set(`${STACK}-stateful`, { TableName: TABLE });
    aws.stacks.set(`${STACK}-stateless`, {
      FailoverParameterName: PARAMETER,
      WebmailUrl: 'https://mail.corp.example/',
      NoticeChannels: 'sms,email',
      NoticeSender: 'noreply@corp.example',
      MailDomains: 'corp.example',
      ConfigurationSetName: 'corp-mail-webmail',
    });
  });
  beforeEach(() => {
    aws.parameters.set(PARAMETER, JSON.stringify({ on: false }));
    aws.doctor.sms.published.length = 0;
    aws.doctor.sentEmails.length = 0;
    aws.doctor.account = { SendQuota: { MaxSendRate: 14 } };
  });
  afterAll(async () => {
    process.env = savedEnv;
    client?.destroy();
    await Promise.all([dynamo?.stop(), aws?.close()]);
  });

  it('dry run: reads the directory from the table and shows masked recipients, switching and sending nothing', async () => {
    const result = await stack('on', '--notify', '--dry-run');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/alice@corp\.example\s+sms \+49•••••5678 {2}mail a•••@example\.net/);
    expect(result.out).not.toContain('team@corp.example');
    expect(result.out).toContain('https://mail.corp.example/');
    expect(JSON.parse(aws.parameters.get(PARAMETER)!).on).toBe(false);
    expect(aws.doctor.sms.published).toEqual([]);
  });

  it('switches the SSM flag, publishes transactional SMS, sends the mail through SES with the configuration set, and audits', async () => {
    const result = await stack('on', '--reason', 'power cut', '--notify');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(aws.parameters.get(PARAMETER)!).on).toBe(true);
    expect(aws.doctor.sms.published.map((sms) => [sms.phoneNumber, sms.attributes['AWS.SNS.SMS.SMSType']])).toEqual([
      ['+4917012345678', 'Transactional'],
      ['+4917011111111', 'Transactional'],
    ]);
    expect(aws.doctor.sentEmails).toHaveLength(1);
    expect(aws.doctor.sentEmails[0]).toMatchObject({
      from: 'noreply@corp.example',
      to: ['alice@example.net'],
      configurationSetName: 'corp-mail-webmail',
    });
    expect(aws.doctor.sentEmails[0]!.simple?.text).toContain('https://mail.corp.example/');
    const audit = new DynamoDbAuditLog({ client, tableName: TABLE });
    const events = (
      await audit.list({ since: startedAt, until: new Date(Date.now() + 60_000).toISOString(), action: 'notice.send', limit: 10 })
    ).events;
    expect(events).toHaveLength(1);
    expect(events[0]!.details).toMatchObject({ channels: ['sms', 'email'], smsSent: 2, emailSent: 1, skipped: 0 });
  });

  it('exits 3 when some notices fail, and says how many', async () => {
    aws.doctor.sms.publishError = { status: 400, code: 'InvalidParameter', message: 'Invalid parameter: PhoneNumber' };
    try {
      const result = await stack('on', '--reason', 'power cut', '--notify');
      expect(result.code).toBe(3);
      expect(result.out).toMatch(/sms 0 sent, 2 failed; email 1 sent; 0 skipped/);
      expect(result.out).toMatch(/failures\s+InvalidParameterException ×2/);
    } finally {
      aws.doctor.sms.publishError = null;
    }
  });
});
