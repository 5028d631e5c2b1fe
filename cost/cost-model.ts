// What shadowmail costs a month in AWS, line by line: a pure function (no SDK, no I/O)
// from a company's size and mail volume to priced line items, a total and a figure
// per user. The prices come from cost/aws-prices.json (dated, with sources), the
// per-message DynamoDB units, requests and log bytes from cost/measured-capacity.json
// (measured by bench/measure-capacity.ts against DynamoDB Local), the ingest CPU
// speed from bench/results.json, and the memory sizes and margins from lib/.
// What could not be measured here (latencies inside AWS, the SMTP session with
// Exchange, webmail habits) is a named assumption below, printed with the estimate.
import { z } from 'zod';
import benchResults from '../bench/results.json' with { type: 'json' };
import { FORWARD_LIMITS, INGEST_LIMITS, RELAY_TIMEOUTS } from '../lambdas/contract/pipeline-limits.ts';
import { PRIMARY_SESSIONS, splitPrimarySessions } from '../lambdas/contract/primary-sessions.ts';
import { RAW_MAIL_EXPIRY_MARGIN_DAYS } from '../lambdas/contract/raw-mail-bucket.ts';
import priceFile from './aws-prices.json' with { type: 'json' };
import measuredFile from './measured-capacity.json' with { type: 'json' };

// ---- the data files, validated once ------------------------------------------------

const priceEntrySchema = z.object({
  service: z.string(),
  item: z.string(),
  unit: z.string(),
  usd: z.record(z.string(), z.number().nonnegative()),
  source: z.url(),
  status: z.string(),
});

const priceTableSchema = z.object({
  checkedOn: z.iso.date(),
  currency: z.literal('USD'),
  freeTier: z.string(),
  regions: z.record(z.string(), z.string()),
  prices: z.object({
    'ses.inboundMessage': priceEntrySchema,
    'ses.inboundChunk': priceEntrySchema,
    'ses.outboundMessage': priceEntrySchema,
    's3.storage': priceEntrySchema,
    's3.put': priceEntrySchema,
    's3.get': priceEntrySchema,
    'dynamodb.write': priceEntrySchema,
    'dynamodb.read': priceEntrySchema,
    'dynamodb.storage': priceEntrySchema,
    'dynamodb.pitr': priceEntrySchema,
    'lambda.armGbSecond': priceEntrySchema,
    'lambda.request': priceEntrySchema,
    'sqs.request': priceEntrySchema,
    'sns.publish': priceEntrySchema,
    'apigateway.httpRequest': priceEntrySchema,
    'cognito.federatedMau': priceEntrySchema,
    'cognito.essentialsMau': priceEntrySchema,
    'sms.outboundPart': priceEntrySchema,
    'kms.key': priceEntrySchema,
    'kms.request': priceEntrySchema,
    'logs.ingest': priceEntrySchema,
    'logs.storage': priceEntrySchema,
    'cloudwatch.alarm': priceEntrySchema,
    'cloudwatch.dashboard': priceEntrySchema,
    'cloudwatch.metric': priceEntrySchema,
    'secretsmanager.secret': priceEntrySchema,
    'secretsmanager.apiCall': priceEntrySchema,
    'nat.hour': priceEntrySchema,
    'nat.gb': priceEntrySchema,
    'vpc.publicIpv4': priceEntrySchema,
    'dataTransfer.internetOut': priceEntrySchema,
    'waf.webAcl': priceEntrySchema,
    'waf.rule': priceEntrySchema,
    'waf.request': priceEntrySchema,
    'cloudfront.httpsRequest': priceEntrySchema,
    'cloudfront.dataOut': priceEntrySchema,
  }),
});

export type PriceTable = z.output<typeof priceTableSchema>;
export type PriceKey = keyof PriceTable['prices'];

const split = z.object({ base: z.number(), perRecipient: z.number() });
const stepSchema = z.object({
  writeRequestUnits: split,
  readRequestUnits: split,
  dynamoDbRequests: split,
  /** Requests sent while none was in flight: what the handler waits (older files: one per request). */
  dynamoDbRoundTripWaits: split.optional(),
  s3HeadRequests: split,
  s3GetRequests: split,
  sqsSendRequests: split,
  logBytes: split,
});

const measuredSchema = z.object({
  measuredAt: z.iso.datetime(),
  how: z.string(),
  messageMix: z.object({ source: z.string(), meanRawKiB: z.number() }),
  perMessage: z.object({
    ingest: stepSchema,
    forwardDelivered: stepSchema,
    storedBytes: z.object({ table: split, lookupIndex: split, gates: split }),
  }),
});

export type MeasuredCapacity = z.output<typeof measuredSchema>;

/** The ingest CPU speed of the last `npm run bench`, if it ran that section. */
const benchSchema = z.object({
  measuredAt: z.string(),
  ingest: z.object({ memoryIndex: z.object({ mibPerSecond: z.number().positive() }) }),
});

export const PRICE_TABLE: PriceTable = priceTableSchema.parse(priceFile);
export const MEASURED: MeasuredCapacity = measuredSchema.parse(measuredFile);
const bench = benchSchema.safeParse(benchResults);

// ---- what shadowmail deploys (lib/) and how it behaves -------------------------------

/** Hours and days of AWS's billing month. */
export const HOURS_PER_MONTH = 730;
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;
const GIB = 2 ** 30;
const KIB = 1024;

/**
 * The resources a deployment holds, as lib/ defines them (read 2026-11-28; change here
 * when the stacks change: the counts are not derived from a synth, which takes seconds).
 */
export const DEPLOYMENT = {
  /** The mail key (raw-mail bucket, inbound SNS topic) and the alarm topic's key (lib/constructs/raw-mail-bucket.ts, monitoring.ts). */
  kmsKeys: 2,
  /** ingest, forward, resend (lib/stacks/stateful-stack.ts), each polled by a Lambda event source. */
  polledQueues: 3,
  /**
   * lib/constructs/monitoring.ts: a dead-letter alarm per dead-letter queue (4: ingest, forward,
   * resend, the SNS subscription's), forward queue backlog, forward backlog age, recipients failed,
   * ingest errors (4), errors and throttles of ingest, forward, resend and webmail (8), webmail API
   * 5xx (1), webmail SES bounces and complaints/rejects (2), smart-host configuration faults of
   * forward and resend (2).
   */
  alarms: 21,
  dashboards: 1,
  /** EMF metrics the handlers publish (lambdas/handlers: ingest 3, forward 5, resend 6), dimension `service`. */
  customMetrics: 14,
  /** The webmail session secret (lib/constructs/webmail.ts) and the smart host's credentials (config smartHost.authSecretArn); an Entra ID client secret adds one. */
  secrets: 2,
  /** MailFunction's log retention (lib/constructs/mail-function.ts: ONE_MONTH). */
  logRetentionDays: 30,
  /** VPC flow logs of the egress network (lib/constructs/egress-network.ts: THREE_MONTHS), only with the NAT gateway. */
  flowLogRetentionDays: 90,
  ingestMemoryMiB: INGEST_LIMITS.memoryMiB,
  forwardMemoryMiB: FORWARD_LIMITS.memoryMiB,
  /** At most this many forward invocations run at once (the forward's share of the default smartHost.maxSessions): it bounds the time an outage can bill. */
  forwardMaxConcurrency: splitPrimarySessions(PRIMARY_SESSIONS.default).forward,
  /** The rate-based rules of lib/constructs/webmail-firewall.ts (webmail.waf): per address, per address without session, per session. */
  wafRules: 3,
  /** lib/constructs/webmail.ts WEBMAIL_LIMITS.memoryMiB (not imported: that module loads half of aws-cdk-lib). */
  webmailMemoryMiB: 1024,
  /** Raw mail expires this long after the index forgets it (lib/constructs/raw-mail-bucket.ts). */
  rawExpiryMarginDays: RAW_MAIL_EXPIRY_MARGIN_DAYS,
  /** Once-gates are kept 30 days whatever the retention (ports/once-gate.ts DEFAULT_GATE_RETENTION_SECONDS). */
  gateRetentionDays: 30,
  /** Forward retry delays (lambdas/wiring/env.ts defaults). */
  retryBaseSeconds: 60,
  retryMaxDelaySeconds: 900,
} as const;

/** What could not be measured on this machine: named, so the output can show them. */
export const ASSUMPTIONS = {
  /** Lambda gives one full vCPU at 1,769 MB and a proportional share below (AWS Lambda docs). */
  fullVcpuMemoryMiB: 1769,
  /** Ingest parse speed on a full core, used when bench/results.json has none. */
  fallbackIngestMiBPerSecond: 20,
  /** One DynamoDB request inside the region, round trip. */
  dynamoDbRequestMs: 8,
  s3HeadMs: 20,
  s3GetFirstByteMs: 30,
  s3ReadMiBPerSecond: 60,
  sqsSendMs: 10,
  /** Handler set-up per invocation (Powertools batch processor, metrics flush). */
  invocationOverheadMs: 5,
  /** One SMTP session with the Exchange receive connector over the internet (TCP, EHLO, STARTTLS, AUTH, MAIL/RCPT/DATA, QUIT). */
  smtpSessionMs: 400,
  smtpMiBPerSecond: 5,
  /** A forward attempt while the primary's host is gone waits the relay's connect timeout (lambdas/contract/pipeline-limits.ts). */
  deferredAttemptMs: RELAY_TIMEOUTS.connectionTimeoutMs,
  /** Share of invocations that start a new execution environment; INIT is billed since 2025-08. */
  coldStartShare: 0.05,
  initMs: 700,
  /** The SES notification reaches SQS and Lambda one record per invocation (batch size 1: the worst case at low volume). */
  recordsPerInvocation: 1,
  /** Lambda's SQS event source long-polls with five pollers, 20 s per receive, also when the queue is empty. */
  pollersPerQueue: 5,
  longPollSeconds: 20,
  /** S3 Bucket Keys: KMS sees about 1 % of the object requests. */
  kmsShareOfObjectRequests: 0.01,
  /** SNS reuses the data key of the encrypted inbound topic for up to 5 minutes: at most one KMS request per 5 minutes. */
  snsDataKeyReuseMinutes: 5,
  /** VPC flow log bytes per forward invocation (records both ways for SMTP and the HTTPS calls, 10-minute aggregation). */
  flowLogBytesPerForward: 800,
  /** DynamoDB TTL deletes expired items within days, not at once. */
  ttlLagDays: 2,
  /** Lambda's START, END and REPORT lines per invocation. */
  platformLogBytesPerInvocation: 320,
  /** Webmail (failover on): requests per signed-in user and hour, server time, response size, log bytes. */
  webmailRequestsPerUserHour: 60,
  webmailRequestMs: 150,
  webmailResponseKiB: 40,
  webmailLogBytesPerRequest: 600,
  /** Mail sent from the webmail per signed-in user and hour. */
  sentPerUserHour: 2,
  /** Webmail requests that stream a body or attachment from S3, and read units per webmail request (page of entries, session). */
  webmailS3GetsPerRequest: 0.5,
  webmailReadUnitsPerRequest: 3,
  /** Admin console requests per admin and month in normal operation (trace, resend), and read units per request (trace pages). */
  adminRequestsPerMonth: 300,
  adminReadUnitsPerRequest: 10,
  /** Break-glass sign-in by SMS code: one code per user and outage day (the webmail session lasts 8 h), one part each. */
  codeSignInsPerUserDay: 1,
  codeSmsParts: 1,
  /** A failover notice SMS takes at most two parts (lambdas/core/notice-texts.ts MAX_NOTICE_SMS_PARTS); one on, one off per failover month. */
  noticeSmsParts: 2,
  noticesPerFailover: 2,
} as const;

// ---- inputs ----------------------------------------------------------------------------

export const COST_DEFAULTS = {
  messagesPerUserPerMonth: 1100,
  averageSizeKB: 75,
  retentionDays: 28,
  region: 'eu-west-1',
  natGateway: false,
  failoverHoursPerMonth: 0,
  recipientsPerMessage: 1,
  admins: 2,
  webmailUserShare: 1,
  codeSignInShare: 0,
  smsNotices: false,
  waf: false,
} as const;

export interface CostInputs {
  /** Mailboxes (people) the deployment covers. */
  users: number;
  /** Inbound messages a user receives a month. */
  messagesPerUserPerMonth?: number;
  /** Average size of a received message, KB (1,024 bytes). */
  averageSizeKB?: number;
  retentionDays?: number;
  region?: string;
  /** Fixed egress: the forward function in a VPC behind a NAT gateway. */
  natGateway?: boolean;
  /** Hours a month with failover on (Exchange down, users on the webmail). */
  failoverHoursPerMonth?: number;
  /** Average envelope recipients of one received message: SES, S3 and SQS count messages, the index counts recipients. */
  recipientsPerMessage?: number;
  /** Admins who sign in to the console in a normal month. */
  admins?: number;
  /** Share of users who sign in to the webmail in a month with a failover. */
  webmailUserShare?: number;
  /** Share of those webmail users who sign in with an SMS code (AD FS down too) instead of through the IdP. */
  codeSignInShare?: number;
  /** Failover notices by SMS to every user (breakGlass.notices.sms): one when failover goes on, one when it goes off. */
  smsNotices?: boolean;
  /** USD per SMS part; default the price table's (Germany). SMS prices depend on the destination country. */
  smsPriceUSD?: number;
  /** CloudFront + WAF in front of the webmail (config webmail.waf). */
  waf?: boolean;
}

export class CostInputError extends Error {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'CostInputError';
  }
}

const inputSchema = z.object({
  users: z
    .number({ error: 'a number of users is required' })
    .int('a whole number')
    .min(1, 'at least 1')
    .max(1_000_000, 'at most 1,000,000'),
  messagesPerUserPerMonth: z
    .number()
    .min(0, 'not negative')
    .max(1_000_000, 'at most 1,000,000')
    .default(COST_DEFAULTS.messagesPerUserPerMonth),
  averageSizeKB: z
    .number()
    .min(1, 'at least 1 KB')
    .max(40 * 1024, 'SES receives at most 40 MB')
    .default(COST_DEFAULTS.averageSizeKB),
  retentionDays: z
    .number()
    .int('a whole number of days')
    .min(1, 'at least 1')
    .max(3650, 'at most 3650')
    .default(COST_DEFAULTS.retentionDays),
  region: z.string().default(COST_DEFAULTS.region),
  natGateway: z.boolean().default(COST_DEFAULTS.natGateway),
  failoverHoursPerMonth: z
    .number()
    .min(0, 'not negative')
    .max(HOURS_PER_MONTH, `at most ${HOURS_PER_MONTH} (a whole month)`)
    .default(COST_DEFAULTS.failoverHoursPerMonth),
  recipientsPerMessage: z.number().min(1, 'at least 1').max(1000, 'at most 1000').default(COST_DEFAULTS.recipientsPerMessage),
  admins: z.number().int('a whole number').min(0, 'not negative').max(10_000, 'at most 10,000').default(COST_DEFAULTS.admins),
  webmailUserShare: z.number().min(0, 'from 0').max(1, 'to 1').default(COST_DEFAULTS.webmailUserShare),
  codeSignInShare: z.number().min(0, 'from 0').max(1, 'to 1').default(COST_DEFAULTS.codeSignInShare),
  smsNotices: z.boolean().default(COST_DEFAULTS.smsNotices),
  smsPriceUSD: z.number().min(0, 'not negative').max(10, 'at most 10 USD per part').optional(),
  waf: z.boolean().default(COST_DEFAULTS.waf),
});

export type ResolvedCostInputs = z.output<typeof inputSchema>;

export function resolveInputs(inputs: CostInputs, prices: PriceTable = PRICE_TABLE): ResolvedCostInputs {
  const parsed = inputSchema.strict().safeParse(inputs);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.map(String).join('.') || 'inputs';
    const detail =
      issue.code === 'unrecognized_keys'
        ? 'is not a known input'
        : issue.code === 'invalid_type' && issue.expected === 'number'
          ? 'must be a number'
          : issue.message;
    throw new CostInputError(field, detail);
  }
  const resolved = parsed.data;
  if (!(resolved.region in prices.regions)) {
    throw new CostInputError(
      'region',
      `no prices for ${JSON.stringify(resolved.region)}; the price table has ${Object.keys(prices.regions).join(', ')}`,
    );
  }
  return resolved;
}

// ---- output ----------------------------------------------------------------------------

export interface LineItem {
  service: string;
  item: string;
  /** In `unit`s: the price table's unit, so monthlyUSD = quantity × unitPrice. */
  quantity: number;
  unit: string;
  /** USD per unit, from the price table for the region. */
  unitPrice: number;
  monthlyUSD: number;
  /** How the quantity came about. */
  note: string;
  priceKey: PriceKey;
}

export interface CostEstimate {
  inputs: ResolvedCostInputs;
  regionName: string;
  lineItems: LineItem[];
  totalUSD: number;
  perUserUSD: number;
  byService: Record<string, number>;
  /** SMS of the break-glass sign-in and the notices: the price used, and the cost of one outage day. */
  sms: {
    pricePerPartUSD: number;
    /** Where the price comes from: the price table (Germany) or the --sms-price given. */
    priceFrom: string;
    codePartsPerOutageDay: number;
    noticePartsPerFailover: number;
    /** Codes of one outage day plus the on/off notices of one failover (when SMS notices are on). */
    perOutageDayUSD: number;
  };
  /** Volumes the line items derive from. */
  volumes: {
    messagesPerMonth: number;
    deliveriesPerMonth: number;
    messagesDuringFailover: number;
    deferredForwardAttempts: number;
    webmailRequests: number;
    rawStoredGB: number;
    dynamoDbStoredGB: number;
  };
  priceTable: {
    checkedOn: string;
    freeTier: string;
    sources: Array<{ key: PriceKey; service: string; item: string; source: string; status: string }>;
  };
  measured: { measuredAt: string; how: string; messageMix: string; lambdaCpu: string };
  assumptions: typeof ASSUMPTIONS;
  deployment: typeof DEPLOYMENT;
}

export interface ModelData {
  prices: PriceTable;
  measured: MeasuredCapacity;
  /** Ingest parse speed on a full core (MiB/s) and where the figure comes from. */
  ingestCpu: { mibPerSecond: number; source: string };
}

export const MODEL_DATA: ModelData = {
  prices: PRICE_TABLE,
  measured: MEASURED,
  ingestCpu: bench.success
    ? {
        mibPerSecond: bench.data.ingest.memoryIndex.mibPerSecond,
        source: `bench/results.json ingest.memoryIndex.mibPerSecond (measured ${bench.data.measuredAt})`,
      }
    : { mibPerSecond: ASSUMPTIONS.fallbackIngestMiBPerSecond, source: 'assumed (bench/results.json has no ingest figure)' },
};

// ---- the model -------------------------------------------------------------------------

/** The monthly AWS cost of one shadowmail deployment. Throws CostInputError on bad input. */
export function estimateMonthlyCost(rawInputs: CostInputs, data: ModelData = MODEL_DATA): CostEstimate {
  const inputs = resolveInputs(rawInputs, data.prices);
  const { region } = inputs;
  const m = data.measured.perMessage;
  const a = ASSUMPTIONS;
  const d = DEPLOYMENT;
  const r = inputs.recipientsPerMessage;
  const perMessage = (value: { base: number; perRecipient: number }) => value.base + r * value.perRecipient;

  // Volumes
  const deliveries = inputs.users * inputs.messagesPerUserPerMonth;
  const messages = deliveries / r;
  const sizeMiB = inputs.averageSizeKB / KIB;
  const sizeGB = inputs.averageSizeKB / (KIB * KIB);
  const failoverShare = inputs.failoverHoursPerMonth / HOURS_PER_MONTH;
  const messagesDuringFailover = messages * failoverShare;
  const deferredAttempts = messagesDuringFailover * meanDeferredAttempts(inputs.failoverHoursPerMonth * 3600);
  const forwardAttempts = messages + deferredAttempts;
  const webmailUsers = inputs.failoverHoursPerMonth > 0 ? Math.round(inputs.users * inputs.webmailUserShare) : 0;
  const webmailRequests = webmailUsers * inputs.failoverHoursPerMonth * a.webmailRequestsPerUserHour;
  const adminRequests = inputs.admins * a.adminRequestsPerMonth;
  const httpRequests = webmailRequests + adminRequests;
  const sentMessages = webmailUsers * inputs.failoverHoursPerMonth * a.sentPerUserHour;
  // Break-glass: users signing in with an SMS code, the codes per outage day, the notices.
  const codeUsers = Math.round(webmailUsers * inputs.codeSignInShare);
  const outageDays = Math.ceil(inputs.failoverHoursPerMonth / 24);
  const codePartsPerDay = codeUsers * a.codeSignInsPerUserDay * a.codeSmsParts;
  const codeParts = codePartsPerDay * outageDays;
  const noticePartsPerFailover = inputs.smsNotices ? inputs.users * a.noticesPerFailover * a.noticeSmsParts : 0;
  const noticeParts = inputs.failoverHoursPerMonth > 0 ? noticePartsPerFailover : 0;
  const tableSmsPrice = data.prices.prices['sms.outboundPart'].usd[region];
  const smsPrice = inputs.smsPriceUSD ?? tableSmsPrice ?? 0;

  const items: LineItem[] = [];
  const add = (key: PriceKey, item: string, quantity: number, note: string, priceOverride?: number) => {
    const entry = data.prices.prices[key];
    const unitPrice = priceOverride ?? entry.usd[region];
    if (unitPrice === undefined) throw new CostInputError('region', `the price table has no ${key} price for ${region}`);
    items.push({
      service: entry.service,
      item,
      quantity,
      unit: entry.unit,
      unitPrice,
      monthlyUSD: quantity * unitPrice,
      note,
      priceKey: key,
    });
  };
  const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits });

  // SES receiving, and its SNS notification to the ingest queue
  const chunksPerMessage = Math.ceil(inputs.averageSizeKB / 256);
  add(
    'ses.inboundMessage',
    'emails received',
    messages / 1000,
    `${fmt(messages)} messages (${fmt(deliveries)} deliveries ÷ ${r} recipients per message)`,
  );
  add(
    'ses.inboundChunk',
    'incoming mail chunks (256 KB)',
    (messages * chunksPerMessage) / 1000,
    `${chunksPerMessage} chunk(s) of 256 KB per ${inputs.averageSizeKB} KB message`,
  );
  add(
    'sns.publish',
    'receipt notifications',
    messages / 1e6,
    'one SES receipt notification per message to the ingest topic; delivery to SQS is free',
  );

  // S3: SES writes, ingest HEAD + GET, forward GET (each delivered or attempted forward that reads), webmail bodies
  const rawStoredGB = (messages / DAYS_PER_MONTH) * (inputs.retentionDays + d.rawExpiryMarginDays) * sizeGB;
  const s3Gets =
    messages * (perMessage(m.ingest.s3HeadRequests) + perMessage(m.ingest.s3GetRequests)) +
    messages * perMessage(m.forwardDelivered.s3GetRequests) +
    webmailRequests * a.webmailS3GetsPerRequest;
  add(
    's3.storage',
    'raw mail storage (Standard)',
    rawStoredGB,
    `raw mail kept ${inputs.retentionDays} + ${d.rawExpiryMarginDays} days (lifecycle margin): ${fmt(messages / DAYS_PER_MONTH)} messages a day × ${inputs.averageSizeKB} KB`,
  );
  add('s3.put', 'PUT requests', messages / 1000, 'SES writes each message once');
  add(
    's3.get',
    'GET and HEAD requests',
    s3Gets / 1000,
    'measured: ingest 1 HEAD + 1 GET, forward 1 GET per message; webmail: a body or attachment on every second request (assumed)',
  );

  // KMS: the bucket key; S3 Bucket Keys keep requests to a sliver of the object requests
  add('kms.key', 'customer managed key', d.kmsKeys, 'the mail key (bucket, inbound topic) and the alarm topic key, rotation on');
  const snsKeyRequests = (HOURS_PER_MONTH * 60) / a.snsDataKeyReuseMinutes;
  add(
    'kms.request',
    'requests',
    ((messages + s3Gets) * a.kmsShareOfObjectRequests + snsKeyRequests) / 10_000,
    `about ${a.kmsShareOfObjectRequests * 100} % of the object PUTs and GETs (S3 Bucket Keys) + the inbound topic's data keys (one per ${a.snsDataKeyReuseMinutes} min)`,
  );

  // DynamoDB: measured units per message and recipient
  const wru =
    messages * (perMessage(m.ingest.writeRequestUnits) + perMessage(m.forwardDelivered.writeRequestUnits)) +
    deferredAttempts * perMessage(m.forwardDelivered.writeRequestUnits);
  const webmailReadUnits = webmailRequests * a.webmailReadUnitsPerRequest;
  const rru =
    messages * (perMessage(m.ingest.readRequestUnits) + perMessage(m.forwardDelivered.readRequestUnits)) +
    deferredAttempts * perMessage(m.forwardDelivered.readRequestUnits) +
    webmailReadUnits +
    adminRequests * a.adminReadUnitsPerRequest;
  add(
    'dynamodb.write',
    'write request units',
    wru / 1e6,
    `measured ${fmt(perMessage(m.ingest.writeRequestUnits), 1)} WRU ingest + ${fmt(perMessage(m.forwardDelivered.writeRequestUnits), 1)} WRU forward per message at ${r} recipient(s); ${fmt(deferredAttempts)} deferred forward attempts`,
  );
  add(
    'dynamodb.read',
    'read request units',
    rru / 1e6,
    `measured ${fmt(perMessage(m.ingest.readRequestUnits), 1)} RRU ingest + ${fmt(perMessage(m.forwardDelivered.readRequestUnits), 1)} RRU forward per message; webmail ${a.webmailReadUnitsPerRequest} RRU per request, admin ${a.adminReadUnitsPerRequest}`,
  );
  const perDay = messages / DAYS_PER_MONTH;
  const retainedDays = inputs.retentionDays + a.ttlLagDays;
  const tableBytes = perDay * (retainedDays * perMessage(m.storedBytes.table) + d.gateRetentionDays * perMessage(m.storedBytes.gates));
  const indexBytes = perDay * retainedDays * perMessage(m.storedBytes.lookupIndex);
  const dynamoDbStoredGB = (tableBytes + indexBytes) / GIB;
  add(
    'dynamodb.storage',
    'storage (table and index)',
    dynamoDbStoredGB,
    `measured ${fmt(perMessage(m.storedBytes.table) + perMessage(m.storedBytes.lookupIndex))} bytes of items per message kept ${inputs.retentionDays} + ${a.ttlLagDays} days (TTL lag), gates 30 days`,
  );
  add('dynamodb.pitr', 'point-in-time recovery', tableBytes / GIB, 'continuous backups of the table (indexes not counted)');

  // Lambda
  const cpuShare = (memoryMiB: number) => Math.min(1, memoryMiB / a.fullVcpuMemoryMiB);
  const s3GetMs = a.s3GetFirstByteMs + (sizeMiB / a.s3ReadMiBPerSecond) * 1000;
  const ingestMs =
    a.invocationOverheadMs +
    ((sizeMiB / data.ingestCpu.mibPerSecond) * 1000) / cpuShare(d.ingestMemoryMiB) +
    perMessage(m.ingest.dynamoDbRoundTripWaits ?? m.ingest.dynamoDbRequests) * a.dynamoDbRequestMs +
    a.s3HeadMs +
    s3GetMs +
    a.sqsSendMs;
  const forwardMs =
    a.invocationOverheadMs +
    perMessage(m.forwardDelivered.dynamoDbRoundTripWaits ?? m.forwardDelivered.dynamoDbRequests) * a.dynamoDbRequestMs +
    s3GetMs +
    a.smtpSessionMs +
    (sizeMiB / a.smtpMiBPerSecond) * 1000;
  const invocations = {
    ingest: messages / a.recordsPerInvocation,
    forward: forwardAttempts / a.recordsPerInvocation,
    webmail: httpRequests,
  };
  const allInvocations = invocations.ingest + invocations.forward + invocations.webmail;
  // While the primary is down every attempt may wait the connect timeout, but no more
  // than forwardMaxConcurrency invocations run at once: the outage bills at most that.
  const deferredSeconds = Math.min(
    (deferredAttempts * a.deferredAttemptMs) / 1000,
    d.forwardMaxConcurrency * inputs.failoverHoursPerMonth * 3600,
  );
  const gbSeconds = (count: number, ms: number, memoryMiB: number) =>
    count * ((ms + a.coldStartShare * a.initMs) / 1000) * (memoryMiB / 1024);
  add(
    'lambda.request',
    'requests',
    allInvocations / 1e6,
    `${fmt(invocations.ingest)} ingest + ${fmt(invocations.forward)} forward + ${fmt(invocations.webmail)} webmail/admin invocations`,
  );
  add(
    'lambda.armGbSecond',
    'duration, ingest',
    gbSeconds(invocations.ingest, ingestMs, d.ingestMemoryMiB),
    `ingest at ${d.ingestMemoryMiB} MB: ~${fmt(ingestMs)} ms per message (CPU from ${data.ingestCpu.source}; AWS latencies assumed)`,
  );
  add(
    'lambda.armGbSecond',
    'duration, forward',
    gbSeconds(messages, forwardMs, d.forwardMemoryMiB) + deferredSeconds * (d.forwardMemoryMiB / 1024),
    `forward at ${d.forwardMemoryMiB} MB: ~${fmt(forwardMs)} ms per delivery (SMTP session assumed ${a.smtpSessionMs} ms); ` +
      `${fmt(deferredAttempts)} deferred attempts of up to ${a.deferredAttemptMs / 1000} s, at most ${d.forwardMaxConcurrency} at a time: ${fmt(deferredSeconds)} s`,
  );
  add(
    'lambda.armGbSecond',
    'duration, webmail',
    gbSeconds(httpRequests, a.webmailRequestMs, d.webmailMemoryMiB),
    `webmail at ${d.webmailMemoryMiB} MB: ${fmt(httpRequests)} requests × ${a.webmailRequestMs} ms`,
  );

  // SQS: per message send + receive + delete on the ingest queue and on the forward queue,
  // the same for every deferred attempt; plus the pollers' empty receives on every queue.
  const sqsMessageRequests = messages * 3 + forwardAttempts * 3;
  add(
    'sqs.request',
    'requests for messages',
    sqsMessageRequests / 1e6,
    'send, receive and delete of the SES notification and of each forward job (one 64 KB chunk each)',
  );
  const idlePolls = d.polledQueues * a.pollersPerQueue * ((HOURS_PER_MONTH * 3600) / a.longPollSeconds);
  add(
    'sqs.request',
    'empty receives of the Lambda pollers',
    idlePolls / 1e6,
    `${d.polledQueues} queues × ${a.pollersPerQueue} pollers, one ${a.longPollSeconds} s long poll each: billed even when empty`,
  );

  // Webmail and admin console: HTTP API, Cognito, SES sending
  add(
    'apigateway.httpRequest',
    'HTTP API requests',
    httpRequests / 1e6,
    `${fmt(webmailRequests)} webmail requests (${webmailUsers} users × ${inputs.failoverHoursPerMonth} h × ${a.webmailRequestsPerUserHour}/h) + ${fmt(adminRequests)} admin`,
  );
  add(
    'cognito.federatedMau',
    'federated monthly active users',
    webmailUsers - codeUsers + inputs.admins,
    `${webmailUsers - codeUsers} webmail users in a month with failover + ${inputs.admins} admins, signed in through AD FS / Entra ID`,
  );
  add(
    'cognito.essentialsMau',
    'break-glass monthly active users (SMS code)',
    codeUsers,
    `${codeUsers} webmail users (${inputs.codeSignInShare * 100} %) sign in with an SMS code while AD FS is down too; normal months: none`,
  );
  // SMS: the break-glass codes and the failover notices, at the destination country's price.
  add(
    'sms.outboundPart',
    'SMS sign-in codes',
    codeParts,
    `${codeUsers} users × ${outageDays} outage day(s) × ${a.codeSignInsPerUserDay} code of ${a.codeSmsParts} part`,
    smsPrice,
  );
  add(
    'sms.outboundPart',
    'SMS failover notices',
    noticeParts,
    inputs.smsNotices
      ? `${inputs.users} users × ${a.noticesPerFailover} notices (on, off) × ${a.noticeSmsParts} parts in a month with failover`
      : 'off (breakGlass.notices.sms false)',
    smsPrice,
  );
  add(
    'ses.outboundMessage',
    'emails sent (webmail)',
    sentMessages / 1000,
    `${fmt(sentMessages)} replies and forwards from the webmail (${a.sentPerUserHour} per user and hour of failover)`,
  );

  // CloudWatch
  const logBytes =
    messages * (perMessage(m.ingest.logBytes) + perMessage(m.forwardDelivered.logBytes)) +
    deferredAttempts * perMessage(m.forwardDelivered.logBytes) +
    allInvocations * a.platformLogBytesPerInvocation +
    httpRequests * a.webmailLogBytesPerRequest;
  const logGB = logBytes / GIB;
  add(
    'logs.ingest',
    'logs ingested',
    logGB,
    `measured ${fmt(perMessage(m.ingest.logBytes) + perMessage(m.forwardDelivered.logBytes))} bytes of handler logs and EMF metrics per message + ${a.platformLogBytesPerInvocation} bytes of Lambda lines per invocation`,
  );
  add(
    'logs.storage',
    'logs stored',
    logGB * (d.logRetentionDays / DAYS_PER_MONTH),
    `${d.logRetentionDays} days retention (billed compressed: this uncompressed figure is an upper bound)`,
  );
  add('cloudwatch.alarm', 'alarms', d.alarms, 'backlog, dead-letter queues, function errors (planned set)');
  add('cloudwatch.dashboard', 'dashboard', d.dashboards, 'one operations dashboard (planned)');
  add('cloudwatch.metric', 'custom metrics', d.customMetrics, 'EMF metrics of the ingest, forward and resend handlers');

  // Secrets Manager: read once per cold start of the forward function
  add('secretsmanager.secret', 'secrets', d.secrets, 'webmail session secret, smart-host credentials');
  add(
    'secretsmanager.apiCall',
    'API calls',
    ((invocations.forward + invocations.webmail) * a.coldStartShare) / 10_000,
    'one GetSecretValue per forward or webmail cold start',
  );

  // Traffic out: the forward's SMTP to Exchange, webmail pages
  const smtpGB = messages * sizeGB;
  const webmailGB = (webmailRequests * a.webmailResponseKiB) / (KIB * KIB);
  // With webmail.waf the pages leave through CloudFront (origin fetches from AWS are free), at CloudFront's rate.
  add(
    'dataTransfer.internetOut',
    'out to the internet',
    inputs.waf ? smtpGB : smtpGB + webmailGB,
    inputs.waf
      ? `${fmt(smtpGB, 1)} GB SMTP to the primary (webmail responses leave through CloudFront)`
      : `${fmt(smtpGB, 1)} GB SMTP to the primary + ${fmt(webmailGB, 1)} GB webmail responses`,
  );

  if (inputs.waf) {
    const edgeRequests = `${fmt(httpRequests)} webmail and admin requests; a flood is billed too, blocked or not`;
    add('waf.webAcl', 'web ACL', 1, "the webmail's CloudFront web ACL (us-east-1)");
    add('waf.rule', 'rate-based rules', d.wafRules, 'per address, per address without session, per session');
    add('waf.request', 'requests inspected', httpRequests / 1e6, edgeRequests);
    add('cloudfront.httpsRequest', 'HTTPS requests', httpRequests / 10_000, edgeRequests);
    add('cloudfront.dataOut', 'out to the internet', webmailGB, `${fmt(webmailGB, 1)} GB webmail responses`);
    add('secretsmanager.secret', 'origin secret', 1, 'the header CloudFront adds (lib/constructs/webmail.ts OriginSecret)');
  }

  if (inputs.natGateway) {
    add('nat.hour', 'NAT gateway hours', HOURS_PER_MONTH, 'one NAT gateway, all month');
    add('nat.gb', 'NAT gateway data processed', smtpGB, "the forward's SMTP traffic (S3 and DynamoDB through free gateway endpoints)");
    add('vpc.publicIpv4', 'public IPv4 address', HOURS_PER_MONTH, "the NAT gateway's Elastic IP that Exchange allow-lists");
    const flowLogGB = (forwardAttempts * a.flowLogBytesPerForward) / GIB;
    add(
      'logs.ingest',
      'VPC flow logs ingested',
      flowLogGB,
      `about ${a.flowLogBytesPerForward} bytes of flow records per forward invocation`,
    );
    add(
      'logs.storage',
      'VPC flow logs stored',
      flowLogGB * (d.flowLogRetentionDays / DAYS_PER_MONTH),
      `${d.flowLogRetentionDays} days retention`,
    );
  }

  const totalUSD = items.reduce((sum, line) => sum + line.monthlyUSD, 0);
  const byService: Record<string, number> = {};
  for (const line of items) byService[line.service] = (byService[line.service] ?? 0) + line.monthlyUSD;
  const usedKeys = [...new Set(items.map((line) => line.priceKey))];
  return {
    inputs,
    regionName: data.prices.regions[region]!,
    lineItems: items,
    totalUSD,
    perUserUSD: totalUSD / inputs.users,
    byService,
    sms: {
      pricePerPartUSD: smsPrice,
      priceFrom: inputs.smsPriceUSD === undefined ? "the price table's rate for Germany (sms.outboundPart: see its status)" : 'as given',
      codePartsPerOutageDay: codePartsPerDay,
      noticePartsPerFailover,
      perOutageDayUSD: (codePartsPerDay + noticePartsPerFailover) * smsPrice,
    },
    volumes: {
      messagesPerMonth: messages,
      deliveriesPerMonth: deliveries,
      messagesDuringFailover,
      deferredForwardAttempts: deferredAttempts,
      webmailRequests,
      rawStoredGB,
      dynamoDbStoredGB,
    },
    priceTable: {
      checkedOn: data.prices.checkedOn,
      freeTier: data.prices.freeTier,
      sources: usedKeys.map((key) => {
        const entry = data.prices.prices[key];
        return { key, service: entry.service, item: entry.item, source: entry.source, status: entry.status };
      }),
    },
    measured: {
      measuredAt: data.measured.measuredAt,
      how: data.measured.how,
      messageMix: `${data.measured.messageMix.source}; mean ${data.measured.messageMix.meanRawKiB} KiB`,
      lambdaCpu: data.ingestCpu.source,
    },
    assumptions: ASSUMPTIONS,
    deployment: DEPLOYMENT,
  };
}

/**
 * Forward attempts that fail while the primary is down, averaged over messages arriving
 * at any moment of an outage of `outageSeconds`: the first attempt at once, then after
 * retryBase, 2×, 4×, … up to retryMaxDelay (lambdas/core/forward.ts retryDelaySeconds).
 */
export function meanDeferredAttempts(outageSeconds: number): number {
  if (outageSeconds <= 0) return 0;
  const samples = 400;
  let total = 0;
  for (let sample = 0; sample < samples; sample += 1) {
    const remaining = ((sample + 0.5) / samples) * outageSeconds;
    let elapsed = 0;
    let attempts = 0;
    while (elapsed < remaining) {
      attempts += 1;
      const delay = Math.min(DEPLOYMENT.retryBaseSeconds * 2 ** Math.max(0, attempts - 1), DEPLOYMENT.retryMaxDelaySeconds);
      elapsed += delay;
    }
    total += attempts;
  }
  return total / samples;
}
