// The environment contract of the Lambda functions: variable names (shared with the
// CDK stack in lib/) and their validation. Read once per cold start; a wrong value
// stops the function with a message naming the variable.
import { z } from 'zod';
import { RELAY_WORK_MS } from '../adapters/smtp/relay-timeouts.ts';
import { ConfigurationError } from '../core/errors.ts';

export const ENV = {
  tableName: 'SHADOWMAIL_TABLE_NAME',
  forwardQueueUrl: 'SHADOWMAIL_FORWARD_QUEUE_URL',
  /** The queue the function consumes: a record that threw is made visible there again after a backoff. */
  sourceQueueUrl: 'SHADOWMAIL_SOURCE_QUEUE_URL',
  stackId: 'SHADOWMAIL_STACK_ID',
  retentionDays: 'SHADOWMAIL_RETENTION_DAYS',
  forwardMaxAgeDays: 'SHADOWMAIL_FORWARD_MAX_AGE_DAYS',
  retryBaseSeconds: 'SHADOWMAIL_RETRY_BASE_SECONDS',
  retryMaxDelaySeconds: 'SHADOWMAIL_RETRY_MAX_DELAY_SECONDS',
  leaseSeconds: 'SHADOWMAIL_LEASE_SECONDS',
  smartHost: 'SHADOWMAIL_SMART_HOST',
  smartHostPort: 'SHADOWMAIL_SMART_HOST_PORT',
  smartHostTls: 'SHADOWMAIL_SMART_HOST_TLS',
  smartHostAuthSecretArn: 'SHADOWMAIL_SMART_HOST_AUTH_SECRET_ARN',
  heloName: 'SHADOWMAIL_HELO_NAME',
  /** The resend job queue (issue 4): the webmail's admin console enqueues, the resend worker consumes. */
  resendQueueUrl: 'SHADOWMAIL_RESEND_QUEUE_URL',
  /** Attempts per recipient within a resend job (1–20, default 5). */
  resendMaxAttempts: 'SHADOWMAIL_RESEND_MAX_ATTEMPTS',
} as const;

const positiveInt = z.coerce.number().int().positive();
const positiveNumber = z.coerce.number().positive();

export const pipelineSettingsSchema = {
  [ENV.stackId]: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash or underscore, at most 64')
    .default('shadowmail'),
  [ENV.retentionDays]: positiveInt.max(3650).default(28),
  [ENV.forwardMaxAgeDays]: positiveNumber.max(14).default(5),
  [ENV.retryBaseSeconds]: positiveInt.max(900).default(60),
  [ENV.retryMaxDelaySeconds]: positiveInt.max(900).default(900),
  // The lease of a relaying worker (local mode's default; the stack sets each function's timeout).
  [ENV.leaseSeconds]: positiveInt.max(3600).default(RELAY_WORK_MS / 1000),
};

export const smtpTlsModes = ['starttls-required', 'starttls-opportunistic', 'implicit', 'none'] as const;
export type SmtpTlsMode = (typeof smtpTlsModes)[number];

const awsIngestSchema = z.object({
  [ENV.tableName]: z.string().min(1),
  [ENV.forwardQueueUrl]: z.url(),
  [ENV.sourceQueueUrl]: z.url(),
  ...pipelineSettingsSchema,
});

const awsForwardSchema = awsIngestSchema.extend({
  [ENV.smartHost]: z.string().min(1),
  [ENV.smartHostPort]: positiveInt.max(65535).default(587),
  [ENV.smartHostTls]: z.enum(smtpTlsModes).default('starttls-required'),
  [ENV.smartHostAuthSecretArn]: z.string().startsWith('arn:').optional(),
  [ENV.heloName]: z.string().min(1).optional(),
});

/** Attempts per recipient within a resend job: a whole number from 1 to 20 (default 5). */
const WHOLE_1_TO_20 = 'a whole number from 1 to 20';
export const resendMaxAttemptsSchema = z.coerce
  .number({ error: WHOLE_1_TO_20 })
  .int(WHOLE_1_TO_20)
  .min(1, WHOLE_1_TO_20)
  .max(20, WHOLE_1_TO_20)
  .default(5);

// The resend worker relays like the forward (same smart host, same secret) and takes
// its steps from the resend queue.
const awsResendSchema = awsForwardSchema.extend({
  [ENV.resendQueueUrl]: z.url(),
  [ENV.resendMaxAttempts]: resendMaxAttemptsSchema,
});

export type AwsIngestEnv = z.infer<typeof awsIngestSchema>;
export type AwsForwardEnv = z.infer<typeof awsForwardSchema>;
export type AwsResendEnv = z.infer<typeof awsResendSchema>;

/** Validates `source` against `schema`; the first problem becomes a ConfigurationError naming its variable. */
export function readEnv<T extends z.ZodType>(schema: T, source: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const parsed = schema.safeParse(source);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  const given = source[variable];
  const detail = given === undefined ? `is required (${issue.message})` : `invalid value ${JSON.stringify(given)}: ${issue.message}`;
  throw new ConfigurationError(variable, detail);
}

export const readAwsIngestEnv = (source?: NodeJS.ProcessEnv): AwsIngestEnv => readEnv(awsIngestSchema, source);
export const readAwsForwardEnv = (source?: NodeJS.ProcessEnv): AwsForwardEnv => readEnv(awsForwardSchema, source);
export const readAwsResendEnv = (source?: NodeJS.ProcessEnv): AwsResendEnv => readEnv(awsResendSchema, source);

// The webmail function's environment (issue 3: failover flag, sign-in, session; issue 4:
// the admin console, which queues resend jobs on ENV.resendQueueUrl).
export const WEB_ENV = {
  failoverParameter: 'SHADOWMAIL_FAILOVER_PARAMETER',
  failoverCacheSeconds: 'SHADOWMAIL_FAILOVER_CACHE_SECONDS',
  userPoolId: 'SHADOWMAIL_USER_POOL_ID',
  userPoolClientId: 'SHADOWMAIL_USER_POOL_CLIENT_ID',
  /** Secrets Manager secret holding the app client secret (plain string); absent for a public client. */
  userPoolClientSecretArn: 'SHADOWMAIL_USER_POOL_CLIENT_SECRET_ARN',
  /** Cognito hosted UI domain (https://<prefix>.auth.<region>.amazoncognito.com or a custom one), for sign-out. */
  cognitoDomain: 'SHADOWMAIL_COGNITO_DOMAIN',
  /** The webmail's public origin, e.g. https://mail.corp.example (redirect URI, CSRF origin check). */
  publicUrl: 'SHADOWMAIL_PUBLIC_URL',
  /** Secrets Manager secret with the session signing key (plain string, at least 32 characters). */
  sessionSecretArn: 'SHADOWMAIL_SESSION_SECRET_ARN',
  adminGroup: 'SHADOWMAIL_ADMIN_GROUP',
  timeZone: 'SHADOWMAIL_TIME_ZONE',
  /** The raw mail bucket: received mail is read from it, Sent copies (sent/) and presigned downloads (downloads/) go into it. */
  rawBucket: 'SHADOWMAIL_RAW_BUCKET',
  /** SES configuration set for the webmail's outgoing mail (optional). */
  sesConfigurationSet: 'SHADOWMAIL_SES_CONFIGURATION_SET',
} as const;

/** An IANA time zone the runtime knows (the webmail shows dates in it); shared with lib/config.ts. */
export const timeZoneSchema = z
  .string()
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'an IANA time zone such as Europe/Berlin')
  .default('Europe/Berlin');

export const webSettingsSchema = {
  [WEB_ENV.failoverCacheSeconds]: z.coerce.number().int().min(0).max(30).default(30),
  [WEB_ENV.adminGroup]: z.string().min(1).max(128).default('shadowmail-admins'),
  [WEB_ENV.timeZone]: timeZoneSchema,
};

const awsWebSchema = z.object({
  [WEB_ENV.failoverParameter]: z.string().regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'an SSM parameter name such as /shadowmail/failover'),
  [WEB_ENV.userPoolId]: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]+$/, 'a Cognito user pool id such as eu-central-1_AbCdEf123'),
  [WEB_ENV.userPoolClientId]: z.string().min(1),
  [WEB_ENV.userPoolClientSecretArn]: z.string().startsWith('arn:').optional(),
  [WEB_ENV.cognitoDomain]: z.url({ protocol: /^https$/ }).optional(),
  [WEB_ENV.publicUrl]: z.url({ protocol: /^https$/ }),
  [WEB_ENV.sessionSecretArn]: z.string().startsWith('arn:'),
  [ENV.tableName]: z.string().min(1),
  [WEB_ENV.rawBucket]: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
  [WEB_ENV.sesConfigurationSet]: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'an SES configuration set name')
    .optional(),
  [ENV.retentionDays]: pipelineSettingsSchema[ENV.retentionDays],
  [ENV.stackId]: pipelineSettingsSchema[ENV.stackId],
  // The admin console queues resend jobs here; the resend worker runs them.
  [ENV.resendQueueUrl]: z.url(),
  ...webSettingsSchema,
});

export type AwsWebEnv = z.infer<typeof awsWebSchema>;
export const readAwsWebEnv = (source?: NodeJS.ProcessEnv): AwsWebEnv => readEnv(awsWebSchema, source);
