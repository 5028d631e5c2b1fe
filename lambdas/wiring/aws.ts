// Composition root in AWS: environment read and validated once per cold start,
// SDK clients created once, the same use cases as local mode.
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { ConfigurationError } from '../core/errors.ts';
import { DynamoDbMessageIndex } from '../adapters/aws/dynamodb-message-index.ts';
import { DynamoDbDirectoryStore } from '../adapters/aws/dynamodb-directory-store.ts';
import { makeS3Client, S3RawMailStore } from '../adapters/aws/s3-raw-mail-store.ts';
import { SqsForwardQueue } from '../adapters/aws/sqs-forward-queue.ts';
import { SsmFailoverFlag } from '../adapters/aws/ssm-failover-flag.ts';
import { OidcSignIn } from '../adapters/oidc/oidc-sign-in.ts';
import { CachedFailoverFlag } from '../core/failover.ts';
import type { WebmailDeps } from '../../web/app.ts';
import { webLoggerFrom } from '../../web/middleware/logger.ts';
import { MailparserMimeParser } from '../adapters/mime/mailparser-mime-parser.ts';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { mailRouteGroups } from '../../web/routes/mail.ts';
import { S3DownloadLinks } from '../adapters/aws/s3-download-links.ts';
import { SesOutboundMailer } from '../adapters/aws/ses-outbound-mailer.ts';
import { MailparserMessageRenderer } from '../adapters/mime/mailparser-message-renderer.ts';
import { NodemailerMimeComposer } from '../adapters/mime/nodemailer-mime-composer.ts';
import { SmtpRelayAdapter } from '../adapters/smtp/smtp-relay.ts';
import { systemClock } from '../ports/clock.ts';
import type { ForwardHandlerDeps } from '../handlers/forward.ts';
import type { IngestHandlerDeps } from '../handlers/ingest.ts';
import { createObservability } from '../handlers/observability.ts';
import { ENV, readAwsForwardEnv, readAwsIngestEnv, readAwsWebEnv, WEB_ENV, type AwsIngestEnv } from './env.ts';

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

/**
 * The webmail's gate pieces in AWS: the SSM flag behind the ≤ 30 s cache, Cognito sign-in
 * (code + PKCE, ID token checked by aws-jwt-verify), the session key from Secrets Manager.
 * Called once per cold start. The mailbox pages: DynamoDB index, raw mail in S3 (Sent
 * copies under sent/, downloads under downloads/), SES for sending.
 */
export async function awsWebmailDeps(): Promise<WebmailDeps> {
  const env = readAwsWebEnv();
  const publicUrl = new URL(env[WEB_ENV.publicUrl]);
  const sessionSecret = await secretString(env[WEB_ENV.sessionSecretArn], WEB_ENV.sessionSecretArn);
  if (sessionSecret.length < 32) throw new ConfigurationError(WEB_ENV.sessionSecretArn, 'the session secret must have at least 32 characters');
  const clientSecretArn = env[WEB_ENV.userPoolClientSecretArn];
  const clientId = env[WEB_ENV.userPoolClientId];
  const cognitoDomain = env[WEB_ENV.cognitoDomain];
  // Cognito's hosted UI logout (not an OIDC end-session endpoint): client_id + logout_uri.
  const logger = webLoggerFrom(createObservability('shadowmail-webmail').logger);
  const s3 = makeS3Client();
  const rawStore = new S3RawMailStore(s3);
  const dynamo = new DynamoDBClient({});
  const logoutUrl = cognitoDomain
    ? `${cognitoDomain.replace(/\/$/, '')}/logout?${new URLSearchParams({ client_id: clientId, logout_uri: `${publicUrl.origin}/` })}`
    : null;
  return {
    failover: new CachedFailoverFlag(new SsmFailoverFlag(new SSMClient({}), env[WEB_ENV.failoverParameter]), {
      maxAgeMs: env[WEB_ENV.failoverCacheSeconds] * 1000,
    }),
    signIn: new OidcSignIn({
      userPoolId: env[WEB_ENV.userPoolId],
      clientId,
      clientSecret: clientSecretArn ? await secretString(clientSecretArn, WEB_ENV.userPoolClientSecretArn) : null,
      redirectUri: `${publicUrl.origin}/auth/callback`,
      logoutUrl,
    }),
    directory: new DynamoDbDirectoryStore({ client: dynamo, tableName: env[ENV.tableName] }),
    sessionSecret,
    publicOrigin: publicUrl.origin,
    adminGroup: env[WEB_ENV.adminGroup],
    clock: systemClock,
    timeZone: env[WEB_ENV.timeZone],
    logger,
    userRoutes: mailRouteGroups({
      index: new DynamoDbMessageIndex({ client: dynamo, tableName: env[ENV.tableName] }),
      rawStore,
      rawWriter: rawStore,
      renderer: new MailparserMessageRenderer(),
      composer: new NodemailerMimeComposer(),
      mailer: new SesOutboundMailer({
        client: new SESv2Client({}),
        ...(env[WEB_ENV.sesConfigurationSet] && { configurationSetName: env[WEB_ENV.sesConfigurationSet] }),
      }),
      // Attachments leave through presigned S3 links: a Lambda response carries at most 6 MB.
      downloadLinks: new S3DownloadLinks(s3, { bucket: env[WEB_ENV.rawBucket] }),
      clock: systemClock,
      signingSecret: sessionSecret,
      send: { retentionDays: env[ENV.retentionDays], sentBucket: env[WEB_ENV.rawBucket], sentKeyPrefix: 'sent/' },
      logger,
    }),
  };
}

async function secretString(arn: string, variable: string): Promise<string> {
  const value = await getSecret(arn, { maxAge: 300 });
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigurationError(variable, 'the secret must be a non-empty string');
  return value.trim();
}
