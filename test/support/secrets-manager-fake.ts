// A stand-in for AWS Secrets Manager's GetSecretValue (JSON 1.1 protocol) as a small HTTP
// server: the real SDK client, and Powertools' getSecret over it, reach it through
// AWS_ENDPOINT_URL_SECRETS_MANAGER exactly as they would reach AWS. Tests change a
// secret's value and count the reads.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSecretsManager {
  endpoint: string;
  /** Secret ARN → SecretString. */
  secrets: Map<string, string>;
  /** The SecretId of every GetSecretValue, in order. */
  reads: string[];
  /** AWS_ENDPOINT_URL_SECRETS_MANAGER and dummy credentials for a client in `region`. */
  env(region?: string): Record<string, string>;
  close(): Promise<void>;
}

export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, string>();
  const reads: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const json = (status: number, value: unknown) =>
        response
          .writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() })
          .end(JSON.stringify(value));
      const target = String(request.headers['x-amz-target'] ?? '');
      if (target !== 'secretsmanager.GetSecretValue')
        return json(400, { __type: 'InvalidRequestException', message: `unsupported ${target}` });
      const { SecretId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string };
      reads.push(SecretId);
      const value = secrets.get(SecretId);
      if (value === undefined)
        return json(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      json(200, {
        ARN: SecretId,
        Name: SecretId.split(':secret:')[1],
        SecretString: value,
        VersionId: randomUUID(),
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Date.now() / 1000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    secrets,
    reads,
    env: (region = 'eu-central-1') => ({
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
      AWS_EC2_METADATA_DISABLED: 'true',
    }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
