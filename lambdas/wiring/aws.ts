// Composition root in AWS: environment read and validated once per cold start,
// SDK clients created once, the same use cases as local mode.
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { ConfigurationError } from '../core/errors.ts';
import { DynamoDbMessageIndex } from '../adapters/aws/dynamodb-message-index.ts';
import { makeS3Client, S3RawMailStore } from '../adapters/aws/s3-raw-mail-store.ts';
import { SqsForwardQueue } from '../adapters/aws/sqs-forward-queue.ts';
import { MailparserMimeParser } from '../adapters/mime/mailparser-mime-parser.ts';
import { SmtpRelayAdapter } from '../adapters/smtp/smtp-relay.ts';
import { systemClock } from '../ports/clock.ts';
import type { ForwardHandlerDeps } from '../handlers/forward.ts';
import type { IngestHandlerDeps } from '../handlers/ingest.ts';
import { createObservability } from '../handlers/observability.ts';
import { ENV, readAwsForwardEnv, readAwsIngestEnv, type AwsIngestEnv } from './env.ts';

function pipelineParts(env: AwsIngestEnv) {
  return {
    index: new DynamoDbMessageIndex({ client: new DynamoDBClient({}), tableName: env[ENV.tableName] }),
    rawStore: new S3RawMailStore(makeS3Client()),
    forwardQueue: new SqsForwardQueue(new SQSClient({}), env[ENV.forwardQueueUrl]),
    clock: systemClock,
  };
}

export function awsIngestDeps(): IngestHandlerDeps {
  const env = readAwsIngestEnv();
  return {
    ...pipelineParts(env),
    parser: new MailparserMimeParser(),
    config: { retentionDays: env[ENV.retentionDays], stackId: env[ENV.stackId], leaseMs: env[ENV.leaseSeconds] * 1000 },
    ...createObservability('shadowmail-ingest'),
  };
}

const smartHostAuthSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });

export async function awsForwardDeps(): Promise<ForwardHandlerDeps> {
  const env = readAwsForwardEnv();
  const secretArn = env[ENV.smartHostAuthSecretArn];
  let auth: { user: string; pass: string } | undefined;
  if (secretArn) {
    const parsed = smartHostAuthSchema.safeParse(await getSecret(secretArn, { transform: 'json', maxAge: 300 }));
    if (!parsed.success) throw new ConfigurationError(ENV.smartHostAuthSecretArn, 'the secret must be JSON {"username": "...", "password": "..."}');
    auth = { user: parsed.data.username, pass: parsed.data.password };
  }
  return {
    ...pipelineParts(env),
    relay: new SmtpRelayAdapter({
      host: env[ENV.smartHost],
      port: env[ENV.smartHostPort],
      tls: env[ENV.smartHostTls],
      ...(auth && { auth }),
      ...(env[ENV.heloName] && { name: env[ENV.heloName] }),
    }),
    config: {
      stackId: env[ENV.stackId],
      maxAgeMs: env[ENV.forwardMaxAgeDays] * 86_400_000,
      retryBaseSeconds: env[ENV.retryBaseSeconds],
      retryMaxDelaySeconds: env[ENV.retryMaxDelaySeconds],
      leaseMs: env[ENV.leaseSeconds] * 1000,
    },
    ...createObservability('shadowmail-forward'),
  };
}
