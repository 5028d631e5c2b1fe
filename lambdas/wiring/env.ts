// The Lambda functions' environment read and validated (the names are the contract's,
// shared with the stacks in lib/). Read once per cold start; a wrong value stops the
// function with a message naming the variable. zod's mini API (handlers/zod-mini.ts): this
// file is in every Lambda bundle.
import type * as zc from 'zod/v4/core';
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
import * as z from '../handlers/zod-mini.ts';

const positiveInt = (max: number) => z.coerce.number().check(z.int(), z.positive(), z.maximum(max));
const positiveNumber = (max: number) => z.coerce.number().check(z.positive(), z.maximum(max));
const nonEmpty = () => z.string().check(z.minLength(1));
const arn = () => z.string().check(z.startsWith('arn:'));

export const pipelineSettingsSchema = {
  [ENV.stackId]: z._default(
    z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash or underscore, at most 64')),
    'shadowmail',
  ),
  [ENV.retentionDays]: z._default(positiveInt(3650), 28),
  [ENV.forwardMaxAgeDays]: z._default(positiveNumber(14), 5),
  [ENV.retryBaseSeconds]: z._default(positiveInt(900), 60),
  [ENV.retryMaxDelaySeconds]: z._default(positiveInt(900), 900),
  // The lease of a relaying worker (local mode's default; the stack sets each function's timeout).
  [ENV.leaseSeconds]: z._default(positiveInt(3600), RELAY_WORK_MS / 1000),
  // 'off' too, for where an empty value cannot be set.
  [ENV.subaddressSeparator]: z._default(
    z.pipe(
      z.pipe(
        z.string(),
        z.transform((value: string) => (value === 'off' ? '' : value)),
      ),
      z.string().check(z.regex(SUBADDRESS_SEPARATOR.pattern, SUBADDRESS_SEPARATOR.hint)),
    ),
    SUBADDRESS_SEPARATOR.default,
  ),
};

const awsIngestSchema = z.object({
  [ENV.tableName]: nonEmpty(),
  [ENV.forwardQueueUrl]: z.url(),
  [ENV.sourceQueueUrl]: z.url(),
  ...pipelineSettingsSchema,
});

/** A comma list read as lower-case domains (none when absent). */
const domainList = () =>
  z.pipe(
    z._default(z.string(), ''),
    z.transform((value: string) => commaList(value).map((domain) => domain.toLowerCase())),
  );

// Only ingest judges From headers; without the list it still knows the recipients' domains.
const awsIngestOnlySchema = z.extend(awsIngestSchema, { [ENV.mailDomains]: domainList() });

const awsForwardSchema = z.extend(awsIngestSchema, {
  [ENV.smartHost]: nonEmpty(),
  [ENV.smartHostPort]: z._default(positiveInt(65535), 587),
  [ENV.smartHostTls]: z._default(z.enum(smtpTlsModes), 'starttls-required'),
  [ENV.smartHostAuthSecretArn]: z.optional(arn()),
  [ENV.heloName]: z.optional(nonEmpty()),
  [ENV.smartHostMaxMessageBytes]: z._default(z.coerce.number().check(z.int(), z.positive()), PRIMARY_MESSAGE_BYTES.default),
});

/** Attempts per recipient within a resend job: a whole number from 1 to 20 (default 5). */
const WHOLE_1_TO_20 = 'a whole number from 1 to 20';
export const resendMaxAttemptsSchema = z._default(
  z.coerce.number({ error: WHOLE_1_TO_20 }).check(z.int(WHOLE_1_TO_20), z.minimum(1, WHOLE_1_TO_20), z.maximum(20, WHOLE_1_TO_20)),
  5,
);

// The resend worker relays like the forward (same smart host, same secret) and takes
// its steps from the resend queue.
const awsResendSchema = z.extend(awsForwardSchema, {
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
export function readEnv<T extends zc.$ZodType>(schema: T, source: NodeJS.ProcessEnv = process.env): zc.output<T> {
  const parsed = z.safeParse(schema, source);
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
const timeZoneSchema = z._default(z.string().check(z.refine(isTimeZone, TIME_ZONE_HINT)), DEFAULT_TIME_ZONE);

const SEND_LIMIT_RANGE = `a whole number from 1 to ${SEND_LIMIT_MAX}`;
const sendLimit = (fallback: number) =>
  z._default(
    z.coerce
      .number({ error: SEND_LIMIT_RANGE })
      .check(z.int(SEND_LIMIT_RANGE), z.minimum(1, SEND_LIMIT_RANGE), z.maximum(SEND_LIMIT_MAX, SEND_LIMIT_RANGE)),
    fallback,
  );

export const webSettingsSchema = {
  [WEB_ENV.sendMessagesPerHour]: sendLimit(DEFAULT_SEND_LIMITS.messagesPerHour),
  [WEB_ENV.sendRecipientsPerHour]: sendLimit(DEFAULT_SEND_LIMITS.recipientsPerHour),
  [WEB_ENV.sendMessagesPerDay]: sendLimit(DEFAULT_SEND_LIMITS.messagesPerDay),
  [WEB_ENV.sendRecipientsPerDay]: sendLimit(DEFAULT_SEND_LIMITS.recipientsPerDay),
  [WEB_ENV.failoverCacheSeconds]: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(30)), 30),
  [WEB_ENV.adminGroup]: z._default(z.string().check(z.minLength(1), z.maxLength(128)), 'shadowmail-admins'),
  [WEB_ENV.timeZone]: timeZoneSchema,
  // The break-glass admin accounts (config breakGlass.admins): a comma list of usernames (e-mail addresses).
  [WEB_ENV.breakGlassAdmins]: z.pipe(
    z.pipe(z._default(z.string(), ''), z.transform(commaList)),
    z
      .array(z.email("a comma list of the break-glass admins' usernames (e-mail addresses)"))
      .check(z.maxLength(10, 'at most 10 break-glass admins')),
  ),
};

/** Failover notice channels (WEB_ENV.noticeChannels, local mode's SHADOWMAIL_NOTICES): sms, email, both, or none. */
export const noticeChannelsSchema = z.pipe(
  z._default(z.string(), 'none'),
  z.transform((value: string, context) => {
    const channels = parseNoticeChannels(value);
    if (channels === null) context.issues.push({ code: 'custom', message: 'sms, email, sms,email or none', input: value });
    return channels ?? { sms: false, email: false };
  }),
);

const awsWebSchema = z.object({
  [WEB_ENV.failoverParameter]: z
    .string()
    .check(z.regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'an SSM parameter name such as /shadowmail/failover')),
  [WEB_ENV.userPoolId]: z
    .string()
    .check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]+$/, 'a Cognito user pool id such as eu-central-1_AbCdEf123')),
  [WEB_ENV.userPoolClientId]: nonEmpty(),
  [WEB_ENV.userPoolClientSecretArn]: z.optional(arn()),
  [WEB_ENV.cognitoDomain]: z.optional(z.url({ protocol: /^https$/ })),
  [WEB_ENV.publicUrl]: z.url({ protocol: /^https$/ }),
  [WEB_ENV.sessionSecretArn]: arn(),
  [WEB_ENV.originSecretArn]: z.optional(arn()),
  [ENV.tableName]: nonEmpty(),
  [WEB_ENV.rawBucket]: z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name')),
  [WEB_ENV.sesConfigurationSet]: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'an SES configuration set name'))),
  [ENV.retentionDays]: pipelineSettingsSchema[ENV.retentionDays],
  [ENV.stackId]: pipelineSettingsSchema[ENV.stackId],
  // The admin console queues resend jobs here; the resend worker runs them.
  [ENV.resendQueueUrl]: z.url(),
  // The forward queue whose counts the backlog alarm link's page (/declare) and the console show.
  [ENV.forwardQueueUrl]: z.optional(z.url()),
  // The dead-letter queues whose depths the console shows; none when absent.
  [WEB_ENV.deadLetterQueueUrls]: z.pipe(
    z._default(z.string(), ''),
    z.transform((value: string, context) => {
      const queues = parseQueueUrls(value);
      if (queues === null) context.issues.push({ code: 'custom', message: 'label=https://… pairs, comma-separated', input: value });
      return queues ?? [];
    }),
  ),
  // Failover notices the admin console's switch may send (breakGlass.notices); none when absent.
  [WEB_ENV.noticeChannels]: noticeChannelsSchema,
  [WEB_ENV.noticeSender]: z.optional(z.email('the sender of notice mail, an address at a mail domain')),
  ...webSettingsSchema,
});

export type AwsWebEnv = z.infer<typeof awsWebSchema>;
export const readAwsWebEnv = (source?: NodeJS.ProcessEnv): AwsWebEnv => readEnv(awsWebSchema, source);

// Cognito's sign-in trigger: the flag, the table (directory and audit log), the break-glass
// admins (comma-separated usernames, possibly none) and whether staff codes are on at all.
const triggerSchema = z.object({
  [WEB_ENV.failoverParameter]: awsWebSchema.shape[WEB_ENV.failoverParameter],
  [WEB_ENV.failoverCacheSeconds]: webSettingsSchema[WEB_ENV.failoverCacheSeconds],
  [ENV.tableName]: nonEmpty(),
  [WEB_ENV.breakGlassAdmins]: z.pipe(
    z.pipe(
      z._default(z.string(), ''),
      z.transform((list: string) =>
        list
          .split(',')
          .map((name) => name.trim())
          .filter((name) => name !== ''),
      ),
    ),
    z.array(z.email('an e-mail address')).check(z.maxLength(10)),
  ),
  [SIGN_IN_TRIGGER_ENV.staffSmsCodes]: z.pipe(
    z.enum(['true', 'false']),
    z.transform((text: 'true' | 'false') => text === 'true'),
  ),
});

export type AwsSignInTriggerEnv = z.infer<typeof triggerSchema>;
export const readAwsSignInTriggerEnv = (source?: NodeJS.ProcessEnv): AwsSignInTriggerEnv => readEnv(triggerSchema, source);

/** The break-glass admins as the alarm function gets them: config breakGlass.admins, as JSON. */
const breakGlassContactsSchema = z.pipe(
  z.pipe(
    z.string(),
    z.transform((text: string, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.issues.push({ code: 'custom', message: 'JSON', input: text });
        return z.NEVER;
      }
    }),
  ),
  z
    .array(
      z.strictObject({
        username: z.email(),
        mobile: z.optional(z.string().check(z.regex(/^\+[1-9]\d{6,14}$/))),
        privateEmail: z.optional(z.email()),
      }),
    )
    .check(z.minLength(1), z.maxLength(10)),
);

// The outage alarm function: links to the break-glass admins when the backlog alarm fires.
const awsOutageAlarmSchema = z.object({
  [ENV.tableName]: nonEmpty(),
  [ALARM_ENV.backlogAlarmName]: z.string().check(z.minLength(1), z.maxLength(255)),
  [ALARM_ENV.admins]: breakGlassContactsSchema,
  [ALARM_ENV.noticeFrom]: z.email(),
  [WEB_ENV.failoverParameter]: awsWebSchema.shape[WEB_ENV.failoverParameter],
  [WEB_ENV.sessionSecretArn]: arn(),
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
