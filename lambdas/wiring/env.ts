// The Lambda functions' environment read and validated (the names are the contract's,
// shared with the stacks in lib/). Read once per cold start; a wrong value stops the
// function with a message naming the variable.
import { z } from 'zod';
import {
  ALARM_ENV,
  DEFAULT_TIME_ZONE,
  ENV,
  isTimeZone,
  parseNoticeChannels,
  parseQueueUrls,
  SIGN_IN_TRIGGER_ENV,
  SUBADDRESS_SEPARATOR,
  smtpTlsModes,
  TIME_ZONE_HINT,
  WEB_ENV,
} from '../contract/environment.ts';
import { RELAY_WORK_MS } from '../contract/pipeline-limits.ts';
import { PRIMARY_MESSAGE_BYTES } from '../contract/primary-message-size.ts';
import { DEFAULT_SEND_LIMITS, SEND_LIMIT_MAX, type SendLimits } from '../contract/send-limits.ts';
import { ConfigurationError } from '../core/errors.ts';

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
  // 'off' too, for where an empty value cannot be set.
  [ENV.subaddressSeparator]: z
    .string()
    .transform((value) => (value === 'off' ? '' : value))
    .pipe(z.string().regex(SUBADDRESS_SEPARATOR.pattern, SUBADDRESS_SEPARATOR.hint))
    .default(SUBADDRESS_SEPARATOR.default),
};

const awsIngestSchema = z.object({
  [ENV.tableName]: z.string().min(1),
  [ENV.forwardQueueUrl]: z.url(),
  [ENV.sourceQueueUrl]: z.url(),
  ...pipelineSettingsSchema,
});

// Only ingest judges From headers; without the list it still knows the recipients' domains.
const awsIngestOnlySchema = awsIngestSchema.extend({
  [ENV.mailDomains]: z
    .string()
    .default('')
    .transform((value) => commaList(value).map((domain) => domain.toLowerCase())),
});

const awsForwardSchema = awsIngestSchema.extend({
  [ENV.smartHost]: z.string().min(1),
  [ENV.smartHostPort]: positiveInt.max(65535).default(587),
  [ENV.smartHostTls]: z.enum(smtpTlsModes).default('starttls-required'),
  [ENV.smartHostAuthSecretArn]: z.string().startsWith('arn:').optional(),
  [ENV.heloName]: z.string().min(1).optional(),
  [ENV.smartHostMaxMessageBytes]: positiveInt.default(PRIMARY_MESSAGE_BYTES.default),
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

/** A comma-separated variable as its trimmed, lower-case, non-empty items. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean);
}

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

export const readAwsIngestEnv = (source?: NodeJS.ProcessEnv): z.infer<typeof awsIngestOnlySchema> => readEnv(awsIngestOnlySchema, source);
export const readAwsForwardEnv = (source?: NodeJS.ProcessEnv): AwsForwardEnv => readEnv(awsForwardSchema, source);
export const readAwsResendEnv = (source?: NodeJS.ProcessEnv): AwsResendEnv => readEnv(awsResendSchema, source);

/** An IANA time zone the runtime knows (the webmail shows dates in it); lib/config.ts checks the same. */
const timeZoneSchema = z.string().refine(isTimeZone, TIME_ZONE_HINT).default(DEFAULT_TIME_ZONE);

const SEND_LIMIT_RANGE = `a whole number from 1 to ${SEND_LIMIT_MAX}`;
const sendLimit = (fallback: number) =>
  z.coerce
    .number({ error: SEND_LIMIT_RANGE })
    .int(SEND_LIMIT_RANGE)
    .min(1, SEND_LIMIT_RANGE)
    .max(SEND_LIMIT_MAX, SEND_LIMIT_RANGE)
    .default(fallback);

export const webSettingsSchema = {
  [WEB_ENV.sendMessagesPerHour]: sendLimit(DEFAULT_SEND_LIMITS.messagesPerHour),
  [WEB_ENV.sendRecipientsPerHour]: sendLimit(DEFAULT_SEND_LIMITS.recipientsPerHour),
  [WEB_ENV.sendMessagesPerDay]: sendLimit(DEFAULT_SEND_LIMITS.messagesPerDay),
  [WEB_ENV.sendRecipientsPerDay]: sendLimit(DEFAULT_SEND_LIMITS.recipientsPerDay),
  [WEB_ENV.failoverCacheSeconds]: z.coerce.number().int().min(0).max(30).default(30),
  [WEB_ENV.adminGroup]: z.string().min(1).max(128).default('shadowmail-admins'),
  [WEB_ENV.timeZone]: timeZoneSchema,
  // The break-glass admin accounts (config breakGlass.admins): a comma list of usernames (e-mail addresses).
  [WEB_ENV.breakGlassAdmins]: z
    .string()
    .default('')
    .transform(commaList)
    .pipe(
      z.array(z.email("a comma list of the break-glass admins' usernames (e-mail addresses)")).max(10, 'at most 10 break-glass admins'),
    ),
};

/** Failover notice channels (WEB_ENV.noticeChannels, local mode's SHADOWMAIL_NOTICES): sms, email, both, or none. */
export const noticeChannelsSchema = z
  .string()
  .default('none')
  .transform((value, context) => {
    const channels = parseNoticeChannels(value);
    if (channels === null) context.addIssue({ code: 'custom', message: 'sms, email, sms,email or none' });
    return channels ?? { sms: false, email: false };
  });

const awsWebSchema = z.object({
  [WEB_ENV.failoverParameter]: z.string().regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'an SSM parameter name such as /shadowmail/failover'),
  [WEB_ENV.userPoolId]: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]+$/, 'a Cognito user pool id such as eu-central-1_AbCdEf123'),
  [WEB_ENV.userPoolClientId]: z.string().min(1),
  [WEB_ENV.userPoolClientSecretArn]: z.string().startsWith('arn:').optional(),
  [WEB_ENV.cognitoDomain]: z.url({ protocol: /^https$/ }).optional(),
  [WEB_ENV.publicUrl]: z.url({ protocol: /^https$/ }),
  [WEB_ENV.sessionSecretArn]: z.string().startsWith('arn:'),
  [WEB_ENV.originSecretArn]: z.string().startsWith('arn:').optional(),
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
  // The forward queue whose counts the backlog alarm link's page (/declare) and the console show.
  [ENV.forwardQueueUrl]: z.url().optional(),
  // The dead-letter queues whose depths the console shows; none when absent.
  [WEB_ENV.deadLetterQueueUrls]: z
    .string()
    .default('')
    .transform((value, context) => {
      const queues = parseQueueUrls(value);
      if (queues === null) context.addIssue({ code: 'custom', message: 'label=https://… pairs, comma-separated' });
      return queues ?? [];
    }),
  // Failover notices the admin console's switch may send (breakGlass.notices); none when absent.
  [WEB_ENV.noticeChannels]: noticeChannelsSchema,
  [WEB_ENV.noticeSender]: z.email('the sender of notice mail, an address at a mail domain').optional(),
  ...webSettingsSchema,
});

export type AwsWebEnv = z.infer<typeof awsWebSchema>;
export const readAwsWebEnv = (source?: NodeJS.ProcessEnv): AwsWebEnv => readEnv(awsWebSchema, source);

// Cognito's sign-in trigger: the flag, the table (directory and audit log), the break-glass
// admins (comma-separated usernames, possibly none) and whether staff codes are on at all.
const triggerSchema = z.object({
  [WEB_ENV.failoverParameter]: awsWebSchema.shape[WEB_ENV.failoverParameter],
  [WEB_ENV.failoverCacheSeconds]: webSettingsSchema[WEB_ENV.failoverCacheSeconds],
  [ENV.tableName]: z.string().min(1),
  [WEB_ENV.breakGlassAdmins]: z
    .string()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    )
    .pipe(z.array(z.email('an e-mail address')).max(10)),
  [SIGN_IN_TRIGGER_ENV.staffSmsCodes]: z.enum(['true', 'false']).transform((text) => text === 'true'),
});

export type AwsSignInTriggerEnv = z.infer<typeof triggerSchema>;
export const readAwsSignInTriggerEnv = (source?: NodeJS.ProcessEnv): AwsSignInTriggerEnv => readEnv(triggerSchema, source);

/** The break-glass admins as the alarm function gets them: config breakGlass.admins, as JSON. */
const breakGlassContactsSchema = z
  .string()
  .transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: 'JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(
        z.strictObject({
          username: z.email(),
          mobile: z
            .string()
            .regex(/^\+[1-9]\d{6,14}$/)
            .optional(),
          privateEmail: z.email().optional(),
        }),
      )
      .min(1)
      .max(10),
  );

// The outage alarm function: links to the break-glass admins when the backlog alarm fires.
const awsOutageAlarmSchema = z.object({
  [ENV.tableName]: z.string().min(1),
  [ALARM_ENV.backlogAlarmName]: z.string().min(1).max(255),
  [ALARM_ENV.admins]: breakGlassContactsSchema,
  [ALARM_ENV.noticeFrom]: z.email(),
  [WEB_ENV.failoverParameter]: awsWebSchema.shape[WEB_ENV.failoverParameter],
  [WEB_ENV.sessionSecretArn]: z.string().startsWith('arn:'),
  [WEB_ENV.publicUrl]: z.url({ protocol: /^https$/ }),
  [WEB_ENV.timeZone]: timeZoneSchema,
});

export type AwsOutageAlarmEnv = z.infer<typeof awsOutageAlarmSchema>;
export const readAwsOutageAlarmEnv = (source?: NodeJS.ProcessEnv): AwsOutageAlarmEnv => readEnv(awsOutageAlarmSchema, source);

/** The per-user send limits from the webmail's settings (AWS and local mode alike). */
export function sendLimitsOf(env: {
  [WEB_ENV.sendMessagesPerHour]: number;
  [WEB_ENV.sendRecipientsPerHour]: number;
  [WEB_ENV.sendMessagesPerDay]: number;
  [WEB_ENV.sendRecipientsPerDay]: number;
}): SendLimits {
  return {
    messagesPerHour: env[WEB_ENV.sendMessagesPerHour],
    recipientsPerHour: env[WEB_ENV.sendRecipientsPerHour],
    messagesPerDay: env[WEB_ENV.sendMessagesPerDay],
    recipientsPerDay: env[WEB_ENV.sendRecipientsPerDay],
  };
}
