// The LDAP bind password from AWS Secrets Manager, so the scheduled sync host keeps no
// password on disk. The secret is either the bare password or JSON with a `password`
// field (the shape Secrets Manager's rotation templates use). Read on every sync, so
// a rotated password is picked up without restarting anything.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../../core/errors.ts';

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/;

/** The region inside a Secrets Manager ARN, or null when the value is not one. */
export function regionOfSecretArn(arn: string): string | null {
  return SECRET_ARN.exec(arn)?.[1] ?? null;
}

/** A SecretsManager client in the secret's own region (credentials from the environment). */
export function secretsClientFor(arn: string): SecretsManagerClient {
  const region = regionOfSecretArn(arn);
  if (region === null) throw new ConfigurationError('--bind-password-secret', `not a Secrets Manager secret ARN: ${arn}`);
  return new SecretsManagerClient({ region });
}

export async function readBindPasswordSecret(client: SecretsManagerClient, secretId: string): Promise<string> {
  let secret: string | undefined;
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    secret = result.SecretString;
  } catch (error) {
    const name = (error as { name?: string }).name ?? 'Error';
    throw new ConfigurationError('--bind-password-secret', `cannot read ${secretId}: ${name}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (secret === undefined || secret === '') {
    throw new ConfigurationError('--bind-password-secret', `${secretId} has no string value (binary secrets are not supported)`);
  }
  if (secret.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret);
    } catch {
      // A password may well start with "{"; it is then the bare password.
      return secret;
    }
    const password = (parsed as { password?: unknown } | null)?.password;
    if (typeof password !== 'string' || password === '') {
      throw new ConfigurationError('--bind-password-secret', `${secretId} is JSON without a non-empty "password" field`);
    }
    return password;
  }
  return secret;
}
