// The deployment's configuration: read from the CDK context key `shadowmail`
// (cdk.json, or `-c shadowmail.config=path.json` for a file of the same shape),
// validated once before any construct exists. A missing or wrong value stops
// synth with one message naming the key, e.g. `shadowmail.smartHost.port`.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Node } from 'constructs';
import { z } from 'zod';
import { DEFAULT_TIME_ZONE, isTimeZone, SUBADDRESS_SEPARATOR, smtpTlsModes, TIME_ZONE_HINT } from '../lambdas/contract/environment.ts';
import { PRIMARY_MESSAGE_BYTES } from '../lambdas/contract/primary-message-size.ts';
import { PRIMARY_SESSIONS } from '../lambdas/contract/primary-sessions.ts';
import { DEFAULT_SEND_LIMITS, SEND_LIMIT_MAX } from '../lambdas/contract/send-limits.ts';
import { sesRegionProblem } from './ses-regions.ts';
import {
  ACCOUNT_THROTTLE,
  DEFAULT_RATE_LIMITS,
  DEFAULT_WAF_LIMITS,
  type RouteGroup,
  type RouteLimit,
  WAF_LIMIT_RANGE,
} from './webmail-rate-limits.ts';

export const CONFIG_CONTEXT_KEY = 'shadowmail';
export const CONFIG_FILE_CONTEXT_KEY = 'shadowmail.config';

const domainPattern = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const hostPattern = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// A complete ARN (with the 6-character suffix Secrets Manager appends): a grant on
// a partial ARN would need a wildcard.
const secretArnPattern = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

// SQS keeps a message at most 14 days; the forward queue has to hold a job for
// the whole forward window (lambdas/wiring/env.ts caps it likewise).
export const SQS_MAX_RETENTION_DAYS = 14;

const httpsUrl = z.url({ protocol: /^https$/, error: 'an https:// URL' });

const SESSIONS_RANGE =
  `a whole number from ${PRIMARY_SESSIONS.min} (2 for the forward, 2 for resends) to ${PRIMARY_SESSIONS.max}; ` +
  `keep it below the receive connector's MaxInboundConnectionPerSource (Exchange's default: 20)`;

// The webmail's reservation: the API's throttle (100 requests/s) at ~200 ms per request.
export const DEFAULT_WEBMAIL_RESERVED_CONCURRENCY = 20;
const MAX_RESERVED_CONCURRENCY = 900;
const sendLimit = z
  .number()
  .int()
  .min(1, `a whole number from 1 to ${SEND_LIMIT_MAX}`)
  .max(SEND_LIMIT_MAX, `a whole number from 1 to ${SEND_LIMIT_MAX}`);
// One group's limit; each value defaults on its own (setting the rate keeps the default burst).
const routeLimit = (defaults: RouteLimit) =>
  z
    .strictObject({
      ratePerSecond: z
        .number()
        .positive('more than 0 requests per second')
        .max(ACCOUNT_THROTTLE.ratePerSecond, `at most ${ACCOUNT_THROTTLE.ratePerSecond}, the account's throttle per Region`)
        .default(defaults.ratePerSecond),
      burst: z
        .number()
        .int()
        .min(1, 'a whole number, at least 1')
        .max(ACCOUNT_THROTTLE.burst, `at most ${ACCOUNT_THROTTLE.burst}, the account's burst per Region`)
        .default(defaults.burst),
    })
    .prefault({});
const wafLimit = z
  .number()
  .int()
  .min(WAF_LIMIT_RANGE.min, `a whole number from ${WAF_LIMIT_RANGE.min} (WAF's least) up`)
  .max(WAF_LIMIT_RANGE.max, `at most ${WAF_LIMIT_RANGE.max}`);
/** What SES commonly grants an account on leaving the sandbox; set webmail.sesDailyQuota to the account's own. */
export const DEFAULT_SES_DAILY_QUOTA = 50_000;
const RESERVED_RANGE =
  `0 (no reservation) or a whole number up to ${MAX_RESERVED_CONCURRENCY}. Lambda keeps 100 of the account's concurrency unreserved, ` +
  "so the deployment fails unless the account's Lambda concurrency quota is at least this + 100; new accounts can have far less (then 0, until AWS raises the quota)";

const identityProviderSchema = z.discriminatedUnion('type', [
  // AD FS (or any SAML 2.0 IdP): the federation metadata, by URL (Cognito refreshes it) or as a file read at synth.
  z
    .strictObject({
      type: z.literal('saml'),
      name: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -, at most 32 (shown on the sign-in page)')
        .default('ADFS'),
      metadataUrl: httpsUrl.optional(),
      metadataFile: z.string().min(1).optional(),
      // The SAML attribute carrying the user's primary SMTP address.
      emailAttribute: z.string().min(1).default('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'),
      // The SAML attribute carrying AD's objectGUID (deploy.md §7.5); unset: users map by address alone.
      directoryIdAttribute: z.string().min(1).optional(),
    })
    .refine((idp) => (idp.metadataUrl === undefined) !== (idp.metadataFile === undefined), {
      path: ['metadataUrl'],
      message:
        'give exactly one of metadataUrl (e.g. https://adfs.corp.example/FederationMetadata/2007-06/FederationMetadata.xml) and metadataFile',
    }),
  // Entra ID (or any OIDC IdP): issuer, the app registration's client id and its secret in Secrets Manager.
  z.strictObject({
    type: z.literal('oidc'),
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -, at most 32 (shown on the sign-in page)')
      .default('EntraID'),
    issuer: httpsUrl,
    clientId: z.string().min(1),
    clientSecretArn: z
      .string()
      .regex(
        secretArnPattern,
        'the complete ARN of a Secrets Manager secret (…:secret:name-AbCdEf) holding the client secret as plain text',
      ),
    emailClaim: z.string().min(1).default('email'),
    // The claim carrying the user's on-premises objectGUID (deploy.md §7.5); unset: users map by address alone.
    directoryIdClaim: z.string().min(1).optional(),
  }),
]);

const mailDomain = z
  .string()
  .transform((d) => d.trim().toLowerCase())
  .pipe(z.string().regex(domainPattern, 'a mail domain such as corp.example'));

const configSchema = z
  .object({
    // Prefix of the stack names and of SHADOWMAIL_STACK_ID (the loop stamp).
    stackId: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,39}$/, 'a letter, then letters, digits or dashes, at most 40 (a CloudFormation stack name prefix)')
      .default('shadowmail'),
    domains: z
      .array(mailDomain)
      .min(1, 'at least one mail domain')
      .refine((list) => new Set(list).size === list.length, 'domains must not repeat'),
    smartHost: z.strictObject({
      host: z.string().regex(hostPattern, 'a host name or IPv4 address of the Exchange receive connector'),
      port: z.number().int().min(1).max(65535).default(587),
      tls: z.enum(smtpTlsModes).default('starttls-required'),
      authSecretArn: z
        .string()
        .regex(secretArnPattern, 'the complete ARN of a Secrets Manager secret (…:secret:name-AbCdEf) holding {"username","password"}')
        .optional(),
      // Without authSecretArn: an anonymous receive connector that allow-lists the NAT
      // gateway's Elastic IP (docs/deploy.md 6.2). Said explicitly, because without it a
      // missing secret is far more likely a forgotten one (see smartHostProblem).
      anonymousConnector: z.boolean().optional(),
      heloName: z.string().regex(hostPattern, 'a host name').optional(),
      // SMTP sessions to this host at once, forward and resend together (lambdas/core/primary-sessions.ts).
      maxSessions: z
        .number()
        .int()
        .min(PRIMARY_SESSIONS.min, SESSIONS_RANGE)
        .max(PRIMARY_SESSIONS.max, SESSIONS_RANGE)
        .default(PRIMARY_SESSIONS.default),
      // The largest message the primary takes; larger mail is kept but not relayed, its sender gets a report (issue 17).
      maxMessageBytes: z
        .number()
        .int()
        .min(PRIMARY_MESSAGE_BYTES.min, `at least ${PRIMARY_MESSAGE_BYTES.min} bytes`)
        .max(PRIMARY_MESSAGE_BYTES.max, `at most ${PRIMARY_MESSAGE_BYTES.max} bytes`)
        .default(PRIMARY_MESSAGE_BYTES.default),
    }),
    // Where users sign in: the Cognito user pool federates to exactly one IdP.
    identityProvider: identityProviderSchema,
    webmail: z.strictObject({
      // Prefix of the Cognito hosted-UI domain <prefix>.auth.<region>.amazoncognito.com: unique across AWS.
      cognitoDomainPrefix: z
        .string()
        .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and dashes, at most 63 (a Cognito domain prefix)')
        .refine((prefix) => !/aws|amazon|cognito/.test(prefix), 'must not contain "aws", "amazon" or "cognito" (Cognito refuses them)'),
      // Optional own host name for the webmail (an ACM certificate in the stack's region covers it).
      customDomain: z
        .strictObject({
          domainName: z.string().regex(hostPattern, 'a host name such as webmail.corp.example'),
          certificateArn: z
            .string()
            .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/, 'the ARN of an ACM certificate'),
        })
        .optional(),
      timeZone: z.string().refine(isTimeZone, TIME_ZONE_HINT).default(DEFAULT_TIME_ZONE),
      // Lambda concurrency kept for the webmail alone, so a spam burst into ingest cannot throttle it during an outage.
      reservedConcurrency: z
        .number()
        .int()
        .min(0, RESERVED_RANGE)
        .max(MAX_RESERVED_CONCURRENCY, RESERVED_RANGE)
        .default(DEFAULT_WEBMAIL_RESERVED_CONCURRENCY),
      // Messages and recipients one user may send per hour and per day (lambdas/contract/send-limits.ts says why these).
      sendLimits: z
        .strictObject({
          messagesPerHour: sendLimit.default(DEFAULT_SEND_LIMITS.messagesPerHour),
          recipientsPerHour: sendLimit.default(DEFAULT_SEND_LIMITS.recipientsPerHour),
          messagesPerDay: sendLimit.default(DEFAULT_SEND_LIMITS.messagesPerDay),
          recipientsPerDay: sendLimit.default(DEFAULT_SEND_LIMITS.recipientsPerDay),
        })
        .prefault({}),
      // Requests per second per group of routes in API Gateway (lib/webmail-rate-limits.ts says why these).
      rateLimits: z
        .strictObject(
          Object.fromEntries(Object.entries(DEFAULT_RATE_LIMITS).map(([group, limit]) => [group, routeLimit(limit)])) as Record<
            RouteGroup,
            ReturnType<typeof routeLimit>
          >,
        )
        .prefault({}),
      // Optional CloudFront + WAF in front of the API: rate limits per client (docs/deploy.md §9.3).
      waf: z
        .strictObject({
          enabled: z.boolean().default(false),
          requestsPer5MinPerSession: wafLimit.default(DEFAULT_WAF_LIMITS.requestsPer5MinPerSession),
          requestsPer5MinPerIp: wafLimit.default(DEFAULT_WAF_LIMITS.requestsPer5MinPerIp),
          requestsPer5MinPerIpWithoutSession: wafLimit.default(DEFAULT_WAF_LIMITS.requestsPer5MinPerIpWithoutSession),
          // With webmail.customDomain: CloudFront serves that name with an ACM certificate in us-east-1.
          certificateArn: z
            .string()
            .regex(
              /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/,
              'the ARN of an ACM certificate in us-east-1 (CloudFront takes certificates only from there)',
            )
            .optional(),
        })
        .prefault({}),
      // The account's SES sending quota per 24 hours (`aws sesv2 get-account`: SendQuota.Max24HourSend); an alarm at 80%.
      sesDailyQuota: z.number().int().min(1, 'a whole number, at least 1').default(DEFAULT_SES_DAILY_QUOTA),
    }),
    // Members of this group are admins (cognito:groups claim); directory admins (issue 5) are admins too.
    adminGroup: z
      .string()
      .regex(/^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u, 'a Cognito group name without spaces, at most 128')
      .default('shadowmail-admins'),
    // Where alarms go (an SNS e-mail subscription; confirm the mail AWS sends).
    alarmEmail: z.email('an e-mail address').optional(),
    // Getting in when AD FS is down with Exchange (docs/design.md §12.5).
    breakGlass: z
      .strictObject({
        // Staff sign in with a code by SMS to the mobile number from the directory, only while failover is on.
        staffSmsCodes: z.boolean().default(true),
        // Directory numbers without a country code (0170 1234567) are read as numbers of this country (ISO 3166 alpha-2).
        defaultCountry: z
          .string()
          .regex(/^[A-Z]{2}$/, 'a two-letter country code such as DE')
          .default('DE'),
        // Admin accounts independent of AD FS and Entra ID: password + TOTP (or a passkey). They get the
        // backlog alarm's link by SMS and to their private address, never to the company mailbox.
        admins: z
          .array(
            z.strictObject({
              username: z.email('the account name, an e-mail address'),
              mobile: z
                .string()
                .regex(/^\+[1-9]\d{6,14}$/, 'a mobile number in E.164 form such as +4917012345678')
                .optional(),
              privateEmail: z.email('a private e-mail address outside the mail domains').optional(),
            }),
          )
          .max(10, 'at most 10 break-glass admins: they are a few named accounts')
          .default([]),
        // Failover notices to staff (SMS to the directory's mobile number, mail to a private address): off by default.
        notices: z
          .strictObject({ sms: z.boolean().default(false), email: z.boolean().default(false) })
          .default({ sms: false, email: false }),
      })
      .default({ staffSmsCodes: true, defaultCountry: 'DE', admins: [], notices: { sms: false, email: false } }),
    // The forward backlog alarm fires when the oldest job waits longer than this.
    forwardBacklogAlarmMinutes: z.number().int().min(5).max(1440).default(30),
    // Optional fixed egress: the forward function in a VPC behind one NAT gateway whose
    // Elastic IP the Exchange receive connector allow-lists (the only way to reach port 25).
    natGateway: z
      .strictObject({
        // An Elastic IP you already own (eipalloc-…); without it the stateful stack allocates one and keeps it.
        elasticIpAllocationId: z
          .string()
          .regex(/^eipalloc-[0-9a-f]{8,17}$/, 'an Elastic IP allocation id such as eipalloc-0123456789abcdef0')
          .optional(),
        vpcCidr: z
          .string()
          .regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, 'an IPv4 CIDR block from /16 to /24, e.g. 10.80.0.0/24')
          .default('10.80.0.0/24'),
      })
      .optional(),
    ses: z
      .strictObject({
        // SES has one active receipt rule set per account and region. If another one is
        // active, the deployment stops and names it, unless this says to replace it.
        takeOverActiveRuleSet: z.boolean().default(false),
        // Domains that already are SES identities in this account and region (the company sends
        // through SES): the stack creates no identity for them (CloudFormation would fail with
        // AlreadyExists and roll back), leaves their DKIM and MAIL FROM alone, and still receives
        // for them and lets the webmail send from them.
        existingIdentities: z
          .array(mailDomain)
          .refine((list) => new Set(list).size === list.length, 'existingIdentities must not repeat')
          .default([]),
        // A custom MAIL FROM domain <subdomain>.<domain> for the identities the stack creates, so
        // SPF aligns with the domain (bounces then go to SES's feedback endpoint at its MX).
        mailFromSubdomain: z
          .string()
          .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'one DNS label such as bounce (lower-case letters, digits, dashes)')
          .optional(),
      })
      .default({ takeOverActiveRuleSet: false, existingIdentities: [] }),
    // What SES takes at the door (issue 17; docs/deploy.md "Recipient check at SES").
    inbound: z
      .strictObject({
        // Domains whose every address is taken (no directory list at SES): a catch-all of Exchange's.
        catchAllDomains: z
          .array(mailDomain)
          .refine((list) => new Set(list).size === list.length, 'catchAllDomains must not repeat')
          .default([]),
        // The stack's own receipt rule narrows to the catch-all domains (and each postmaster@), so
        // SES refuses every other address no rule of `shadowmail directory sync` lists. Turn it on
        // only after a sync with --receipt-rule-set wrote those rules: before, it refuses real mail.
        recipientCheck: z.boolean().default(false),
      })
      .default({ catchAllDomains: [], recipientCheck: false }),
    directorySync: z
      .strictObject({
        // The LDAP bind password of `shadowmail directory sync --bind-password-secret` (the sync role may read it).
        bindPasswordSecretArn: z
          .string()
          .regex(secretArnPattern, 'the complete ARN of a Secrets Manager secret (…:secret:name-AbCdEf) holding the bind password')
          .optional(),
        // Required in the role's trust policy when set (sts:ExternalId).
        externalId: z
          .string()
          .regex(/^[\w+=,.@:/-]{2,1224}$/, 'letters, digits and +=,.@:/-, 2 to 1224')
          .optional(),
        // The bind-password secret's own KMS key, if it is not the AWS-managed one.
        bindPasswordSecretKeyArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, 'the ARN of a KMS key')
          .optional(),
        // IAM Roles Anywhere: the on-prem host signs in with a certificate of the company CA instead of a stored access key.
        rolesAnywhere: z
          .strictObject({
            trustAnchorArn: z
              .string()
              .regex(
                /^arn:aws[a-z-]*:rolesanywhere:[a-z0-9-]+:\d{12}:trust-anchor\/[0-9a-f-]{36}$/,
                'the ARN of an IAM Roles Anywhere trust anchor',
              ),
            certificateCommonName: z.string().min(1).max(64).optional(),
          })
          .optional(),
      })
      .default({}),
    retentionDays: z.number().int().min(1).max(3650).default(28),
    forwardMaxAgeDays: z.number().positive().max(SQS_MAX_RETENTION_DAYS).default(5),
    // Ingest files alice+tag@… under alice@… when alice+tag is not itself in the directory.
    subaddressSeparator: z.string().regex(SUBADDRESS_SEPARATOR.pattern, SUBADDRESS_SEPARATOR.hint).default(SUBADDRESS_SEPARATOR.default),
    // Optional target environment; without it the stacks are environment-agnostic.
    account: z
      .string()
      .regex(/^\d{12}$/, 'a 12-digit AWS account id')
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')
      .superRefine((region, ctx) => {
        const problem = sesRegionProblem(region);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  })
  .strict()
  .refine((c) => c.forwardMaxAgeDays <= c.retentionDays, {
    path: ['forwardMaxAgeDays'],
    message: 'must not exceed retentionDays: the forward reads the raw message, which expires with the retention',
  })
  .superRefine((c, context) => {
    const problem = smartHostProblem(c);
    if (problem) context.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    const sub = c.ses.mailFromSubdomain;
    // "It can't be used to receive email" (AWS::SES::EmailIdentity MailFromAttributes).
    const receiving = sub === undefined ? undefined : c.domains.find((domain) => c.domains.includes(`${sub}.${domain}`));
    if (receiving !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['ses', 'mailFromSubdomain'],
        message: `${sub}.${receiving} is one of domains: a MAIL FROM domain must not receive mail; pick another subdomain`,
      });
    }
    c.breakGlass.admins.forEach((admin, i) => {
      const path = ['breakGlass', 'admins', i];
      const domain = admin.privateEmail?.split('@').pop()?.toLowerCase();
      if (domain !== undefined && c.domains.includes(domain)) {
        context.addIssue({
          code: 'custom',
          path: [...path, 'privateEmail'],
          message: `${admin.privateEmail} is at ${domain}, one of the mail domains: the alarm must reach the admin while that mail is down`,
        });
      }
      if (admin.mobile === undefined && admin.privateEmail === undefined) {
        context.addIssue({
          code: 'custom',
          path,
          message: 'give mobile or privateEmail (or both): the backlog alarm link needs a way to reach the admin',
        });
      }
      if (c.breakGlass.admins.findIndex((other) => other.username.toLowerCase() === admin.username.toLowerCase()) !== i) {
        context.addIssue({ code: 'custom', path: [...path, 'username'], message: `${admin.username} is listed twice` });
      }
    });
    if (c.webmail.waf.enabled && (c.account === undefined || c.region === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['webmail', 'waf', 'enabled'],
        message:
          'needs account and region: the web ACL of a CloudFront distribution lives in us-east-1, a stack of its own whose ARN the webmail stack reads across regions, which CDK can only do between stacks of a known account and region',
      });
    }
    if (c.webmail.waf.enabled && c.webmail.customDomain !== undefined && c.webmail.waf.certificateArn === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['webmail', 'waf', 'certificateArn'],
        message: `is required with webmail.customDomain: CloudFront serves ${c.webmail.customDomain.domainName} with a certificate for it in us-east-1 (docs/deploy.md §9.3)`,
      });
    }
    if (c.webmail.waf.certificateArn !== undefined && c.webmail.customDomain === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['webmail', 'waf', 'certificateArn'],
        message:
          'is only for webmail.customDomain (without one, CloudFront serves its own *.cloudfront.net name): remove it or set the domain',
      });
    }
    const onlyMailDomains = (list: readonly string[], path: string[]) =>
      list.forEach((domain, i) => {
        if (!c.domains.includes(domain)) {
          context.addIssue({
            code: 'custom',
            path: [...path, i],
            message: `${domain} is not one of domains (${c.domains.join(', ')}): name only mail domains shadowmail receives for`,
          });
        }
      });
    onlyMailDomains(c.ses.existingIdentities, ['ses', 'existingIdentities']);
    onlyMailDomains(c.inbound.catchAllDomains, ['inbound', 'catchAllDomains']);
  });

/** Exchange's Client Frontend receive connector: SMTP submission for authenticated clients. */
const CLIENT_SUBMISSION_PORT = 587;

/**
 * Why the smart host as configured cannot take the forward's mail, or null. Checked at
 * synth, because each of these would otherwise accept mail at SES and deliver none:
 * - Port 25: AWS blocks outbound port 25 from Lambda; only a function in a VPC behind a
 *   NAT gateway can have the block lifted, on request, for the NAT gateway's Elastic IP
 *   ("How do I remove the restriction on port 25 from my Amazon EC2 instance or Lambda
 *   function?", https://repost.aws/knowledge-center/ec2-port-25-throttle).
 * - No authentication: only an anonymous connector that allow-lists a fixed source
 *   address accepts the forward, and only the NAT option gives it one.
 * - Port 587 without authentication: Exchange's "Client Frontend" connector listens there
 *   for authenticated SMTP clients (learn.microsoft.com/exchange/clients/pop3-and-imap4/
 *   configure-authenticated-smtp) and answers MAIL FROM of anyone else with 530 5.7.1.
 */
function smartHostProblem(c: {
  smartHost: { port: number; authSecretArn?: string | undefined; anonymousConnector?: boolean | undefined };
  natGateway?: object | undefined;
}): { path: string[]; message: string } | null {
  const { port, authSecretArn, anonymousConnector } = c.smartHost;
  const at = (key: string, message: string) => ({ path: ['smartHost', key], message });
  if (port === 25 && !c.natGateway) {
    return at(
      'port',
      '25 cannot work without natGateway: AWS blocks outbound port 25 from Lambda functions and lifts the block only, on request, for the Elastic IP of a NAT gateway. Add "natGateway": {} (section 6.4), or use a connector on a port of its own with authSecretArn (section 6.3)',
    );
  }
  if (authSecretArn !== undefined && anonymousConnector === true) {
    return at(
      'anonymousConnector',
      'true means the connector accepts shadowmail without a login, but authSecretArn is set too: give one of them, not both',
    );
  }
  if (authSecretArn !== undefined) return null;
  if (port === CLIENT_SUBMISSION_PORT) {
    return anonymousConnector === true
      ? at(
          'port',
          `${CLIENT_SUBMISSION_PORT} is Exchange's Client Frontend connector, which accepts only clients that log in (530 5.7.1 at MAIL FROM otherwise): an anonymous connector needs a port of its own, e.g. 25 with natGateway (section 6.2)`,
        )
      : at(
          'authSecretArn',
          `is required on port ${CLIENT_SUBMISSION_PORT}: Exchange's Client Frontend connector there answers 530 5.7.1 at MAIL FROM to a client that did not log in, so no message would be delivered. Give the secret of section 3.3 (and preferably a connector on a port of its own, section 6.3)`,
        );
  }
  if (anonymousConnector !== true) {
    return at(
      'authSecretArn',
      'is required unless the smart host is an anonymous receive connector that allow-lists shadowmail\'s fixed address: give the secret of section 3.3, or declare "anonymousConnector": true together with natGateway (section 6.2)',
    );
  }
  if (!c.natGateway) {
    return at(
      'anonymousConnector',
      "needs natGateway: an anonymous connector must allow-list the sender's address, and without the NAT option the forward leaves from changing AWS addresses (section 6.2)",
    );
  }
  return null;
}

export type ShadowmailConfig = z.output<typeof configSchema>;
export type ShadowmailConfigInput = z.input<typeof configSchema>;

/** Configuration that cannot be synthesized; `key` is the dotted context path. */
export class ShadowmailConfigError extends Error {
  constructor(
    readonly key: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${key}: ${detail}`, options);
    this.name = 'ShadowmailConfigError';
  }
}

/** Validates a configuration object; the first problem becomes an error naming its key. */
export function parseConfig(raw: unknown, file?: string): ShadowmailConfig {
  const where = file === undefined ? '' : ` (in ${file})`;
  if (raw === undefined || raw === null) {
    throw new ShadowmailConfigError(
      CONFIG_CONTEXT_KEY,
      `is required: set the context key "${CONFIG_CONTEXT_KEY}" in cdk.json or pass -c ${CONFIG_FILE_CONTEXT_KEY}=path.json`,
    );
  }
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const key = [CONFIG_CONTEXT_KEY, ...path.map(String)].join('.');
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  const detail = issue.code === 'unrecognized_keys' ? 'is not a known setting' : missing ? `is required (${issue.message})` : issue.message;
  throw new ShadowmailConfigError(key, `${detail}${where}`);
}

/**
 * Reads the configuration from the construct tree's context: a JSON file named by
 * `shadowmail.config` wins over the inline `shadowmail` object.
 */
export function loadConfig(node: Node, cwd = process.cwd()): ShadowmailConfig {
  const file: unknown = node.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '')
      throw new ShadowmailConfigError(CONFIG_FILE_CONTEXT_KEY, 'must be the path of a JSON file');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(resolve(cwd, file), 'utf8'));
    } catch (error) {
      throw new ShadowmailConfigError(CONFIG_FILE_CONTEXT_KEY, `cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    return parseConfig(raw, file);
  }
  let raw: unknown = node.tryGetContext(CONFIG_CONTEXT_KEY);
  // `-c shadowmail='{...}'` arrives as a string.
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw new ShadowmailConfigError(CONFIG_CONTEXT_KEY, 'is not a JSON object', { cause: error });
    }
  }
  return parseConfig(raw);
}
