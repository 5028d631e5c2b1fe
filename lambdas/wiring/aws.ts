// Composition root of the webmail in AWS: environment read and validated once per cold
// start, SDK clients created once, the same use cases as local mode. The mail path's
// functions are wired in aws-ingest.ts and aws-relay.ts (their bundles stay small).

import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { WebmailDeps } from '../../web/app.ts';
import { webLoggerFrom } from '../../web/middleware/logger.ts';
import type { AdminDeps, AdminNotices } from '../../web/routes/admin.ts';
import { mailRouteGroups } from '../../web/routes/mail.ts';
import { DynamoDbAuditLog } from '../adapters/aws/dynamodb-audit-log.ts';
import { DynamoDbDirectoryStore } from '../adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../adapters/aws/dynamodb-message-index.ts';
import { DynamoDbResendJobs } from '../adapters/aws/dynamodb-resend-jobs.ts';
import { DynamoDbSendCounter } from '../adapters/aws/dynamodb-send-counter.ts';
import { DynamoDbSessionStore } from '../adapters/aws/dynamodb-session-store.ts';
import { DynamoDbSingleUse } from '../adapters/aws/dynamodb-single-use.ts';
import { S3DownloadLinks } from '../adapters/aws/s3-download-links.ts';
import { S3DraftStore } from '../adapters/aws/s3-draft-store.ts';
import { makeS3Client, S3RawMailStore } from '../adapters/aws/s3-raw-mail-store.ts';
import { SesOutboundMailer } from '../adapters/aws/ses-outbound-mailer.ts';
import { SqsMoveTaskRedrive } from '../adapters/aws/sqs-dead-letter-redrive.ts';
import { SqsForwardBacklog } from '../adapters/aws/sqs-forward-backlog.ts';
import { SqsResendQueue } from '../adapters/aws/sqs-resend-queue.ts';
import { SsmFailoverFlag } from '../adapters/aws/ssm-failover-flag.ts';
import { OidcSignIn } from '../adapters/oidc/oidc-sign-in.ts';
import { ORIGIN_SECRET_HEADER } from '../contract/edge.ts';
import { ENV, WEB_ENV } from '../contract/environment.ts';
import { SERVICE } from '../contract/metrics.ts';
import { SENT_PREFIX } from '../contract/raw-mail-bucket.ts';
import { domainOf } from '../core/addresses.ts';
import type { DeclareDeps } from '../core/declare-outage.ts';
import { ConfigurationError } from '../core/errors.ts';
import { CachedFailoverFlag } from '../core/failover.ts';
import { OutageLinkSigner } from '../core/outage-link.ts';
import { DEFAULT_RESEND_CONFIG } from '../core/resend.ts';
import { createObservability } from '../handlers/observability.ts';
import { systemClock } from '../ports/clock.ts';
import type { FailoverFlag } from '../ports/failover-flag.ts';
import type { ForwardBacklog } from '../ports/forward-backlog.ts';
import { awsNoticeParts } from './aws-notices.ts';
import { type AwsWebEnv, readAwsWebEnv, sendLimitsOf } from './env.ts';
import { mailRouteDeps } from './mail-routes.ts';

/** The webmail's secrets, read from Secrets Manager once per cold start. */
export interface AwsWebSecrets {
  /** Session cookie key, at least 32 characters. */
  sessionSecret: string;
  /** The user pool app client's secret; null for a public client. */
  clientSecret: string | null;
}

/**
 * The webmail's gate pieces in AWS: the SSM flag behind the ≤ 30 s cache, Cognito sign-in
 * (code + PKCE, ID token checked by aws-jwt-verify), the session key from Secrets Manager.
 * Called once per cold start. The mailbox pages: DynamoDB index, raw mail in S3 (Sent
 * copies under sent/, downloads under downloads/, drafts and uploads under uploads/), SES for sending. The admin console:
 * the same index and bucket, audit log and resend jobs in the same table, jobs queued
 * on the resend queue for the resend worker.
 */
export async function awsWebmailDeps(source: NodeJS.ProcessEnv = process.env): Promise<WebmailDeps> {
  const env = readAwsWebEnv(source);
  const sessionSecret = await secretString(env[WEB_ENV.sessionSecretArn], WEB_ENV.sessionSecretArn);
  const clientSecretArn = env[WEB_ENV.userPoolClientSecretArn];
  const clientSecret = clientSecretArn ? await secretString(clientSecretArn, WEB_ENV.userPoolClientSecretArn) : null;
  return buildAwsWebmailDeps(env, { sessionSecret, clientSecret });
}

/**
 * Behind CloudFront + WAF (config webmail.waf): the secret CloudFront adds to every request
 * it forwards, which the app then requires; undefined without the option.
 */
export async function awsOriginCheck(source: NodeJS.ProcessEnv = process.env): Promise<{ header: string; secret: string } | undefined> {
  const arn = readAwsWebEnv(source)[WEB_ENV.originSecretArn];
  if (arn === undefined) return undefined;
  const secret = await secretString(arn, WEB_ENV.originSecretArn);
  if (secret.length < 32) throw new ConfigurationError(WEB_ENV.originSecretArn, 'the origin secret must have at least 32 characters');
  return { header: ORIGIN_SECRET_HEADER, secret };
}

/** How the webmail sends: SES v2 with the stack's configuration set (its bounce, complaint and reject events are alarmed on). */
export function webmailMailer(env: AwsWebEnv): SesOutboundMailer {
  const configurationSetName = env[WEB_ENV.sesConfigurationSet];
  return new SesOutboundMailer({ client: new SESv2Client({}), ...(configurationSetName !== undefined && { configurationSetName }) });
}

/** The webmail's parts once its secrets are read; no network is used until a request comes. */
export function buildAwsWebmailDeps(env: AwsWebEnv, secrets: AwsWebSecrets): WebmailDeps {
  const { sessionSecret } = secrets;
  if (sessionSecret.length < 32)
    throw new ConfigurationError(WEB_ENV.sessionSecretArn, 'the session secret must have at least 32 characters');
  const publicUrl = new URL(env[WEB_ENV.publicUrl]);
  const clientId = env[WEB_ENV.userPoolClientId];
  const cognitoDomain = env[WEB_ENV.cognitoDomain];
  // Cognito's hosted UI logout (not an OIDC end-session endpoint): client_id + logout_uri.
  const logger = webLoggerFrom(createObservability(SERVICE.webmail).logger);
  const s3 = makeS3Client();
  const rawStore = new S3RawMailStore(s3);
  const dynamo = new DynamoDBClient({});
  const tableName = env[ENV.tableName];
  const index = new DynamoDbMessageIndex({ client: dynamo, tableName });
  const logoutUrl = cognitoDomain
    ? `${cognitoDomain.replace(/\/$/, '')}/logout?${new URLSearchParams({ client_id: clientId, logout_uri: `${publicUrl.origin}/` })}`
    : null;
  const flagStore = new SsmFailoverFlag(new SSMClient({}), env[WEB_ENV.failoverParameter]);
  const gateFlag = new CachedFailoverFlag(flagStore, { maxAgeMs: env[WEB_ENV.failoverCacheSeconds] * 1000 });
  const audit = new DynamoDbAuditLog({ client: dynamo, tableName });
  // Attachments, large inline images and raw messages leave through presigned S3 links: a Lambda response carries at most 6 MB.
  const downloadLinks = new S3DownloadLinks(s3, { bucket: env[WEB_ENV.rawBucket] });
  const directory = new DynamoDbDirectoryStore({ client: dynamo, tableName });
  const admin: AdminDeps = {
    notices: webmailNotices(env, publicUrl, directory),
    index,
    rawStore,
    audit,
    clock: systemClock,
    resend: {
      index,
      jobs: new DynamoDbResendJobs({ client: dynamo, tableName }),
      queue: new SqsResendQueue(new SQSClient({}), env[ENV.resendQueueUrl]),
      audit,
      clock: systemClock,
      config: DEFAULT_RESEND_CONFIG,
    },
    flag: adminFailoverFlag(flagStore, gateFlag),
    downloadLinks,
    // The console's reminder names this stack (AWS_REGION: set by Lambda in every function).
    reconcileTarget: { stack: env[ENV.stackId], region: process.env.AWS_REGION },
    // The console's first page: backlog and dead-letter depths from SQS (GetQueueAttributes), the synced directory.
    backlog: forwardBacklog(env),
    deadLetters: env[WEB_ENV.deadLetterQueueUrls].map(({ label, url }) => ({
      name: label,
      queue: new SqsMoveTaskRedrive(sqsClient(), url, label),
    })),
    directory,
  };
  const declare = declareDeps(env, { sessionSecret, dynamo, flag: admin.flag, audit });
  return {
    ...(declare && { declare }),
    failover: gateFlag,
    signIn: new OidcSignIn({
      userPoolId: env[WEB_ENV.userPoolId],
      clientId,
      clientSecret: secrets.clientSecret,
      redirectUri: `${publicUrl.origin}/auth/callback`,
      logoutUrl,
    }),
    directory,
    // Server-side sessions beside the mail: sign-out and directory changes end them (core/sessions.ts).
    sessions: new DynamoDbSessionStore({ client: dynamo, tableName }),
    sessionSecret,
    publicOrigin: publicUrl.origin,
    adminGroup: env[WEB_ENV.adminGroup],
    breakGlassAdmins: env[WEB_ENV.breakGlassAdmins],
    clock: systemClock,
    timeZone: env[WEB_ENV.timeZone],
    logger,
    // Sign-ins recorded beside the admins' actions: the console counts them during a failover.
    audit,
    admin,
    userRoutes: mailRouteGroups(
      mailRouteDeps({
        index,
        rawStore,
        rawWriter: rawStore,
        mailer: webmailMailer(env),
        downloadLinks,
        // Drafts and their files under uploads/: files come from the browser with presigned POSTs, around the function.
        drafts: new S3DraftStore(s3, { bucket: env[WEB_ENV.rawBucket], clock: systemClock }),
        publicOrigin: publicUrl.origin,
        clock: systemClock,
        signingSecret: sessionSecret,
        send: {
          retentionDays: env[ENV.retentionDays],
          sentBucket: env[WEB_ENV.rawBucket],
          sentKeyPrefix: SENT_PREFIX,
          sendLimits: sendLimitsOf(env),
        },
        sendCounter: new DynamoDbSendCounter({ client: dynamo, tableName }),
        audit,
        logger,
      }),
    ),
  };
}

/** The backlog alarm link's page (issue 13), when break-glass admins are configured. */
function declareDeps(
  env: AwsWebEnv,
  parts: { sessionSecret: string; dynamo: DynamoDBClient; flag: FailoverFlag; audit: DynamoDbAuditLog },
): DeclareDeps | null {
  const admins = env[WEB_ENV.breakGlassAdmins];
  if (admins.length === 0) return null;
  return {
    signer: new OutageLinkSigner(parts.sessionSecret),
    singleUse: new DynamoDbSingleUse({ client: parts.dynamo, tableName: env[ENV.tableName] }),
    admins,
    flag: parts.flag,
    backlog: forwardBacklog(env),
    audit: parts.audit,
    clock: systemClock,
  };
}

/** The forward queue's backlog (/declare and the console); unknown when the queue is not named. */
function forwardBacklog(env: AwsWebEnv): ForwardBacklog {
  const url = env[ENV.forwardQueueUrl];
  return url
    ? new SqsForwardBacklog(sqsClient(), url, new CloudWatchClient({}))
    : { read: () => Promise.reject(new ConfigurationError(ENV.forwardQueueUrl, 'not set: the backlog is unknown')) };
}

let sharedSqs: SQSClient | undefined;
/** One SQS client per execution environment for the webmail's queue reads. */
function sqsClient(): SQSClient {
  sharedSqs ??= new SQSClient({});
  return sharedSqs;
}

/** The admin console's failover notices (breakGlass.notices), or null when none are configured. */
function webmailNotices(env: AwsWebEnv, publicUrl: URL, directory: DynamoDbDirectoryStore): AdminNotices | null {
  const channels = env[WEB_ENV.noticeChannels];
  if (!channels.sms && !channels.email) return null;
  const sender = env[WEB_ENV.noticeSender];
  if (channels.email && !sender) throw new ConfigurationError(WEB_ENV.noticeSender, 'mail notices need a sender address');
  const parts = awsNoticeParts({
    channels,
    webmailUrl: `${publicUrl.origin}/`,
    sender: sender ?? '',
    mailDomains: sender ? [domainOf(sender)] : [],
    configurationSetName: env[WEB_ENV.sesConfigurationSet],
  });
  return { settings: parts.settings, parts: { directory, sms: parts.sms, mailer: parts.mailer } };
}

/**
 * The flag as the admin console uses it: read from the parameter itself (the page shows
 * what another Lambda instance or the CLI set, not this instance's cache), written
 * through the gate's cache, so this instance's gate sees an admin's switch at once
 * (other instances within their cache time, at most 30 s).
 */
function adminFailoverFlag(store: FailoverFlag, gate: CachedFailoverFlag): FailoverFlag {
  return { read: () => store.read(), write: (state) => gate.write(state) };
}

async function secretString(arn: string, variable: string): Promise<string> {
  const value = await getSecret(arn, { maxAge: 300 });
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigurationError(variable, 'the secret must be a non-empty string');
  return value.trim();
}
