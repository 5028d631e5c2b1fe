// `shadowmail doctor --stack ID` against a deployment of fakes: CloudFormation, SES
// (v1 and v2), Lambda, Cognito, SSM, SNS, SQS and CloudWatch behind the endpoint
// variables the real SDK clients read (cli-deployed-aws-fakes.ts, doctor-aws-fakes.ts),
// a DNS server of the test's own on 127.0.0.1 (--dns-server), an HTTP server for the
// sign-in domain and the AD FS metadata, and dynalite for the synced directory (the
// notices' SMS spend check counts its users with a number). One all-green deployment, then one broken
// thing per case: the line doctor prints for it, that it is the only one not ok, and
// the exit status.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import type { ProbeResult } from '../../../../lambdas/ports/smtp-probe.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import { type DnsServer, startDnsServer } from '../../../support/dns-server.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';

const STACK = 'corp-mail';
const REGION = 'eu-central-1';
const DOMAIN = 'corp.example';
const SES_MX = `inbound-smtp.${REGION}.amazonaws.com`;
const POOL = 'eu-central-1_AbCdEf123';
const FORWARD = 'corp-mail-stateless-ForwardFunction-AbC123';
const TOPIC = `arn:aws:sns:${REGION}:123456789012:corp-mail-alarms`;
const ADMIN = 'it-admin@corp.example';
const SMS_ROLE = 'arn:aws:iam::123456789012:role/corp-mail-stateless-WebmailSmsRole-AbC';
// DescribeUserPool as the deployed stack answers it (the parts the break-glass checks read).
const BREAK_GLASS_POOL = {
  UserPoolTier: 'ESSENTIALS',
  MfaConfiguration: 'OPTIONAL',
  Policies: { SignInPolicy: { AllowedFirstAuthFactors: ['PASSWORD', 'SMS_OTP', 'WEB_AUTHN'] } },
  LambdaConfig: {
    PreAuthentication: 'arn:aws:lambda:eu-central-1:123456789012:function:corp-mail-trigger',
    PostAuthentication: 'arn:aws:lambda:eu-central-1:123456789012:function:corp-mail-trigger',
  },
  SmsConfiguration: { SnsCallerArn: SMS_ROLE, ExternalId: 'corp-mail-webmail-sms' },
};
const ADMIN_USER = { Username: ADMIN, Enabled: true, UserStatus: 'CONFIRMED', Attributes: [{ Name: 'email', Value: ADMIN }] };
const PARAMETER = '/corp-mail/failover';
const RULE_SET = 'corp-mail-inbound';
const CONFIGURATION_SET = 'corp-mail-webmail';
const DKIM = [1, 2, 3].map((n) => ({ name: `tok${n}abc._domainkey.${DOMAIN}`, value: `tok${n}abc.dkim.amazonses.com` }));

const GOOD_PROBE: ProbeResult = {
  host: 'mail.corp.example',
  port: 10587,
  ok: true,
  fault: null,
  summary: 'mail.corp.example:10587 accepts shadowmail',
  steps: [
    { step: 'connect', ok: true, ms: 41 },
    { step: 'greeting', ok: true, ms: 12, code: 220, reply: '220 mail.corp.example Microsoft ESMTP MAIL Service ready' },
    { step: 'ehlo', ok: true, ms: 9, code: 250, reply: '250-mail.corp.example Hello' },
    { step: 'starttls', ok: true, ms: 55, code: 220, reply: '220 2.0.0 SMTP server ready' },
    { step: 'auth', ok: true, ms: 70, code: 235, reply: '235 2.7.0 Authentication successful' },
    { step: 'mail', ok: true, ms: 8, code: 250, reply: '250 2.1.0 Sender OK' },
    { step: 'rcpt', ok: true, ms: 10, code: 250, reply: '250 2.1.5 Recipient OK' },
    { step: 'rset', ok: true, ms: 4, code: 250, reply: '250 2.0.0 Resetting' },
    { step: 'quit', ok: true, ms: 3, code: 221, reply: '221 2.0.0 Service closing transmission channel' },
  ],
};

const run = runCli;

/** The first line of every check that is not ok. */
const problems = (out: string): string[] => out.split('\n').filter((line) => /^(WARN|FAIL) {2}/.test(line));

describe('shadowmail doctor --stack', () => {
  let aws: FakeAws;
  let dns: DnsServer;
  let dynamo: DynamoDbServer;
  let web: Server;
  let webUrl = '';
  /** An address where nothing listens (a port that was just free). */
  let closedUrl = '';
  const savedEnv = { ...process.env };
  const doctor = (...extra: string[]) => run('doctor', '--stack', STACK, '--region', REGION, '--dns-server', dns.address, ...extra);

  /** A deployment where everything is as it should be. */
  function allGreen(): void {
    const state = aws.doctor;
    // 40 users × (a code + two two-part notices) × 0.08 USD = 16 USD on an outage day.
    state.sms = { published: [], publishError: null, inSandbox: false, attributes: { MonthlySpendLimit: '100' } };
    const stateless = aws.stacks.get(`${STACK}-stateless`);
    if (stateless) stateless.NoticeChannels = 'sms';
    state.identities.clear();
    state.identities.set(DOMAIN, {
      VerifiedForSendingStatus: true,
      VerificationStatus: 'SUCCESS',
      DkimAttributes: { SigningEnabled: true, Status: 'SUCCESS', Tokens: DKIM.map((d) => d.name.split('.')[0]) },
    });
    state.account = {
      ProductionAccessEnabled: true,
      SendingEnabled: true,
      EnforcementStatus: 'HEALTHY',
      SendQuota: { Max24HourSend: 50000, MaxSendRate: 14, SentLast24Hours: 3 },
    };
    state.activeRuleSet = { name: RULE_SET, rules: [{ Name: 'corp-mail-store', Enabled: true }] };
    state.configurationSets.clear();
    state.configurationSets.set(CONFIGURATION_SET, {
      set: { SendingOptions: { SendingEnabled: true } },
      destinations: [
        {
          Name: 'bounces',
          Enabled: true,
          MatchingEventTypes: ['BOUNCE', 'COMPLAINT', 'REJECT'],
          CloudWatchDestination: { DimensionConfigurations: [] },
        },
      ],
    });
    state.invoke = () => ({ payload: JSON.stringify(GOOD_PROBE) });
    state.accountLimit = { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 980 };
    state.userPoolDomains.clear();
    state.userPoolDomains.set('127.0.0.1', { UserPoolId: POOL, Domain: '127.0.0.1', Status: 'ACTIVE' });
    // Break-glass sign-in: the pool as the stack deploys it, one admin with TOTP.
    state.userPools.clear();
    state.userPools.set(POOL, BREAK_GLASS_POOL);
    state.poolUsers.clear();
    state.poolUsers.set(`${POOL}/${ADMIN}`, { ...ADMIN_USER, UserMFASettingList: ['SOFTWARE_TOKEN_MFA'] });
    state.identityProviders.clear();
    state.identityProviders.set(`${POOL}/ADFS`, {
      UserPoolId: POOL,
      ProviderName: 'ADFS',
      ProviderType: 'SAML',
      ProviderDetails: { MetadataURL: `${webUrl}/FederationMetadata/2007-06/FederationMetadata.xml` },
    });
    state.subscriptions.clear();
    state.subscriptions.set(TOPIC, [
      { SubscriptionArn: `${TOPIC}:6f1b0c1e-0000-4000-8000-000000000001`, Protocol: 'email', Endpoint: 'it-alerts@corp.example' },
    ]);
    state.queueAttributes.clear();
    for (const label of ['ingest', 'forward', 'resend', 'notifications']) {
      state.queueAttributes.set(`${aws.endpoint}/123456789012/corp-mail-${label}-dlq`, {
        ApproximateNumberOfMessages: '0',
        ApproximateNumberOfMessagesNotVisible: '0',
        ApproximateNumberOfMessagesDelayed: '0',
      });
    }
    state.alarms = [
      {
        AlarmName: `${STACK}-forward-backlog-age`,
        StateValue: 'OK',
        Namespace: 'shadowmail',
        MetricName: 'ForwardBacklogAgeSeconds',
        Dimensions: [{ Name: 'service', Value: 'shadowmail-forward' }],
        Period: 300,
        EvaluationPeriods: 4,
        Threshold: 1800,
        Statistic: 'Maximum',
      },
      {
        AlarmName: `${STACK}-dlq-ingest-not-empty`,
        StateValue: 'OK',
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        Statistic: 'Maximum',
      },
    ];
    state.metricValues = [];
    aws.parameters.set(PARAMETER, JSON.stringify({ on: false, since: null, message: null, changedBy: null, reason: null }));
    dns.zone.mx.clear();
    dns.zone.mx.set(DOMAIN, [{ priority: 10, exchange: SES_MX }]);
    dns.zone.cname.clear();
    for (const record of DKIM) dns.zone.cname.set(record.name, record.value);
  }

  beforeAll(async () => {
    [aws, dns, dynamo] = await Promise.all([startFakeAws(), startDnsServer(), startDynalite()]);
    // The synced directory: 40 enabled users with a number (and one disabled, one without).
    const client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, 'corp-mail-messages');
    await new DynamoDbDirectoryStore({ client, tableName: 'corp-mail-messages' }).putUsers([
      ...Array.from({ length: 40 }, (_, i) =>
        makeDirectoryUser({ id: `u${i}`, mailbox: `user${i}@${DOMAIN}`, mobile: `+49170${String(1000000 + i)}` }),
      ),
      makeDirectoryUser({ id: 'gone', mailbox: `gone@${DOMAIN}`, disabled: true, mobile: '+4917099999999' }),
      makeDirectoryUser({ id: 'none', mailbox: `none@${DOMAIN}` }),
    ]);
    client.destroy();
    // The sign-in domain and the AD FS metadata, as their HTTPS servers would answer.
    web = createServer((request, response) => {
      if (request.url?.startsWith('/oauth2/authorize')) response.writeHead(302, { location: '/error?error=invalid_request' }).end();
      else if (request.url === '/FederationMetadata/2007-06/FederationMetadata.xml') {
        response
          .writeHead(200, { 'content-type': 'application/samlmetadata+xml' })
          .end('<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://adfs.corp.example/adfs/services/trust"/>');
      } else if (request.url === '/tenant/v2.0/.well-known/openid-configuration') {
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ issuer: `${webUrl}/tenant/v2.0`, authorization_endpoint: `${webUrl}/tenant/oauth2/v2.0/authorize` }));
      } else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', () => resolve()));
    webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    aws.stacks.set(`${STACK}-stateful`, {
      TableName: 'corp-mail-messages',
      RawMailBucketName: 'corp-mail-raw',
      ResendQueueUrl: `${aws.endpoint}/123456789012/corp-mail-resend`,
      ...Object.fromEntries(
        ['Ingest', 'Forward', 'Resend', 'Notifications'].map((label) => [
          `DeadLetterQueue${label}Url`,
          `${aws.endpoint}/123456789012/corp-mail-${label.toLowerCase()}-dlq`,
        ]),
      ),
    });
    aws.stacks.set(`${STACK}-stateless`, {
      MxTarget: SES_MX,
      MailDomains: DOMAIN,
      ReceiptRuleSetName: RULE_SET,
      MxRecordCorpExample: `${DOMAIN} MX 10 ${SES_MX}`,
      ...Object.fromEntries(DKIM.map((record, index) => [`DkimRecordCorpExample${index + 1}`, `${record.name} CNAME ${record.value}`])),
      ForwardFunctionName: FORWARD,
      UserPoolId: POOL,
      CognitoDomain: webUrl,
      IdentityProviderName: 'ADFS',
      BreakGlassAdmins: ADMIN,
      AlarmTopicArn: TOPIC,
      SesDailyQuota: '50000',
      FailoverParameterName: PARAMETER,
      ConfigurationSetName: CONFIGURATION_SET,
      WebmailUrl: 'https://abc.execute-api.eu-central-1.amazonaws.com/',
      NoticeChannels: 'sms',
      NoticeSender: `noreply@${DOMAIN}`,
    });
    // A stack deployed by an older version: no doctor outputs, no DLQ outputs.
    aws.stacks.set('old-mail-stateful', { TableName: 'old-mail-messages' });
    aws.stacks.set('old-mail-stateless', {
      MxTarget: SES_MX,
      FailoverParameterName: '/old-mail/failover',
      UserPoolId: POOL,
      AlarmTopicArn: TOPIC,
    });
    useFakeAws(aws, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint });
  });

  beforeEach(() => allGreen());

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([aws?.close(), dns?.close(), dynamo?.stop(), new Promise((resolve) => web?.close(resolve))]);
  });

  it('passes a healthy deployment with every check ok, exit 0, asking only read-only APIs', async () => {
    // Prepare
    const before = aws.requests.length;

    // Act
    const result = await doctor();
    const json = await doctor('--json');

    // Assess
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(problems(result.out)).toEqual([]);
    const lines = result.out.split('\n');
    expect(lines[0]).toBe(`shadowmail doctor: stack ${STACK} (${REGION})`);
    for (const expected of [
      `ok    ses        receiving region: SES receives mail in ${REGION}`,
      `ok    ses        identity ${DOMAIN}: verified for sending: yes, DKIM SUCCESS`,
      'ok    ses        sending account: production access, sending enabled (50000 messages a day, as webmail.sesDailyQuota says; 3 sent in the last 24 hours)',
      `ok    ses        receipt rule set ${RULE_SET}: active (1 rule)`,
      `ok    ses        configuration set ${CONFIGURATION_SET}: sending, events BOUNCE, COMPLAINT, REJECT`,
      `ok    dns        MX ${DOMAIN}: ${SES_MX} only: shadowmail is the MX (design a)`,
      `ok    dns        DKIM ${DOMAIN}: 3 of 3 CNAMEs as the stack outputs say`,
      'ok    smart host mail.corp.example:10587: the forward function reached it and RCPT TO:<postmaster@corp.example> was accepted (no DATA sent)',
      `ok    cognito    sign-in domain ${webUrl}: ACTIVE, answers (HTTP 302)`,
      `ok    cognito    identity provider ADFS: SAML, metadata ${webUrl}/FederationMetadata/2007-06/FederationMetadata.xml answers`,
      'ok    cognito    break-glass sign-in: first factors PASSWORD, SMS_OTP, WEB_AUTHN; MFA optional, TOTP for admins (trigger-enforced); sign-in trigger set',
      `ok    cognito    SMS for sign-in codes: through SNS in the pool region with role ${SMS_ROLE}`,
      `ok    cognito    break-glass admin ${ADMIN}: enabled, password and TOTP set up`,
      `ok    operations failover parameter ${PARAMETER}: readable, off (normal operation)`,
      'ok    operations alarm subscriptions: email it-alerts@corp.example confirmed',
      ...['Ingest', 'Forward', 'Resend', 'Notifications'].map((label) => `ok    operations dead-letter queue ${label}: empty`),
      'ok    operations forward backlog: no mail was waiting for Exchange in the last 20 minutes',
      'ok    operations alarms: 2 alarms, none firing',
      'ok    operations Lambda concurrency: quota 1000 concurrent executions in this region, 980 unreserved',
      'ok    notices    notice channels: failover notices by SMS',
      'ok    notices    SMS sandbox: out of the SMS sandbox: SMS reach any number',
      'ok    notices    SMS spend limit: monthly SMS spend limit 100 USD covers 6 outage day(s): one outage day is about 200 SMS parts (40 users with a number, codes and on/off notices), about 16.00 USD at 0.08 USD per part',
    ]) {
      expect(lines).toContain(expected);
    }
    // Each SMTP step of the probe, with its reply and time.
    expect(lines).toContain('                  starttls ok      55 ms 220 220 2.0.0 SMTP server ready');
    expect(lines.at(-2)).toBe('25 ok, 0 warn, 0 fail');
    const parsed = JSON.parse(json.out) as { stack: string; region: string; checks: Array<{ status: string }>; summary: unknown };
    expect(json.code).toBe(0);
    expect(parsed.summary).toEqual({ ok: 25, warn: 0, fail: 0 });
    expect(parsed.checks.every((check) => check.status === 'ok')).toBe(true);
    // The probe asks for RCPT of postmaster of the first domain with the null sender; nothing is written.
    const calls = aws.requests.slice(before);
    expect(calls.find((call) => call.action === 'Invoke')!.params).toEqual({
      FunctionName: FORWARD,
      event: { shadowmailProbe: { from: '', recipient: `postmaster@${DOMAIN}` } },
    });
    const actions = new Set(calls.map((call) => `${call.service}:${call.action}`));
    // AdminGetUser reads a user (break-glass admins' TOTP); nothing is written.
    expect([...actions].filter((action) => !/:(Describe|Get|List|AdminGet)|^lambda:Invoke$/.test(action))).toEqual([]);
    expect(dns.questions).toEqual(expect.arrayContaining([`MX ${DOMAIN}`, ...DKIM.map((record) => `CNAME ${record.name}`)]));
  });

  it("compares the stack's receipt rules with the synced directory: the check on, an address in no rule fails", async () => {
    // Prepare: the stack rule narrowed (recipientCheck), one address rule without none@
    const listed = [...Array.from({ length: 40 }, (_, i) => `user${i}@${DOMAIN}`), `gone@${DOMAIN}`];
    aws.doctor.receiptRules.ruleSets.set(RULE_SET, [
      { Name: 'corp-mail-store', Enabled: true, Recipients: [`postmaster@${DOMAIN}`] },
      { Name: 'corp-mail-dir-000', Enabled: true, Recipients: listed },
    ]);

    // Act
    let result: Awaited<ReturnType<typeof doctor>>;
    try {
      result = await doctor();
    } finally {
      aws.doctor.receiptRules.ruleSets.clear();
    }

    // Assess
    expect(result.code).toBe(1);
    expect(result.out).toContain('ok    ses        recipient check: on: SES refuses addresses no rule lists; taken whole: none');
    expect(problems(result.out)).toEqual([
      `FAIL  ses        receipt rules vs directory: 1 address of the directory in no rule: none@${DOMAIN}; SES refuses mail to them`,
    ]);
    expect(result.out).toContain('ok    ses        receipt rule count: 2 rules of at most 200 a rule set');
  });

  it.each([
    {
      case: 'an identity not verified',
      change: (a: FakeAws) => a.doctor.identities.set(DOMAIN, { VerifiedForSendingStatus: false, DkimAttributes: { Status: 'FAILED' } }),
      line: `FAIL  ses        identity ${DOMAIN}: verified for sending: no, DKIM FAILED: SES found the DKIM records missing or wrong (FAILED); SES receives no mail for an unverified domain`,
    },
    {
      case: 'DKIM pending',
      change: (a: FakeAws) => a.doctor.identities.set(DOMAIN, { VerifiedForSendingStatus: false, DkimAttributes: { Status: 'PENDING' } }),
      line: `FAIL  ses        identity ${DOMAIN}: verified for sending: no, DKIM PENDING: SES has not found the DKIM CNAME records yet (it keeps looking for up to 72 hours); SES receives no mail for an unverified domain`,
    },
    {
      case: 'another rule set active',
      change: (a: FakeAws) => (a.doctor.activeRuleSet = { name: 'old-rules', rules: [{ Name: 'legacy', Enabled: true }] }),
      line: `FAIL  ses        receipt rule set ${RULE_SET}: another rule set, "old-rules", is active: SES runs only one per region, so none of shadowmail's rules receives mail`,
    },
    {
      case: 'no receipt rule set active',
      change: (a: FakeAws) => (a.doctor.activeRuleSet = null),
      line: `FAIL  ses        receipt rule set ${RULE_SET}: no receipt rule set is active in this region: SES receives no mail`,
    },
    {
      case: 'the identity gone from SES',
      change: (a: FakeAws) => a.doctor.identities.delete(DOMAIN),
      line: `FAIL  ses        identity ${DOMAIN}: SES has no identity for this domain in this region: it refuses mail for it`,
    },
    {
      case: 'the MX missing',
      change: (_a: FakeAws, d: DnsServer) => d.zone.mx.delete(DOMAIN),
      line: `FAIL  dns        MX ${DOMAIN}: no MX record: senders cannot deliver mail for this domain at all`,
    },
    {
      case: 'the MX still at Exchange only',
      change: (_a: FakeAws, d: DnsServer) => d.zone.mx.set(DOMAIN, [{ priority: 10, exchange: 'mail.corp.example' }]),
      line: `FAIL  dns        MX ${DOMAIN}: MX points only at mail.corp.example (10): mail does not reach shadowmail, nothing is protected`,
    },
    {
      case: 'a DKIM CNAME missing',
      change: (_a: FakeAws, d: DnsServer) => d.zone.cname.delete(DKIM[1]!.name),
      line: `FAIL  dns        DKIM ${DOMAIN}: 2 of 3 CNAMEs right; ${DKIM[1]!.name} missing`,
    },
    {
      case: 'a DKIM CNAME pointing elsewhere',
      change: (_a: FakeAws, d: DnsServer) => d.zone.cname.set(DKIM[2]!.name, 'old.dkim.example.net'),
      line: `FAIL  dns        DKIM ${DOMAIN}: 2 of 3 CNAMEs right; ${DKIM[2]!.name} points at old.dkim.example.net`,
    },
    {
      case: 'the probe answered 535 at AUTH',
      change: (a: FakeAws) =>
        (a.doctor.invoke = () => ({
          payload: JSON.stringify({
            ...GOOD_PROBE,
            ok: false,
            fault: 'auth',
            summary: "Exchange refused the login (535): check the smart-host secret and the receive connector's authentication",
            steps: [
              ...GOOD_PROBE.steps.slice(0, 4),
              { step: 'auth', ok: false, ms: 2030, code: 535, reply: '535 5.7.3 Authentication unsuccessful' },
            ],
          } satisfies ProbeResult),
        })),
      line: 'FAIL  smart host mail.corp.example:10587: auth at auth 535 535 5.7.3 Authentication unsuccessful',
    },
    {
      case: 'the probe timed out waiting for the greeting',
      change: (a: FakeAws) =>
        (a.doctor.invoke = () => ({
          payload: JSON.stringify({
            ...GOOD_PROBE,
            ok: false,
            fault: 'timeout',
            summary: 'connected, but mail.corp.example:10587 sent no greeting within 10 s: a firewall or proxy in between',
            steps: [
              { step: 'connect', ok: true, ms: 38 },
              { step: 'greeting', ok: false, ms: 10000, reply: 'no greeting within 10000 ms' },
            ],
          } satisfies ProbeResult),
        })),
      line: 'FAIL  smart host mail.corp.example:10587: timeout at greeting no greeting within 10000 ms',
    },
    {
      case: 'the forward function failing (FunctionError)',
      change: (a: FakeAws) =>
        (a.doctor.invoke = () => ({
          functionError: 'Unhandled',
          payload: JSON.stringify({ errorType: 'Runtime.ImportModuleError', errorMessage: "Error: Cannot find module 'nodemailer'" }),
        })),
      line: `FAIL  smart host probe through ${FORWARD}: the forward function failed (Unhandled): Runtime.ImportModuleError: Error: Cannot find module 'nodemailer'`,
    },
    {
      case: 'the invocation throttled',
      change: (a: FakeAws) => (a.doctor.invoke = () => ({ status: 429, errorType: 'TooManyRequestsException', message: 'Rate Exceeded.' })),
      line: `FAIL  smart host probe through ${FORWARD}: Lambda throttled the invocation: Rate Exceeded.`,
    },
    {
      case: 'the IdP metadata unreachable',
      change: (a: FakeAws) =>
        a.doctor.identityProviders.set(`${POOL}/ADFS`, {
          ProviderName: 'ADFS',
          ProviderType: 'SAML',
          ProviderDetails: { MetadataURL: `${closedUrl}/FederationMetadata/2007-06/FederationMetadata.xml` },
        }),
      line: 'FAIL  cognito    identity provider ADFS: SAML metadata {closed}/FederationMetadata/2007-06/FederationMetadata.xml unreachable: ECONNREFUSED',
    },
    {
      case: 'the sign-in domain not ACTIVE',
      change: (a: FakeAws) => a.doctor.userPoolDomains.set('127.0.0.1', { UserPoolId: POOL, Domain: '127.0.0.1', Status: 'CREATING' }),
      line: 'FAIL  cognito    sign-in domain {web}: domain status CREATING: users cannot sign in',
    },
    {
      case: 'the SMS role stuck in the SNS sandbox',
      change: (fake: FakeAws) =>
        fake.doctor.userPools.set(POOL, { ...BREAK_GLASS_POOL, SmsConfigurationFailure: 'SNSSandbox: the account is in the SMS sandbox' }),
      line: 'FAIL  cognito    SMS for sign-in codes: Cognito cannot send SMS: SNSSandbox: the account is in the SMS sandbox',
    },
    {
      case: 'the pool MFA required',
      change: (fake: FakeAws) => fake.doctor.userPools.set(POOL, { ...BREAK_GLASS_POOL, MfaConfiguration: 'ON' }),
      line: 'FAIL  cognito    break-glass sign-in: MFA ON, not OPTIONAL',
    },
    {
      case: 'a break-glass admin without TOTP',
      change: (fake: FakeAws) => fake.doctor.poolUsers.set(`${POOL}/${ADMIN}`, { ...ADMIN_USER, UserMFASettingList: [] }),
      line: `FAIL  cognito    break-glass admin ${ADMIN}: CONFIRMED, but no TOTP: the sign-in trigger refuses the account`,
    },
    {
      case: 'a break-glass admin missing from the pool',
      change: (fake: FakeAws) => fake.doctor.poolUsers.clear(),
      line: `FAIL  cognito    break-glass admin ${ADMIN}: no such account in the user pool: this admin cannot sign in with AD FS down`,
    },
    {
      case: 'the alarm subscription pending',
      change: (a: FakeAws) =>
        a.doctor.subscriptions.set(TOPIC, [
          { SubscriptionArn: 'PendingConfirmation', Protocol: 'email', Endpoint: 'it-alerts@corp.example' },
        ]),
      line: 'FAIL  operations alarm subscriptions: only unconfirmed subscriptions (email it-alerts@corp.example): no alarm reaches anyone',
    },
    {
      case: 'a dead-letter queue not empty',
      change: (a: FakeAws) =>
        a.doctor.queueAttributes.set(`${a.endpoint}/123456789012/corp-mail-forward-dlq`, {
          ApproximateNumberOfMessages: '2',
          ApproximateNumberOfMessagesNotVisible: '1',
        }),
      line: 'FAIL  operations dead-letter queue Forward: 3 messages in {endpoint}/123456789012/corp-mail-forward-dlq: work that failed five times and waits for a person',
    },
    {
      case: 'an old forward backlog',
      change: (a: FakeAws) => (a.doctor.metricValues = [3900, 3600]),
      line: "FAIL  operations forward backlog: mail received 1.1 h ago is still not at Exchange (deferred and retried); the alarm's limit is 30 min",
    },
    {
      case: 'a low Lambda concurrency quota',
      change: (a: FakeAws) => (a.doctor.accountLimit = { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 }),
      line: 'FAIL  operations Lambda concurrency: quota 10 concurrent executions in this region, 10 unreserved: new accounts start this low; ingest, forward, resend and the webmail share it, and below 100 unreserved no function may reserve concurrency for the webmail',
    },
  ])('fails on $case with one line and exit 1', async ({ change, line }) => {
    // Prepare
    change(aws, dns);
    const expected = line.replace('{endpoint}', aws.endpoint).replace('{web}', webUrl).replace('{closed}', closedUrl);

    // Act
    const result = await doctor();

    // Assess
    expect(result.err).toBe('');
    expect(problems(result.out)).toEqual([expected]);
    expect(result.code).toBe(1);
    const lines = result.out.split('\n');
    expect(lines[lines.indexOf(expected) + 1]).toMatch(/^ {18}(→ \S|\S+ +(ok {2}|FAIL) )/);
    expect(lines.at(-2)).toMatch(/^24 ok, 0 warn, 1 fail$/);
  });

  it("says what to do under a failing line, and prints the probe's steps with the failing one", async () => {
    // Prepare
    aws.doctor.invoke = () => ({
      payload: JSON.stringify({
        ...GOOD_PROBE,
        ok: false,
        fault: 'unreachable',
        port: 25,
        summary:
          "no TCP connection to mail.corp.example:25: Lambda blocks port 25 unless AWS removed the restriction for the NAT gateway's Elastic IP",
        steps: [{ step: 'connect', ok: false, ms: 10001, reply: 'connect ETIMEDOUT' }],
      } satisfies ProbeResult),
    });

    // Act
    const result = await doctor();

    // Assess
    const lines = result.out.split('\n');
    const at = lines.indexOf('FAIL  smart host mail.corp.example:25: unreachable at connect connect ETIMEDOUT');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 3)).toEqual([
      '                  connect  FAIL 10001 ms     connect ETIMEDOUT',
      "                  → no TCP connection to mail.corp.example:25: Lambda blocks port 25 unless AWS removed the restriction for the NAT gateway's Elastic IP",
    ]);
    expect(result.code).toBe(1);
  });

  it.each([
    {
      case: 'the SES sandbox',
      change: (a: FakeAws) => (a.doctor.account = { ProductionAccessEnabled: false, SendingEnabled: true, EnforcementStatus: 'HEALTHY' }),
      line: 'WARN  ses        sending account: SES sandbox: the webmail can send only to addresses of your own verified domains (at most 200 a day, 1 a second); a reply to an external sender fails',
    },
    {
      case: 'an SES quota other than webmail.sesDailyQuota',
      change: (a: FakeAws) => (a.doctor.account = { ...a.doctor.account, SendQuota: { Max24HourSend: 10000, MaxSendRate: 14 } }),
      line: "WARN  ses        sending account: the account may send 10000 messages a day, but webmail.sesDailyQuota says 50000: the quota alarm fires late or never, after SES has begun refusing every send (the webmail's included)",
    },
    {
      case: 'RCPT of the default postmaster refused',
      change: (a: FakeAws) =>
        (a.doctor.invoke = () => ({
          payload: JSON.stringify({
            ...GOOD_PROBE,
            ok: false,
            fault: 'refused',
            summary: 'Exchange refused the recipient',
            steps: [
              ...GOOD_PROBE.steps.slice(0, 6),
              {
                step: 'rcpt',
                ok: false,
                ms: 11,
                code: 550,
                reply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
              },
            ],
          } satisfies ProbeResult),
        })),
      line: `WARN  smart host mail.corp.example:10587: everything up to RCPT works; Exchange refused the default test recipient postmaster@${DOMAIN} (rcpt 550 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup)`,
    },
    {
      case: 'failover on',
      change: (a: FakeAws) =>
        a.parameters.set(
          PARAMETER,
          JSON.stringify({
            on: true,
            since: '2030-03-04T09:40:00.000Z',
            message: 'Exchange is down',
            changedBy: 'cli:admin@host',
            reason: 'drill',
          }),
        ),
      line: `WARN  operations failover parameter ${PARAMETER}: ON since 2030-03-04T09:40:00.000Z (cli:admin@host): the emergency webmail is open to staff`,
    },
    {
      case: 'a young forward backlog',
      change: (a: FakeAws) => (a.doctor.metricValues = [600]),
      line: 'WARN  operations forward backlog: mail is waiting for Exchange: the oldest was received 10 min ago (deferred, retried)',
    },
    {
      case: 'the SMS sandbox',
      change: (a: FakeAws) => (a.doctor.sms.inSandbox = true),
      line: 'WARN  notices    SMS sandbox: the account is in the SMS sandbox: SMS reach only verified destination numbers, so break-glass sign-in codes and SMS notices to staff fail',
    },
    {
      case: "the new account's 1 USD SMS spend limit",
      change: (a: FakeAws) => (a.doctor.sms.attributes = { MonthlySpendLimit: '1' }),
      line: 'WARN  notices    SMS spend limit: the monthly SMS spend limit is 1 USD, but one outage day is about 200 SMS parts (40 users with a number, codes and on/off notices), about 16.00 USD at 0.08 USD per part: SNS stops sending SMS once the limit is reached',
    },
    {
      case: 'notice mail from the SES sandbox',
      change: (a: FakeAws) => {
        a.stacks.get(`${STACK}-stateless`)!.NoticeChannels = 'sms,email';
        a.doctor.account = { ...a.doctor.account, ProductionAccessEnabled: false };
      },
      // The SES sandbox also warns in the ses group; the notices group says what it means for notices.
      line: 'WARN  notices    notice mail: SES sandbox: notice mail to private addresses fails (only verified identities are reached)',
      alsoWarns: 'WARN  ses        sending account:',
    },
  ] as Array<{ case: string; change: (a: FakeAws) => void; line: string; alsoWarns?: string }>)(
    'warns on $case and still exits 0',
    async ({ change, line, alsoWarns }) => {
      // Prepare
      change(aws);

      // Act
      const result = await doctor();

      // Assess
      if (alsoWarns) {
        expect(problems(result.out).filter((problem) => !problem.startsWith(alsoWarns))).toEqual([line]);
        expect(result.code).toBe(0);
        return;
      }
      expect(problems(result.out)).toEqual([line]);
      expect(result.code).toBe(0);
      expect(result.out.split('\n').at(-2)).toBe('24 ok, 1 warn, 0 fail');
    },
  );

  it("checks an OIDC provider by its issuer's discovery document, which must name the same issuer", async () => {
    // Prepare
    const entra = (issuer: string) =>
      aws.doctor.identityProviders.set(`${POOL}/ADFS`, {
        ProviderName: 'ADFS',
        ProviderType: 'OIDC',
        ProviderDetails: { oidc_issuer: issuer, client_id: 'client', authorize_scopes: 'openid email' },
      });

    // Act
    entra(`${webUrl}/tenant/v2.0`);
    const right = await doctor();
    entra(`${webUrl}/tenant/v2.0/`);
    const trailingSlash = await doctor();
    entra(`${webUrl}/other-tenant/v2.0`);
    const wrong = await doctor();

    // Assess
    expect(right.code).toBe(0);
    expect(right.out).toContain(`ok    cognito    identity provider ADFS: OIDC, issuer ${webUrl}/tenant/v2.0 answers`);
    expect(problems(trailingSlash.out)).toEqual([
      `FAIL  cognito    identity provider ADFS: OIDC discovery ${webUrl}/tenant/v2.0/.well-known/openid-configuration answers HTTP 200 with issuer "${webUrl}/tenant/v2.0", not ${webUrl}/tenant/v2.0/`,
    ]);
    expect(problems(wrong.out)).toEqual([
      `FAIL  cognito    identity provider ADFS: OIDC discovery ${webUrl}/other-tenant/v2.0/.well-known/openid-configuration answers HTTP 404`,
    ]);
  });

  it('probes the mailbox --mailbox names, and fails when a named mailbox is refused', async () => {
    // Prepare
    const invoked: unknown[] = [];
    aws.doctor.invoke = (_name, event) => {
      invoked.push(event);
      return {
        payload: JSON.stringify({
          ...GOOD_PROBE,
          ok: false,
          fault: 'refused',
          summary: 'Exchange refused the recipient: check the address',
          steps: [...GOOD_PROBE.steps.slice(0, 6), { step: 'rcpt', ok: false, ms: 11, code: 550, reply: '550 5.1.10 Recipient not found' }],
        } satisfies ProbeResult),
      };
    };

    // Act
    const result = await doctor('--mailbox', 'Alice@Corp.Example');

    // Assess
    expect(invoked).toEqual([{ shadowmailProbe: { from: '', recipient: 'Alice@corp.example' } }]);
    expect(problems(result.out)).toEqual(['FAIL  smart host mail.corp.example:10587: refused at rcpt 550 550 5.1.10 Recipient not found']);
    expect(result.code).toBe(1);
  });

  it('calls the backup-MX design ok and a shared preference a warning', async () => {
    // Prepare
    dns.zone.mx.set(DOMAIN, [
      { priority: 20, exchange: SES_MX },
      { priority: 10, exchange: 'mail.corp.example' },
    ]);

    // Act
    const backup = await doctor();
    dns.zone.mx.set(DOMAIN, [
      { priority: 10, exchange: SES_MX },
      { priority: 10, exchange: 'mail.corp.example' },
    ]);
    const shared = await doctor();

    // Assess
    expect(backup.code).toBe(0);
    expect(backup.out).toContain(
      `ok    dns        MX ${DOMAIN}: mail.corp.example (10) first, then ${SES_MX} (20): backup MX (design b) — shadowmail takes only mail that cannot reach mail.corp.example`,
    );
    expect(problems(shared.out)).toEqual([
      `WARN  dns        MX ${DOMAIN}: SES and mail.corp.example (10) share a preference: senders pick either, and mail to the other host goes around shadowmail`,
    ]);
  });

  it('names every output an older deployment lacks as a failure, and still checks the rest', async () => {
    // Act
    const result = await run('doctor', '--stack', 'old-mail', '--region', REGION, '--dns-server', dns.address);

    // Assess
    expect(result.code).toBe(1);
    const failures = problems(result.out);
    expect(failures).toEqual(
      expect.arrayContaining([
        'FAIL  ses        mail domains: the stateless stack has no output MailDomains',
        'FAIL  ses        receipt rule set: the stateless stack has no output ReceiptRuleSetName',
        'FAIL  smart host probe: the stateless stack has no output ForwardFunctionName',
        'FAIL  cognito    sign-in domain: the stateless stack has no output CognitoDomain',
        'WARN  operations dead-letter queues: the stacks have no DeadLetterQueue<Label>Url outputs, so doctor cannot look into them',
        'FAIL  notices    notice channels: the stateless stack has no output NoticeChannels',
      ]),
    );
    expect(result.out).toContain('→ deploy the current version of shadowmail (npx cdk deploy --all)');
    expect(result.out).toContain('ok    operations failover parameter /old-mail/failover: readable, off (normal operation)');
  });

  it('answers a missing stack and bad options with one line and exit 2', async () => {
    // Act
    const results = await Promise.all([
      run('doctor', '--stack', 'nowhere', '--region', REGION),
      run('doctor'),
      run('doctor', '--stack', STACK, '--mailbox', 'not an address'),
      run('doctor', '--stack', STACK, '--dns-server', 'dns.google'),
    ]);
    const help = await run('doctor', '--help');

    // Assess
    expect(results[0]!.err).toBe(
      `shadowmail doctor: stack nowhere-stateful not found in ${REGION}: check --stack (the stackId of the deployment) and --region\n`,
    );
    expect(results[1]!.err).toMatch(/^shadowmail doctor: --stack STACK_ID is required/);
    expect(results[2]!.err).toMatch(/^shadowmail doctor: --mailbox must be a mail address/);
    expect(results[3]!.err).toMatch(/^shadowmail doctor: --dns-server must be an IP address/);
    for (const result of results) expect(result.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.out).toContain('shadowmail doctor --stack STACK_ID [--region REGION] [--mailbox ADDR] [--dns-server IP[:PORT]] [--json]');
  });
});
