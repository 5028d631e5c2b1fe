// The environment contract of the webmail (with its admin console) and of the resend
// worker: complete environments are read with their defaults, and every wrong or
// missing value stops the function with a ConfigurationError naming its variable.
// Local mode reads the resend attempts under the same name.
import { describe, expect, it } from 'vitest';
import { ENV, WEB_ENV } from '../../../../lambdas/contract/environment.ts';
import { ConfigurationError } from '../../../../lambdas/core/errors.ts';
import { readAwsResendEnv, readAwsWebEnv } from '../../../../lambdas/wiring/env.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';
import { localResendConfig } from '../../../../lambdas/wiring/local-resend.ts';

const RESEND_QUEUE = 'https://sqs.eu-central-1.amazonaws.com/123456789012/shadowmail-resend';

const WEBMAIL_ENV: NodeJS.ProcessEnv = {
  [WEB_ENV.failoverParameter]: '/shadowmail/failover',
  [WEB_ENV.userPoolId]: 'eu-central-1_AbCdEf123',
  [WEB_ENV.userPoolClientId]: 'client-123',
  [WEB_ENV.publicUrl]: 'https://mail.corp.example',
  [WEB_ENV.sessionSecretArn]: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:session-AbCdEf',
  [WEB_ENV.rawBucket]: 'shadowmail-raw-123456789012',
  [ENV.tableName]: 'shadowmail-messages',
  [ENV.resendQueueUrl]: RESEND_QUEUE,
};

const RESEND_WORKER_ENV: NodeJS.ProcessEnv = {
  [ENV.tableName]: 'shadowmail-messages',
  [ENV.forwardQueueUrl]: 'https://sqs.eu-central-1.amazonaws.com/123456789012/shadowmail-forward',
  [ENV.smartHost]: 'mail.corp.example',
  [ENV.resendQueueUrl]: RESEND_QUEUE,
  [ENV.sourceQueueUrl]: RESEND_QUEUE,
};

function configurationErrorOf(read: () => unknown): ConfigurationError {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('no ConfigurationError');
}

describe('webmail environment (admin console)', () => {
  it("reads the resend queue and the stack id, with the stack id's default", () => {
    // Act
    const env = readAwsWebEnv(WEBMAIL_ENV);
    const named = readAwsWebEnv({ ...WEBMAIL_ENV, [ENV.stackId]: 'corp-mail' });
    // Assess
    expect(env[ENV.resendQueueUrl]).toBe(RESEND_QUEUE);
    expect(env[ENV.stackId]).toBe('shadowmail');
    expect(named[ENV.stackId]).toBe('corp-mail');
  });

  it.each([
    ['missing resend queue', { [ENV.resendQueueUrl]: undefined }, ENV.resendQueueUrl],
    ['resend queue not a URL', { [ENV.resendQueueUrl]: 'shadowmail-resend' }, ENV.resendQueueUrl],
    ['bad stack id', { [ENV.stackId]: 'a b' }, ENV.stackId],
    ['missing table', { [ENV.tableName]: undefined }, ENV.tableName],
  ])('refuses %s, naming the variable', (_case, change, variable) => {
    // Prepare
    const source = { ...WEBMAIL_ENV, ...change };
    // Act
    const error = configurationErrorOf(() => readAwsWebEnv(source));
    // Assess
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
  });
});

describe('origin secret (webmail behind CloudFront + WAF)', () => {
  it('is optional, and read as an ARN when the stack sets it', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebmailOriginSecret-AbCdEf';
    expect(readAwsWebEnv(WEBMAIL_ENV)[WEB_ENV.originSecretArn]).toBeUndefined();
    expect(readAwsWebEnv({ ...WEBMAIL_ENV, [WEB_ENV.originSecretArn]: arn })[WEB_ENV.originSecretArn]).toBe(arn);
    expect(configurationErrorOf(() => readAwsWebEnv({ ...WEBMAIL_ENV, [WEB_ENV.originSecretArn]: 'secret' })).variable).toBe(
      WEB_ENV.originSecretArn,
    );
  });
});

describe('break-glass admins (webmail, AWS and local mode)', () => {
  it('reads a comma list of usernames in comparison form; none when unset', () => {
    // Act
    const none = readAwsWebEnv(WEBMAIL_ENV);
    const two = readAwsWebEnv({ ...WEBMAIL_ENV, [WEB_ENV.breakGlassAdmins]: ' Ops@Private.Test, ,second@private.test' });
    const local = readLocalConfig({ [WEB_ENV.breakGlassAdmins]: 'ops@private.test' });
    // Assess
    expect(none[WEB_ENV.breakGlassAdmins]).toEqual([]);
    expect(two[WEB_ENV.breakGlassAdmins]).toEqual(['ops@private.test', 'second@private.test']);
    expect(local.breakGlassAdmins).toEqual(['ops@private.test']);
  });

  it('refuses a name that is no e-mail address, and more than 10, naming the variable', () => {
    // Act
    const notAnAddress = configurationErrorOf(() => readAwsWebEnv({ ...WEBMAIL_ENV, [WEB_ENV.breakGlassAdmins]: 'ops' }));
    const eleven = Array.from({ length: 11 }, (_, i) => `admin${i}@private.test`).join(',');
    const tooMany = configurationErrorOf(() => readLocalConfig({ [WEB_ENV.breakGlassAdmins]: eleven }));
    // Assess
    expect(notAnAddress.variable).toBe(WEB_ENV.breakGlassAdmins);
    expect(tooMany.variable).toBe(WEB_ENV.breakGlassAdmins);
    expect(tooMany.message).toContain('at most 10');
  });
});

describe('resend worker environment', () => {
  it("reads the forward's settings, the resend queue and the attempts (default 5)", () => {
    // Act
    const env = readAwsResendEnv(RESEND_WORKER_ENV);
    const tuned = readAwsResendEnv({
      ...RESEND_WORKER_ENV,
      [ENV.resendMaxAttempts]: '20',
      [ENV.smartHostPort]: '2525',
      [ENV.stackId]: 'corp-mail',
    });
    // Assess
    expect(env).toMatchObject({
      [ENV.resendQueueUrl]: RESEND_QUEUE,
      [ENV.resendMaxAttempts]: 5,
      [ENV.smartHost]: 'mail.corp.example',
      [ENV.smartHostPort]: 587,
      [ENV.smartHostTls]: 'starttls-required',
      [ENV.stackId]: 'shadowmail',
      [ENV.leaseSeconds]: 360, // one relay (5 min) and its bookkeeping
    });
    expect(tuned).toMatchObject({ [ENV.resendMaxAttempts]: 20, [ENV.smartHostPort]: 2525, [ENV.stackId]: 'corp-mail' });
  });

  it.each([
    ['missing resend queue', { [ENV.resendQueueUrl]: undefined }, ENV.resendQueueUrl],
    ['no attempts', { [ENV.resendMaxAttempts]: '0' }, ENV.resendMaxAttempts],
    ['too many attempts', { [ENV.resendMaxAttempts]: '21' }, ENV.resendMaxAttempts],
    ['fractional attempts', { [ENV.resendMaxAttempts]: '2.5' }, ENV.resendMaxAttempts],
    ['attempts not a number', { [ENV.resendMaxAttempts]: 'five' }, ENV.resendMaxAttempts],
    ['missing smart host', { [ENV.smartHost]: undefined }, ENV.smartHost],
    ['secret not an ARN', { [ENV.smartHostAuthSecretArn]: 'smtp-secret' }, ENV.smartHostAuthSecretArn],
  ])('refuses %s, naming the variable', (_case, change, variable) => {
    // Prepare
    const source = { ...RESEND_WORKER_ENV, ...change };
    // Act
    const error = configurationErrorOf(() => readAwsResendEnv(source));
    // Assess
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
  });
});

describe('local mode resend attempts', () => {
  const config = readLocalConfig({ SHADOWMAIL_DATA_DIR: '/nonexistent/shadowmail-env-test' });

  it('reads the same variable as AWS; unset or empty means 5', () => {
    // Act
    const set = localResendConfig(config, { [ENV.resendMaxAttempts]: '7' });
    const unset = localResendConfig(config, {});
    const empty = localResendConfig(config, { [ENV.resendMaxAttempts]: '' });
    // Assess
    expect(ENV.resendMaxAttempts).toBe('SHADOWMAIL_RESEND_MAX_ATTEMPTS');
    expect([set.maxAttempts, unset.maxAttempts, empty.maxAttempts]).toEqual([7, 5, 5]);
  });

  it('refuses a value outside 1 to 20, naming the variable and the value', () => {
    // Act
    const error = configurationErrorOf(() => localResendConfig(config, { [ENV.resendMaxAttempts]: '99' }));
    // Assess
    expect(error.variable).toBe(ENV.resendMaxAttempts);
    expect(error.message).toBe(`${ENV.resendMaxAttempts}: invalid value "99": a whole number from 1 to 20`);
  });
});
