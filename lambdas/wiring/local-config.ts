// Local mode's configuration from SHADOWMAIL_* variables, validated once at start-up.
// A wrong value stops start-up with one line that names the variable.
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { INBOUND_SMTP_LIMITS } from '../adapters/local/inbound-smtp-limits.ts';
import { ENV, WEB_ENV } from '../contract/environment.ts';
import { PRIMARY_MESSAGE_BYTES } from '../contract/primary-message-size.ts';
import { PRIMARY_SESSIONS } from '../contract/primary-sessions.ts';
import type { SendLimits } from '../contract/send-limits.ts';
import { DEFAULT_CLIENT_RATE_LIMIT } from '../core/client-rate-limit.ts';
import { ConfigurationError } from '../core/errors.ts';
import { commaList, noticeChannelsSchema, pipelineSettingsSchema, readEnv, sendLimitsOf, webSettingsSchema } from './env.ts';

export const LOCAL_ENV = {
  dataDir: 'SHADOWMAIL_DATA_DIR',
  smtpPort: 'SHADOWMAIL_SMTP_PORT',
  httpPort: 'SHADOWMAIL_HTTP_PORT',
  domains: 'SHADOWMAIL_DOMAINS',
  primary: 'SHADOWMAIL_PRIMARY',
  /** Where the webmail's outgoing mail goes (local stand-in for SES sending); default: where the forward goes. */
  outbound: 'SHADOWMAIL_OUTBOUND',
  sinkPort: 'SHADOWMAIL_SINK_PORT',
  host: 'SHADOWMAIL_LISTEN_HOST',
  oidcPort: 'SHADOWMAIL_OIDC_PORT',
  /** The S3-compatible upload endpoint of the webmail's attachments (its own origin, like S3). */
  uploadPort: 'SHADOWMAIL_UPLOAD_PORT',
  publicUrl: 'SHADOWMAIL_PUBLIC_URL',
  /** SMTP sessions to the primary at once, forward and resend together (smartHost.maxSessions in AWS). */
  primaryMaxSessions: 'SHADOWMAIL_PRIMARY_MAX_SESSIONS',
  /** The largest message the primary takes, in bytes (smartHost.maxMessageBytes in AWS; default Exchange's 36 MB). */
  primaryMaxMessageBytes: 'SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES',
  // Issue 13, the backlog alarm's link (lambdas/wiring/local-outage-alarm.ts).
  /**
   * Where break-glass admins (SHADOWMAIL_BREAK_GLASS_ADMINS) get the backlog alarm link: a comma list of
   * `username:mobile[:private address]`, e.g. admin@example.com:+4917012345678:me@home.example.
   */
  breakGlassContacts: 'SHADOWMAIL_BREAK_GLASS_CONTACTS',
  /** The backlog alarm fires when the oldest forward job waits longer (config forwardBacklogAlarmMinutes; fractions for drills). */
  forwardBacklogAlarmMinutes: 'SHADOWMAIL_FORWARD_BACKLOG_ALARM_MINUTES',
  /** How often the local watcher looks at the forward queue (CloudWatch's alarm evaluates every minute). */
  backlogCheckSeconds: 'SHADOWMAIL_BACKLOG_CHECK_SECONDS',
  /** Failover notices to staff (breakGlass.notices in AWS): sms, email, both comma-separated, or none (the default). */
  notices: 'SHADOWMAIL_NOTICES',
  // Issue 14, what one sender may hold of the SMTP listener (adapters/local/inbound-smtp-limits.ts).
  smtpMaxConnections: 'SHADOWMAIL_SMTP_MAX_CONNECTIONS',
  smtpMaxConnectionsPerAddress: 'SHADOWMAIL_SMTP_MAX_CONNECTIONS_PER_ADDRESS',
  smtpDataTimeoutSeconds: 'SHADOWMAIL_SMTP_DATA_TIMEOUT_SECONDS',
  // Issue 14, requests per second and burst of one webmail client (core/client-rate-limit.ts).
  clientRequestsPerSecond: 'SHADOWMAIL_CLIENT_REQUESTS_PER_SECOND',
  clientRequestBurst: 'SHADOWMAIL_CLIENT_REQUEST_BURST',
  /** DNS servers (`host` or `host:port`, comma-separated) for the SPF, DKIM and DMARC checks SES makes in AWS; default: the system's. */
  dnsServers: 'SHADOWMAIL_DNS_SERVERS',
} as const;

const BREAK_GLASS_CONTACT = /^[^\s@:,]+@[^\s@:,]+\.[^\s@:,]+(:(\+[1-9]\d{6,14})?(:[^\s@:,]+@[^\s@:,]+\.[^\s@:,]+)?)?$/;

/** SHADOWMAIL_BREAK_GLASS_CONTACTS: `username:mobile[:private address]`, comma-separated. */
const breakGlassContactsSchema = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(BREAK_GLASS_CONTACT, 'a comma list of username[:mobile[:private address]], the mobile in E.164 (+49…)'))
      .max(10, 'at most 10 break-glass admins'),
  )
  .transform((entries) =>
    entries.map((entry) => {
      const [username = '', mobile = '', privateEmail = ''] = entry.split(':');
      return { username: username.toLowerCase(), ...(mobile && { mobile }), ...(privateEmail && { privateEmail }) };
    }),
  );

/** What Resolver.setServers takes: an IP address, `v4:port` or `[v6]:port`. */
function isDnsServer(value: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) return isIP(bracketed[1]!) === 6;
  const withPort = /^([^:]+):\d{1,5}$/.exec(value);
  return isIP(value) !== 0 || (withPort !== null && isIP(withPort[1]!) === 4);
}

const port = z.coerce.number().int().min(0).max(65535);
/** smtp://host[:port] (STARTTLS when offered) or smtps://host[:port] (TLS from the first byte). */
export const SMTP_URL = /^smtps?:\/\/[^/:]+(:\d{1,5})?\/?$/;
const SESSIONS_RANGE = `a whole number from ${PRIMARY_SESSIONS.min} to ${PRIMARY_SESSIONS.max} (2 for the forward, 2 for resends at least)`;
const MESSAGE_BYTES_RANGE = `a whole number of bytes from ${PRIMARY_MESSAGE_BYTES.min} to ${PRIMARY_MESSAGE_BYTES.max}`;
const domainPattern = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$/;

const localSchema = z.object({
  [LOCAL_ENV.dataDir]: z.string().min(1).default('./.shadowmail'),
  [LOCAL_ENV.smtpPort]: port.default(2525),
  [LOCAL_ENV.httpPort]: port.default(8787),
  [LOCAL_ENV.sinkPort]: port.default(2526),
  [LOCAL_ENV.host]: z.string().min(1).default('127.0.0.1'),
  [LOCAL_ENV.domains]: z
    .string()
    .default('example.com')
    .transform(commaList)
    .pipe(
      z
        .array(z.string().regex(domainPattern, 'a comma list of mail domains such as corp.example,sub.corp.example'))
        .min(1, 'at least one domain'),
    ),
  [LOCAL_ENV.primary]: z.string().regex(SMTP_URL, 'a smart host URL such as smtp://exchange.corp.local:25 or smtps://host:465').optional(),
  [LOCAL_ENV.outbound]: z
    .string()
    .regex(SMTP_URL, 'an SMTP URL such as smtp://relay.corp.local:25 or smtps://host:465 (where the webmail sends)')
    .optional(),
  [LOCAL_ENV.oidcPort]: port.default(8788),
  // 0: any free port (forms carry the endpoint's address, so it need not be fixed).
  [LOCAL_ENV.uploadPort]: port.default(0),
  [LOCAL_ENV.primaryMaxSessions]: z.coerce
    .number({ error: SESSIONS_RANGE })
    .int(SESSIONS_RANGE)
    .min(PRIMARY_SESSIONS.min, SESSIONS_RANGE)
    .max(PRIMARY_SESSIONS.max, SESSIONS_RANGE)
    .default(PRIMARY_SESSIONS.default),
  [LOCAL_ENV.primaryMaxMessageBytes]: z.coerce
    .number({ error: MESSAGE_BYTES_RANGE })
    .int(MESSAGE_BYTES_RANGE)
    .min(PRIMARY_MESSAGE_BYTES.min, MESSAGE_BYTES_RANGE)
    .max(PRIMARY_MESSAGE_BYTES.max, MESSAGE_BYTES_RANGE)
    .default(PRIMARY_MESSAGE_BYTES.default),
  [LOCAL_ENV.publicUrl]: z
    .string()
    .regex(/^https?:\/\/[^/?#\s]+$/, 'the origin browsers use for the webmail, such as http://127.0.0.1:8787 (no path)')
    .optional(),
  [LOCAL_ENV.breakGlassContacts]: breakGlassContactsSchema,
  [LOCAL_ENV.forwardBacklogAlarmMinutes]: z.coerce.number().positive().max(1440).default(30),
  [LOCAL_ENV.backlogCheckSeconds]: z.coerce.number().positive().max(3600).default(60),
  [LOCAL_ENV.notices]: noticeChannelsSchema,
  [LOCAL_ENV.smtpMaxConnections]: z.coerce.number().int().min(1).max(10_000).default(INBOUND_SMTP_LIMITS.maxConnections),
  [LOCAL_ENV.smtpMaxConnectionsPerAddress]: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(INBOUND_SMTP_LIMITS.maxConnectionsPerAddress),
  [LOCAL_ENV.smtpDataTimeoutSeconds]: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(INBOUND_SMTP_LIMITS.dataDeadlineMs / 1000),
  [LOCAL_ENV.clientRequestsPerSecond]: z.coerce.number().positive().max(100_000).default(DEFAULT_CLIENT_RATE_LIMIT.ratePerSecond),
  [LOCAL_ENV.clientRequestBurst]: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_CLIENT_RATE_LIMIT.burst),
  [LOCAL_ENV.dnsServers]: z
    .string()
    .default('')
    .transform(commaList)
    .pipe(z.array(z.string().refine(isDnsServer, 'a comma list of DNS server IP addresses such as 127.0.0.1:5353 or [::1]:53'))),
  ...pipelineSettingsSchema,
  ...webSettingsSchema,
});

export interface SmtpTarget {
  host: string;
  port: number;
  implicitTls: boolean;
}

/** The target an SMTP_URL names (port 25, or 465 for smtps://, when it names none); null for none. */
export function smtpTarget(url: string | undefined): SmtpTarget | null {
  if (!url) return null;
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : parsed.protocol === 'smtps:' ? 465 : 25,
    implicitTls: parsed.protocol === 'smtps:',
  };
}

export interface LocalConfig {
  dataDir: string;
  listenHost: string;
  smtpPort: number;
  httpPort: number;
  sinkPort: number;
  domains: string[];
  /** The real primary, or null for the built-in sink. */
  primary: SmtpTarget | null;
  /**
   * Where the webmail sends (SES in AWS); null: where the forward goes. In AWS the
   * webmail's mail does not depend on Exchange; set this to keep it so locally.
   */
  outbound: SmtpTarget | null;
  /** SMTP sessions to the primary at once, forward and resend together. */
  primaryMaxSessions: number;
  /** The largest message the primary takes: larger mail is kept, not relayed, and reported to its sender. */
  primaryMaxMessageBytes: number;
  stackId: string;
  retentionDays: number;
  forwardMaxAgeMs: number;
  retryBaseSeconds: number;
  retryMaxDelaySeconds: number;
  leaseMs: number;
  /** Ingest's subaddress separator; '' is off. */
  subaddressSeparator: string;
  /** Port of the embedded OIDC provider on 127.0.0.1 (0: any free port). */
  oidcPort: number;
  /** Port of the upload endpoint (0: any free port). */
  uploadPort: number;
  /** The webmail's origin as browsers reach it; null: http://127.0.0.1:<http port>. */
  publicUrl: string | null;
  failoverCacheSeconds: number;
  adminGroup: string;
  /** Usernames of the break-glass admin accounts (`shadowmail breakglass admin-setup` gives them password + TOTP). */
  breakGlassAdmins: string[];
  timeZone: string;
  /** Messages and recipients per hour and day of one sending user (SHADOWMAIL_SEND_*). */
  sendLimits: SendLimits;
  /** Where break-glass admins get the backlog alarm's link (in the local outboxes); each one of breakGlassAdmins. */
  breakGlassContacts: Array<{ username: string; mobile?: string; privateEmail?: string }>;
  forwardBacklogAlarmMinutes: number;
  backlogCheckSeconds: number;
  /** Failover notice channels; local mode writes them to the outboxes under the data directory. */
  notices: { sms: boolean; email: boolean };
  /** What one sender may hold of the SMTP listener: connections overall, per address, and one DATA phase's time. */
  smtpLimits: { maxConnections: number; maxConnectionsPerAddress: number; dataDeadlineMs: number };
  /** DNS servers for the SPF, DKIM and DMARC checks; empty: the system's. */
  dnsServers: string[];
  /** What one webmail client (a signed-in user, else an address) may request: per second and at once. */
  clientRateLimit: { ratePerSecond: number; burst: number };
}

/** Where local mode keeps the webmail's state under the data directory. */
export function localWebPaths(dataDir: string) {
  return {
    failoverFlag: join(dataDir, 'failover.json'),
    sessionSecret: join(dataDir, 'session-secret'),
    directory: join(dataDir, 'directory.json'),
    oidcKeys: join(dataDir, 'oidc', 'keys.json'),
    oidcState: join(dataDir, 'oidc', 'state.json'),
    /** The break-glass admins' password hashes and TOTP secrets (0600). */
    breakGlassAdmins: join(dataDir, 'oidc', 'break-glass-admins.json'),
  };
}

export function readLocalConfig(source: NodeJS.ProcessEnv = process.env): LocalConfig {
  const env = readEnv(localSchema, source);
  // A link for someone who may not use it would only be refused: every contact must be a break-glass admin.
  const stranger = env[LOCAL_ENV.breakGlassContacts].find((contact) => !env[WEB_ENV.breakGlassAdmins].includes(contact.username));
  if (stranger) throw new ConfigurationError(LOCAL_ENV.breakGlassContacts, `${stranger.username} is not in ${WEB_ENV.breakGlassAdmins}`);
  return {
    dataDir: resolve(env[LOCAL_ENV.dataDir]),
    listenHost: env[LOCAL_ENV.host],
    smtpPort: env[LOCAL_ENV.smtpPort],
    httpPort: env[LOCAL_ENV.httpPort],
    sinkPort: env[LOCAL_ENV.sinkPort],
    domains: env[LOCAL_ENV.domains],
    primary: smtpTarget(env[LOCAL_ENV.primary]),
    outbound: smtpTarget(env[LOCAL_ENV.outbound]),
    primaryMaxSessions: env[LOCAL_ENV.primaryMaxSessions],
    primaryMaxMessageBytes: env[LOCAL_ENV.primaryMaxMessageBytes],
    stackId: env[ENV.stackId],
    retentionDays: env[ENV.retentionDays],
    forwardMaxAgeMs: env[ENV.forwardMaxAgeDays] * 86_400_000,
    retryBaseSeconds: env[ENV.retryBaseSeconds],
    retryMaxDelaySeconds: env[ENV.retryMaxDelaySeconds],
    leaseMs: env[ENV.leaseSeconds] * 1000,
    subaddressSeparator: env[ENV.subaddressSeparator],
    oidcPort: env[LOCAL_ENV.oidcPort],
    uploadPort: env[LOCAL_ENV.uploadPort],
    publicUrl: env[LOCAL_ENV.publicUrl] ?? null,
    failoverCacheSeconds: env[WEB_ENV.failoverCacheSeconds],
    adminGroup: env[WEB_ENV.adminGroup],
    breakGlassAdmins: env[WEB_ENV.breakGlassAdmins],
    timeZone: env[WEB_ENV.timeZone],
    sendLimits: sendLimitsOf(env),
    breakGlassContacts: env[LOCAL_ENV.breakGlassContacts],
    forwardBacklogAlarmMinutes: env[LOCAL_ENV.forwardBacklogAlarmMinutes],
    backlogCheckSeconds: env[LOCAL_ENV.backlogCheckSeconds],
    notices: env[LOCAL_ENV.notices],
    smtpLimits: {
      maxConnections: env[LOCAL_ENV.smtpMaxConnections],
      maxConnectionsPerAddress: env[LOCAL_ENV.smtpMaxConnectionsPerAddress],
      dataDeadlineMs: env[LOCAL_ENV.smtpDataTimeoutSeconds] * 1000,
    },
    dnsServers: env[LOCAL_ENV.dnsServers],
    clientRateLimit: { ratePerSecond: env[LOCAL_ENV.clientRequestsPerSecond], burst: env[LOCAL_ENV.clientRequestBurst] },
  };
}
