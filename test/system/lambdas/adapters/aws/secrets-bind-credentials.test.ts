// The LDAP bind password from Secrets Manager. No Secrets Manager stand-in exists
// here, so a middleware placed after serialization captures the HTTP request the SDK
// would send and answers it without any network; the password it yields then binds
// to a real slapd.
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readBindPasswordSecret,
  regionOfSecretArn,
  secretsClientFor,
} from '../../../../../lambdas/adapters/aws/secrets-bind-credentials.ts';
import { LdapDirectorySource } from '../../../../../lambdas/adapters/ldap/ldap-directory-source.ts';
import { ConfigurationError } from '../../../../../lambdas/core/errors.ts';
import { ldif, PEOPLE, SUFFIX, SYNC_DN, SYNC_PASSWORD } from '../../../../fixtures/directory/corp-directory.ts';
import { type Slapd, startSlapd } from '../../../../support/slapd.ts';

const ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/ldap-bind-AbCdEf';

interface Captured {
  target: string | undefined;
  body: Record<string, unknown>;
}

function fakeSecrets(answer: { secretString?: string; error?: Error }): { client: SecretsManagerClient; sent: Captured[] } {
  const client = new SecretsManagerClient({ region: 'eu-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const sent: Captured[] = [];
  client.middlewareStack.add(
    () => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: string | Uint8Array };
      const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
      sent.push({ target: request.headers['x-amz-target'], body: JSON.parse(text) as Record<string, unknown> });
      if (answer.error) throw answer.error;
      return { output: { $metadata: {}, ARN, Name: 'shadowmail/ldap-bind', SecretString: answer.secretString }, response: {} } as never;
    },
    { step: 'build', name: 'answerGetSecretValue', priority: 'low' },
  );
  return { client, sent };
}

describe('readBindPasswordSecret', () => {
  it('asks Secrets Manager for the secret by ARN and takes a bare string as the password', async () => {
    // Prepare
    const { client, sent } = fakeSecrets({ secretString: 'pa{ss}"word' });
    // Act
    const password = await readBindPasswordSecret(client, ARN);
    // Assess
    expect(password).toBe('pa{ss}"word');
    expect(sent).toEqual([{ target: 'secretsmanager.GetSecretValue', body: { SecretId: ARN } }]);
  });

  it('takes the password field of a JSON secret, and a value that only looks like JSON as it is', async () => {
    // Prepare
    const json = fakeSecrets({ secretString: JSON.stringify({ username: SYNC_DN, password: 'from-json' }) });
    const braces = fakeSecrets({ secretString: '{not json' });
    // Act
    const fromJson = await readBindPasswordSecret(json.client, ARN);
    const literal = await readBindPasswordSecret(braces.client, ARN);
    // Assess
    expect(fromJson).toBe('from-json');
    expect(literal).toBe('{not json');
  });

  it('refuses JSON without a password, an empty secret, and reports a failed read with its cause', async () => {
    // Prepare
    const noPassword = fakeSecrets({ secretString: '{"username":"x"}' });
    const empty = fakeSecrets({});
    const denied = Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), {
      name: 'AccessDeniedException',
    });
    const failing = fakeSecrets({ error: denied });
    // Act
    const failures = await Promise.all(
      [noPassword, empty, failing].map(({ client }) =>
        readBindPasswordSecret(client, ARN).then(
          () => null,
          (error: unknown) => error as Error,
        ),
      ),
    );
    // Assess
    for (const failure of failures) expect(failure).toBeInstanceOf(ConfigurationError);
    expect(failures[0]?.message).toMatch(/JSON without a non-empty "password" field/);
    expect(failures[1]?.message).toMatch(/has no string value/);
    expect(failures[2]?.message).toMatch(/cannot read .*: AccessDeniedException: User is not authorized/);
    expect(failures[2]?.cause).toBe(denied);
  });

  it('finds the region in the ARN and refuses what is not a secret ARN', async () => {
    // Prepare
    const notArn = 'shadowmail/ldap-bind';
    // Act
    const region = regionOfSecretArn(ARN);
    const client = secretsClientFor(ARN);
    const attempt = () => secretsClientFor(notArn);
    // Assess
    expect(region).toBe('eu-central-1');
    expect(await client.config.region()).toBe('eu-central-1');
    expect(attempt).toThrow(ConfigurationError);
    client.destroy();
  });
});

describe('a bind with the password from a secret', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd({ suffix: SUFFIX, ldif: ldif(3) });
  });
  afterAll(async () => {
    await slapd?.stop();
  });

  it('reads the directory with the (non-ASCII) password the secret holds', async () => {
    // Prepare
    const { client, sent } = fakeSecrets({ secretString: JSON.stringify({ password: SYNC_PASSWORD }) });
    const source = new LdapDirectorySource({
      url: slapd.url,
      bindDn: SYNC_DN,
      bindPassword: () => readBindPasswordSecret(client, ARN),
      baseDn: PEOPLE,
    });
    // Act
    const { users } = await source.readAll();
    // Assess
    expect(users.length).toBeGreaterThan(3);
    expect(sent).toHaveLength(1);
  });
});
