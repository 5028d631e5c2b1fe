// The pure checks of `shadowmail doctor` at their edges (the CLI test covers each check
// through the SDK fakes): MX designs, the concurrency bound, subscriptions, rule sets,
// MAIL FROM, paused sending, and the domain name Cognito's API wants.
import type { AdminGetUserCommandOutput, UserPoolType } from '@aws-sdk/client-cognito-identity-provider';
import { describe, expect, it } from 'vitest';
import {
  breakGlassAdminCheck,
  breakGlassAdmins,
  breakGlassPoolCheck,
  breakGlassSmsCheck,
  cognitoDomainName,
} from '../../../../bin/commands/doctor/cognito.ts';
import { dkimCheck, mxCheck, parseDkimOutput } from '../../../../bin/commands/doctor/dns.ts';
import { concurrencyCheck, deadLetterQueueCheck, subscriptionCheck } from '../../../../bin/commands/doctor/operations.ts';
import { accountCheck, identityCheck, ruleSetCheck } from '../../../../bin/commands/doctor/ses.ts';

const SES = 'inbound-smtp.eu-central-1.amazonaws.com';

describe('doctor: MX records', () => {
  it.each([
    { records: [{ priority: 10, exchange: `${SES.toUpperCase()}.` }], status: 'ok', detail: /only: shadowmail is the MX \(design a\)/ },
    {
      records: [
        { priority: 10, exchange: 'mail.corp.example' },
        { priority: 20, exchange: SES },
      ],
      status: 'ok',
      detail: /backup MX \(design b\)/,
    },
    {
      records: [
        { priority: 10, exchange: SES },
        { priority: 20, exchange: 'mail.corp.example' },
      ],
      status: 'warn',
      detail: /first, then mail\.corp\.example \(20\): a sender that cannot reach SES delivers to the other host/,
    },
    {
      records: [
        { priority: 10, exchange: SES },
        { priority: 10, exchange: 'mail.corp.example' },
      ],
      status: 'warn',
      detail: /share a preference/,
    },
    {
      records: [
        { priority: 10, exchange: 'mail.corp.example' },
        { priority: 20, exchange: 'inbound-smtp.eu-west-1.amazonaws.com' },
      ],
      status: 'fail',
      detail: /MX points only at mail\.corp\.example \(10\), inbound-smtp\.eu-west-1\.amazonaws\.com \(20\)/,
    },
    { records: [], status: 'fail', detail: /^no MX record$/ },
    { records: { code: 'ENOTFOUND' }, status: 'fail', detail: /no MX record: senders cannot deliver/ },
    { records: { code: 'ETIMEOUT' }, status: 'fail', detail: /the DNS lookup failed \(ETIMEOUT\)/ },
  ])('$status for $records', ({ records, status, detail }) => {
    // Act
    const check = mxCheck('corp.example', SES, records);

    // Assess
    expect(check.status).toBe(status);
    expect(check.detail).toMatch(detail);
    expect(check.status === 'ok' || (check.fix ?? '') !== '').toBe(true);
  });
});

describe('doctor: DKIM records', () => {
  it('reads the DkimRecord outputs and compares names without case or the trailing dot', () => {
    // Prepare
    const record = parseDkimOutput('Abc._domainkey.corp.example CNAME abc.dkim.amazonses.com.')!;

    // Act
    const check = dkimCheck('corp.example', [{ ...record, found: ['ABC.dkim.amazonses.com.'] }]);

    // Assess
    expect(record).toEqual({ name: 'abc._domainkey.corp.example', value: 'abc.dkim.amazonses.com' });
    expect(check.status).toBe('ok');
    expect(parseDkimOutput('corp.example: verified by its three DKIM CNAME records')).toBeNull();
  });
});

describe('doctor: SES', () => {
  it('warns on a custom MAIL FROM domain that is not set up, and says what SES does meanwhile', () => {
    // Act
    const check = identityCheck('corp.example', {
      VerifiedForSendingStatus: true,
      DkimAttributes: { Status: 'SUCCESS' },
      MailFromAttributes: {
        MailFromDomain: 'bounce.corp.example',
        MailFromDomainStatus: 'PENDING',
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      },
      $metadata: {},
    });

    // Assess
    expect(check.status).toBe('warn');
    expect(check.detail).toBe('verified for sending: yes, DKIM SUCCESS; custom MAIL FROM bounce.corp.example is PENDING');
    expect(check.fix).toMatch(/sends with its own MAIL FROM domain$/);
  });

  it("compares the account's sending quota with webmail.sesDailyQuota, which the quota alarm is set by", () => {
    // Prepare
    const production = (max: number) => ({
      SendingEnabled: true,
      ProductionAccessEnabled: true,
      EnforcementStatus: 'HEALTHY',
      SendQuota: { Max24HourSend: max, MaxSendRate: 14, SentLast24Hours: 3 },
      $metadata: {},
    });

    // Act
    const same = accountCheck(production(50000), 50000);
    const higherConfigured = accountCheck(production(10000), 50000);
    const lowerConfigured = accountCheck(production(200000), 50000);
    const unlimited = accountCheck(production(-1), 50000);
    const olderStack = accountCheck(production(50000), undefined);
    const sandbox = accountCheck({ ...production(200), ProductionAccessEnabled: false }, 50000);

    // Assess
    expect(same).toMatchObject({
      status: 'ok',
      detail: 'production access, sending enabled (50000 messages a day, as webmail.sesDailyQuota says; 3 sent in the last 24 hours)',
    });
    expect(higherConfigured.status).toBe('warn');
    expect(higherConfigured.detail).toBe(
      "the account may send 10000 messages a day, but webmail.sesDailyQuota says 50000: the quota alarm fires late or never, after SES has begun refusing every send (the webmail's included)",
    );
    expect(higherConfigured.fix).toBe('set "webmail": { "sesDailyQuota": 10000 } in the deployment config and deploy (docs/deploy.md 9.2)');
    expect(lowerConfigured.status).toBe('warn');
    expect(lowerConfigured.detail).toBe(
      'the account may send 200000 messages a day, but webmail.sesDailyQuota says 50000: the quota alarm fires long before the quota is near',
    );
    expect(lowerConfigured.fix).toMatch(/"sesDailyQuota": 200000/);
    expect(unlimited).toMatchObject({
      status: 'ok',
      detail: 'production access, sending enabled (no daily quota; 3 sent in the last 24 hours)',
    });
    expect(olderStack).toMatchObject({
      status: 'ok',
      detail: 'production access, sending enabled (50000 messages a day; 3 sent in the last 24 hours)',
    });
    expect(sandbox.status).toBe('warn');
    expect(sandbox.detail).toMatch(/^SES sandbox: /);
    expect(sandbox.fix).toMatch(/then set webmail\.sesDailyQuota to the quota AWS grants/);
  });

  it('fails when sending is paused, and on an active rule set whose rule is disabled', () => {
    // Act
    const paused = accountCheck({ SendingEnabled: false, ProductionAccessEnabled: true, EnforcementStatus: 'SHUTDOWN', $metadata: {} });
    const disabled = ruleSetCheck('corp-mail-inbound', {
      Metadata: { Name: 'corp-mail-inbound' },
      Rules: [{ Name: 'corp-mail-store', Enabled: false }],
      $metadata: {},
    });

    // Assess
    expect(paused.status).toBe('fail');
    expect(paused.detail).toMatch(/^SES sending is paused in this region \(enforcement status SHUTDOWN\)/);
    expect(disabled.status).toBe('fail');
    expect(disabled.detail).toBe('active, but rule corp-mail-store is disabled');
  });
});

describe('doctor: operations', () => {
  it('needs 100 unreserved concurrent executions, no fewer', () => {
    // Act
    const enough = concurrencyCheck({ ConcurrentExecutions: 400, UnreservedConcurrentExecutions: 100 });
    const short = concurrencyCheck({ ConcurrentExecutions: 400, UnreservedConcurrentExecutions: 99 });

    // Assess
    expect(enough.status).toBe('ok');
    expect(short.status).toBe('fail');
    expect(short.fix).toMatch(/request 1000 for this region/);
  });

  it('fails a topic without any subscription, and counts a confirmed one among pending ones as ok', () => {
    // Act
    const none = subscriptionCheck('arn:aws:sns:eu-central-1:123456789012:alarms', []);
    const mixed = subscriptionCheck('arn:aws:sns:eu-central-1:123456789012:alarms', [
      { SubscriptionArn: 'PendingConfirmation', Protocol: 'email', Endpoint: 'new@corp.example' },
      {
        SubscriptionArn: 'arn:aws:sns:eu-central-1:123456789012:alarms:1',
        Protocol: 'https',
        Endpoint: 'https://oncall.corp.example/hook',
      },
    ]);

    // Assess
    expect(none.status).toBe('fail');
    expect(none.fix).toMatch(/^aws sns subscribe --topic-arn arn:aws:sns:eu-central-1:123456789012:alarms/);
    expect(mixed.status).toBe('ok');
    expect(mixed.detail).toBe('https https://oncall.corp.example/hook confirmed; 1 pending');
  });

  it('counts delayed and in-flight messages of a dead-letter queue too', () => {
    // Act
    const check = deadLetterQueueCheck('Resend', 'https://sqs/q', {
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '1',
    });

    // Assess
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/^1 message in https:\/\/sqs\/q/);
  });
});

describe('doctor: Cognito', () => {
  it('asks DescribeUserPoolDomain for the prefix of a Cognito domain and for the whole name of any other', () => {
    // Act / Assess
    expect(cognitoDomainName('https://corp-example-shadowmail.auth.eu-central-1.amazoncognito.com')).toBe('corp-example-shadowmail');
    expect(cognitoDomainName('https://login.corp.example')).toBe('login.corp.example');
  });
});

describe('doctor: break-glass sign-in', () => {
  const pool: UserPoolType = {
    UserPoolTier: 'ESSENTIALS',
    MfaConfiguration: 'OPTIONAL',
    Policies: { SignInPolicy: { AllowedFirstAuthFactors: ['PASSWORD', 'SMS_OTP', 'WEB_AUTHN'] } },
    LambdaConfig: { PreAuthentication: 'arn:fn', PostAuthentication: 'arn:fn' },
    SmsConfiguration: { SnsCallerArn: 'arn:aws:iam::123456789012:role/sms', ExternalId: 'x' },
  };

  it('names every problem of a pool that cannot serve break-glass sign-in in one failing line', () => {
    // Act
    const good = breakGlassPoolCheck(pool);
    const bad = breakGlassPoolCheck({ ...pool, UserPoolTier: 'LITE', MfaConfiguration: 'ON', LambdaConfig: {} });

    // Assess
    expect(good.status).toBe('ok');
    expect(bad.status).toBe('fail');
    expect(bad.detail).toBe(
      'feature plan LITE (choice-based sign-in needs Essentials); MFA ON, not OPTIONAL; no sign-in trigger before and after authentication: codes would not follow the flag, sign-ins not be audited',
    );
  });

  it('checks SMS only when codes are a first factor, and fails without a role or with a reported failure', () => {
    // Act
    const off = breakGlassSmsCheck({ ...pool, Policies: { SignInPolicy: { AllowedFirstAuthFactors: ['PASSWORD'] } } });
    const noRole = breakGlassSmsCheck({ ...pool, SmsConfiguration: undefined });
    const sandbox = breakGlassSmsCheck({ ...pool, SmsConfigurationFailure: 'SNSSandbox' });

    // Assess
    expect(off).toMatchObject({ status: 'ok', detail: 'staff sign-in by SMS code is off (breakGlass.staffSmsCodes)' });
    expect(noRole).toMatchObject({ status: 'fail', detail: 'SMS codes are a first factor, but the pool has no SMS role' });
    expect(sandbox).toMatchObject({ status: 'fail', detail: 'Cognito cannot send SMS: SNSSandbox' });
    expect(sandbox.fix).toMatch(/out of the sandbox/);
  });

  it('passes an admin only when present, enabled, confirmed and with TOTP', () => {
    // Prepare
    const admin: AdminGetUserCommandOutput = {
      Username: 'a@corp.example',
      Enabled: true,
      UserStatus: 'CONFIRMED',
      UserMFASettingList: ['SOFTWARE_TOKEN_MFA'],
      $metadata: {},
    };

    // Act
    const checks = [
      breakGlassAdminCheck('a@corp.example', admin),
      breakGlassAdminCheck('a@corp.example', null),
      breakGlassAdminCheck('a@corp.example', { ...admin, Enabled: false }),
      breakGlassAdminCheck('a@corp.example', { ...admin, UserMFASettingList: undefined }),
      breakGlassAdminCheck('a@corp.example', { ...admin, UserStatus: 'FORCE_CHANGE_PASSWORD' }),
    ];

    // Assess
    expect(checks.map((check) => check.status)).toEqual(['ok', 'fail', 'fail', 'fail', 'fail']);
    expect(checks[1]!.fix).toMatch(/^shadowmail breakglass admin-setup a@corp\.example --stack/);
  });

  it('reads the admins output as a trimmed list, none when absent', () => {
    expect(breakGlassAdmins(' a@corp.example, b@corp.example ,')).toEqual(['a@corp.example', 'b@corp.example']);
    expect(breakGlassAdmins(undefined)).toEqual([]);
  });
});
