// Composition root of the functions that relay to the smart host in AWS: the forward,
// its probe mode (`shadowmail doctor`) and the resend worker. Environment read and
// validated once per cold start, SDK clients created once; no MIME parser (the stored
// bytes go out as they are), so the forward's bundle leaves mailparser out.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbMessageIndex } from '../adapters/aws/dynamodb-message-index.ts';
import { DynamoDbResendJobs } from '../adapters/aws/dynamodb-resend-jobs.ts';
import { DynamoDbSendCounter } from '../adapters/aws/dynamodb-send-counter.ts';
import { makeS3Client, S3RawMailStore } from '../adapters/aws/s3-raw-mail-store.ts';
import { SecretsManagerSmtpCredentials } from '../adapters/aws/secrets-smtp-credentials.ts';
import { SesBounceSender } from '../adapters/aws/ses-bounce-sender.ts';
import { SqsMessageVisibility } from '../adapters/aws/sqs-message-visibility.ts';
import { SqsResendQueue } from '../adapters/aws/sqs-resend-queue.ts';
import type { SmartHostSettings } from '../adapters/smtp/smart-host.ts';
import { SmtpProbeAdapter } from '../adapters/smtp/smtp-probe.ts';
import { SmtpRelayAdapter } from '../adapters/smtp/smtp-relay.ts';
import { ENV } from '../contract/environment.ts';
import { SERVICE } from '../contract/metrics.ts';
import { DEFAULT_RESEND_CONFIG } from '../core/resend.ts';
import type { ForwardHandlerDeps } from '../handlers/forward.ts';
import type { ForwardProbeHandlerDeps } from '../handlers/forward-probe.ts';
import { createObservability } from '../handlers/observability.ts';
import type { ResendHandlerDeps } from '../handlers/resend.ts';
import { systemClock } from '../ports/clock.ts';
import { pipelineParts } from './aws-pipeline.ts';
import { type AwsForwardEnv, readAwsForwardEnv, readAwsResendEnv } from './env.ts';

/**
 * The smart host as the forward, the resend worker and the probe reach it: one definition
 * from the environment, with the login read from Secrets Manager for every session (see
 * SecretsManagerSmtpCredentials: a rotated secret is used without a redeploy).
 */
function smartHostSettings(env: AwsForwardEnv): SmartHostSettings {
  const secretArn = env[ENV.smartHostAuthSecretArn];
  return {
    host: env[ENV.smartHost],
    port: env[ENV.smartHostPort],
    tls: env[ENV.smartHostTls],
    ...(secretArn && { credentials: new SecretsManagerSmtpCredentials(secretArn, ENV.smartHostAuthSecretArn) }),
    ...(env[ENV.heloName] && { name: env[ENV.heloName] }),
  };
}

export async function awsForwardDeps(source: NodeJS.ProcessEnv = process.env): Promise<ForwardHandlerDeps> {
  const env = readAwsForwardEnv(source);
  return {
    ...pipelineParts(env),
    relay: new SmtpRelayAdapter(smartHostSettings(env)),
    config: {
      stackId: env[ENV.stackId],
      maxAgeMs: env[ENV.forwardMaxAgeDays] * 86_400_000,
      retryBaseSeconds: env[ENV.retryBaseSeconds],
      retryMaxDelaySeconds: env[ENV.retryMaxDelaySeconds],
      leaseMs: env[ENV.leaseSeconds] * 1000,
      maxMessageBytes: env[ENV.smartHostMaxMessageBytes],
    },
    // Issue 17: SES builds and sends the report (SendBounce); SES's inbound endpoint is the MTA that received the mail.
    nonDelivery: {
      sender: new SesBounceSender({ client: new SESClient({}), clock: systemClock }),
      counter: new DynamoDbSendCounter({ client: new DynamoDBClient({}), tableName: env[ENV.tableName] }),
      reportingMta: `inbound-smtp.${source.AWS_REGION ?? 'unknown'}.amazonaws.com`,
    },
    ...createObservability(SERVICE.forward),
  };
}

/** The forward function's probe mode: the smart host with the forward's own settings and secret. */
export async function awsForwardProbeDeps(source: NodeJS.ProcessEnv = process.env): Promise<ForwardProbeHandlerDeps> {
  const env = readAwsForwardEnv(source);
  return { probe: new SmtpProbeAdapter(smartHostSettings(env)), logger: createObservability(SERVICE.forward).logger };
}

/**
 * The resend worker: steps from the resend queue, jobs in the message table, the stored
 * bytes from S3, relayed through the forward's smart host with the forward's stamp.
 */
export async function awsResendDeps(source: NodeJS.ProcessEnv = process.env): Promise<ResendHandlerDeps> {
  const env = readAwsResendEnv(source);
  const dynamo = new DynamoDBClient({});
  const sqs = new SQSClient({});
  return {
    index: new DynamoDbMessageIndex({ client: dynamo, tableName: env[ENV.tableName] }),
    rawStore: new S3RawMailStore(makeS3Client()),
    relay: new SmtpRelayAdapter(smartHostSettings(env)),
    jobs: new DynamoDbResendJobs({ client: dynamo, tableName: env[ENV.tableName] }),
    queue: new SqsResendQueue(sqs, env[ENV.resendQueueUrl]),
    retryVisibility: new SqsMessageVisibility(sqs, env[ENV.sourceQueueUrl]),
    clock: systemClock,
    config: {
      ...DEFAULT_RESEND_CONFIG,
      stackId: env[ENV.stackId],
      leaseMs: env[ENV.leaseSeconds] * 1000,
      maxAttempts: env[ENV.resendMaxAttempts],
      retryBaseSeconds: env[ENV.retryBaseSeconds],
      retryMaxDelaySeconds: env[ENV.retryMaxDelaySeconds],
    },
    ...createObservability(SERVICE.resend),
  };
}
