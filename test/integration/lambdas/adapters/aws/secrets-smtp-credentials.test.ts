// The smart-host login from Secrets Manager through Powertools' cache, against a Secrets
// Manager stand-in reached by the real SDK through AWS_ENDPOINT_URL_SECRETS_MANAGER: read
// once per cache time (5 minutes), read again at once after a refused login (but not more
// than every 30 s), an unusable secret named by its variable.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  SecretsManagerSmtpCredentials,
  SMART_HOST_SECRET_MAX_AGE_SECONDS,
  SMART_HOST_SECRET_MIN_REFRESH_MS,
} from '../../../../../lambdas/adapters/aws/secrets-smtp-credentials.ts';
import { ConfigurationError } from '../../../../../lambdas/core/errors.ts';
import { type FakeSecretsManager, startFakeSecretsManager } from '../../../../support/secrets-manager-fake.ts';

const VARIABLE = 'SHADOWMAIL_SMART_HOST_AUTH_SECRET_ARN';
let fake: FakeSecretsManager;
let arnCount = 0;
const saved = { ...process.env };

beforeAll(async () => {
  fake = await startFakeSecretsManager();
  // Powertools' provider makes its SDK client on first use, from the environment
  Object.assign(process.env, fake.env());
});

afterAll(async () => {
  process.env = saved;
  await fake?.close();
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2030-03-01T12:00:00Z') });
});

afterEach(() => {
  vi.useRealTimers();
});

/** A secret of its own per test: Powertools' cache is per process. */
function newSecret(value: unknown): string {
  const arn = `arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/smarthost-${++arnCount}-AbCdEf`;
  fake.secrets.set(arn, typeof value === 'string' ? value : JSON.stringify(value));
  return arn;
}

const readsOf = (arn: string) => fake.reads.filter((id) => id === arn).length;

describe('SecretsManagerSmtpCredentials', () => {
  it('reads the secret once per cache time; a new value is used once the cache time is over', async () => {
    // Prepare
    const arn = newSecret({ username: 'CORP\\svc-relay', password: 'old' });
    const credentials = new SecretsManagerSmtpCredentials(arn, VARIABLE);

    // Act
    const first = await credentials.current();
    fake.secrets.set(arn, JSON.stringify({ username: 'CORP\\svc-relay', password: 'new' }));
    const cached = await credentials.current();
    vi.setSystemTime(Date.now() + (SMART_HOST_SECRET_MAX_AGE_SECONDS + 1) * 1000);
    const later = await credentials.current();

    // Assess
    expect(first).toEqual({ user: 'CORP\\svc-relay', pass: 'old' });
    expect(cached.pass).toBe('old');
    expect(later.pass).toBe('new');
    expect(readsOf(arn)).toBe(2);
  });

  it('reads it again right after the smart host refused the login, at most every 30 s', async () => {
    // Prepare
    const arn = newSecret({ username: 'svc', password: 'old' });
    const credentials = new SecretsManagerSmtpCredentials(arn, VARIABLE);
    await credentials.current();
    fake.secrets.set(arn, JSON.stringify({ username: 'svc', password: 'new' }));

    // Act
    credentials.refused();
    const afterRefusal = await credentials.current();
    fake.secrets.set(arn, JSON.stringify({ username: 'svc', password: 'newer' }));
    credentials.refused();
    const tooSoon = await credentials.current();
    vi.setSystemTime(Date.now() + SMART_HOST_SECRET_MIN_REFRESH_MS);
    const stillMarked = await credentials.current();

    // Assess
    expect(afterRefusal.pass).toBe('new');
    expect(tooSoon.pass).toBe('new');
    // the refusal is remembered: the first use after 30 s reads again
    expect(stillMarked.pass).toBe('newer');
    expect(readsOf(arn)).toBe(3);
  });

  it.each([
    ['not JSON', 'just-a-password'],
    ['JSON without a password', { username: 'svc' }],
    ['an empty user name', { username: '', password: 'x' }],
  ])('refuses a secret that is %s, naming the variable', async (_what, value) => {
    // Prepare
    const credentials = new SecretsManagerSmtpCredentials(newSecret(value), VARIABLE);

    // Act
    const reading = credentials.current();

    // Assess
    await expect(reading).rejects.toBeInstanceOf(ConfigurationError);
    await expect(reading).rejects.toThrow(`${VARIABLE}: the secret must be JSON {"username": "...", "password": "..."}`);
  });

  it('lets a secret that cannot be read at all fail as it is (the message is retried, not failed)', async () => {
    // Prepare
    const credentials = new SecretsManagerSmtpCredentials(
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:missing-AbCdEf',
      VARIABLE,
    );

    // Act
    const reading = credentials.current();

    // Assess
    await expect(reading).rejects.toThrow();
    await expect(reading).rejects.not.toBeInstanceOf(ConfigurationError);
  });
});
