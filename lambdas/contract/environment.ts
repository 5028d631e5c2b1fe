// The names of the Lambda functions' environment variables and the value sets both
// sides check: the stacks in lib/ set them, lambdas/wiring/env.ts reads and validates
// them. Plain data, no imports, so lib/ and the CLI can load it without any SDK.

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
  /** Ingest files `alice+tag@d` under alice@d's mailbox (one character; `off` or empty: no mapping). */
  subaddressSeparator: 'SHADOWMAIL_SUBADDRESS_SEPARATOR',
  smartHost: 'SHADOWMAIL_SMART_HOST',
  smartHostPort: 'SHADOWMAIL_SMART_HOST_PORT',
  smartHostTls: 'SHADOWMAIL_SMART_HOST_TLS',
  smartHostAuthSecretArn: 'SHADOWMAIL_SMART_HOST_AUTH_SECRET_ARN',
  /** The largest message the primary takes (smartHost.maxMessageBytes): larger ones are kept, not relayed, reported. */
  smartHostMaxMessageBytes: 'SHADOWMAIL_SMART_HOST_MAX_MESSAGE_BYTES',
  heloName: 'SHADOWMAIL_HELO_NAME',
  /** The resend job queue (issue 4): the webmail's admin console enqueues, the resend worker consumes. */
  resendQueueUrl: 'SHADOWMAIL_RESEND_QUEUE_URL',
  /** Attempts per recipient within a resend job (1–20, default 5). */
  resendMaxAttempts: 'SHADOWMAIL_RESEND_MAX_ATTEMPTS',
  /** The mail domains, comma-separated (config domains): ingest warns about a From that claims one without authenticating. */
  mailDomains: 'SHADOWMAIL_MAIL_DOMAINS',
} as const;

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
  /** With CloudFront + WAF (config webmail.waf): the secret CloudFront sends in contract/edge.ts ORIGIN_SECRET_HEADER; unset: no check. */
  originSecretArn: 'SHADOWMAIL_ORIGIN_SECRET_ARN',
  adminGroup: 'SHADOWMAIL_ADMIN_GROUP',
  timeZone: 'SHADOWMAIL_TIME_ZONE',
  /** The raw mail bucket: received mail is read from it, Sent copies (sent/) and presigned downloads (downloads/) go into it. */
  rawBucket: 'SHADOWMAIL_RAW_BUCKET',
  /** SES configuration set for the webmail's outgoing mail (optional). */
  sesConfigurationSet: 'SHADOWMAIL_SES_CONFIGURATION_SET',
  /** Comma-separated usernames of the break-glass admin accounts (config breakGlass.admins): admins without the directory. */
  breakGlassAdmins: 'SHADOWMAIL_BREAK_GLASS_ADMINS',
  /** Failover notice channels (config breakGlass.notices): `sms`, `email`, both comma-separated, or `none`. */
  noticeChannels: 'SHADOWMAIL_NOTICE_CHANNELS',
  /** The sender of notice mail: an address at a mail domain (its SES identity is verified). */
  noticeSender: 'SHADOWMAIL_NOTICE_SENDER',
  /** Per-user send limits (config webmail.sendLimits): whole numbers; the defaults are contract/send-limits.ts's. */
  sendMessagesPerHour: 'SHADOWMAIL_SEND_MESSAGES_PER_HOUR',
  sendRecipientsPerHour: 'SHADOWMAIL_SEND_RECIPIENTS_PER_HOUR',
  sendMessagesPerDay: 'SHADOWMAIL_SEND_MESSAGES_PER_DAY',
  sendRecipientsPerDay: 'SHADOWMAIL_SEND_RECIPIENTS_PER_DAY',
  /** The dead-letter queues the admin console shows, `label=url` pairs comma-separated (formatQueueUrls). */
  deadLetterQueueUrls: 'SHADOWMAIL_DEAD_LETTER_QUEUE_URLS',
} as const;

// Cognito's pre-/post-authentication trigger (issue 13, lib/constructs/sign-in-trigger.ts): it
// reads the flag (WEB_ENV.failoverParameter), the directory and audit log (ENV.tableName) and
// the admin list (WEB_ENV.breakGlassAdmins) under the webmail's names, plus its own below.
export const SIGN_IN_TRIGGER_ENV = {
  /** config.breakGlass.staffSmsCodes as "true"/"false": false refuses every staff code sign-in. */
  staffSmsCodes: 'SHADOWMAIL_STAFF_SMS_CODES',
} as const;

// The outage alarm function (issue 13): the backlog alarm's links to the break-glass admins.
export const ALARM_ENV = {
  /** The alarm whose ALARM notifications send links: `<stackId>-forward-backlog-age`. */
  backlogAlarmName: 'SHADOWMAIL_BACKLOG_ALARM_NAME',
  /** JSON list of the break-glass admins: [{ username, mobile?, privateEmail? }] (config breakGlass.admins). */
  admins: 'SHADOWMAIL_ALARM_RECIPIENTS',
  /** The sender of the private mails, at a verified mail domain (the failover notices' sender). */
  noticeFrom: 'SHADOWMAIL_NOTICE_FROM',
} as const;

/** The suffix of the forward backlog alarm's name (lib/constructs/monitoring.ts names it `<stackId>-<suffix>`). */
export const BACKLOG_ALARM_SUFFIX = 'forward-backlog-age';

/** What WEB_ENV.noticeChannels (and the NoticeChannels output) holds, parsed; anything else is null. */
export function parseNoticeChannels(value: string): { sms: boolean; email: boolean } | null {
  const names = value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 1 && names[0] === 'none') return { sms: false, email: false };
  if (names.length === 0 || names.some((name) => name !== 'sms' && name !== 'email')) return null;
  return { sms: names.includes('sms'), email: names.includes('email') };
}

/** The inverse of parseNoticeChannels. */
export function formatNoticeChannels(channels: { sms: boolean; email: boolean }): string {
  const names = [channels.sms && 'sms', channels.email && 'email'].filter(Boolean);
  return names.length > 0 ? names.join(',') : 'none';
}

/**
 * How the relay to the smart host uses TLS:
 * - `starttls-required`: STARTTLS must succeed, otherwise nothing is sent (the default).
 * - `starttls-opportunistic`: STARTTLS when offered; plaintext when not offered or refused.
 * - `implicit`: TLS from the first byte (port 465).
 * - `none`: plaintext even when STARTTLS is offered.
 */
export const smtpTlsModes = ['starttls-required', 'starttls-opportunistic', 'implicit', 'none'] as const;
export type SmtpTlsMode = (typeof smtpTlsModes)[number];

/**
 * The subaddress separator (config subaddressSeparator, ENV.subaddressSeparator): one
 * character that may stand in a local part, except `.` and `%`; '' turns it off.
 */
export const SUBADDRESS_SEPARATOR = {
  default: '+',
  pattern: /^[A-Za-z0-9!#$&'*+/=?^_`{|}~-]?$/,
  hint: "one character of a local part other than '.' and '%' (such as + or -), or empty for off",
} as const;

/** The zone the webmail shows dates in when the configuration names none. */
export const DEFAULT_TIME_ZONE = 'Europe/Berlin';
export const TIME_ZONE_HINT = 'an IANA time zone such as Europe/Berlin';

/** Whether the runtime knows `zone` as an IANA time zone (the webmail formats dates in it). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Queues by label as one variable: `ingest=https://…,forward=https://…` (labels are lower-case words). */
export function formatQueueUrls(queues: Record<string, string>): string {
  return Object.entries(queues)
    .map(([label, url]) => `${label}=${url}`)
    .join(',');
}

/** The inverse of formatQueueUrls; null when a pair is malformed. */
export function parseQueueUrls(value: string): { label: string; url: string }[] | null {
  const pairs = value.split(',').filter((pair) => pair.trim() !== '');
  const parsed = pairs.map((pair) => /^([a-z][a-z0-9-]{0,31})=(https:\/\/\S+)$/.exec(pair.trim()));
  if (parsed.some((match) => match === null)) return null;
  return parsed.map((match) => ({ label: match![1]!, url: match![2]! }));
}
