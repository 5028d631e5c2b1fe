// The CDK stacks as CloudFormation: what each construct puts in the templates
// (bucket, table, queues, functions, event sources, grants), the configuration's
// validation, and cdk-nag wired in so that an unacknowledged finding fails synth.
// Bundling is skipped (`aws:cdk:bundling-stacks: []`); test/system/bin/shadowmail.test.ts
// synthesizes with the real esbuild bundles.
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../../lambdas/contract/environment.ts';
import { MESSAGE_TABLE } from '../../../lambdas/contract/message-table.ts';
import { FORWARD_LIMITS, INGEST_LIMITS, RESEND_LIMITS } from '../../../lambdas/contract/pipeline-limits.ts';
import { RAW_MAIL_EXPIRY_MARGIN_DAYS } from '../../../lambdas/contract/raw-mail-bucket.ts';
import { readAwsForwardEnv, readAwsIngestEnv } from '../../../lambdas/wiring/env.ts';
import { loadConfig, parseConfig, ShadowmailConfigError, type ShadowmailConfigInput, SQS_MAX_RETENTION_DAYS } from '../../../lib/config.ts';
import { TABLE_ACCESS } from '../../../lib/constructs/table-access.ts';
import { VISIBILITY_FACTOR } from '../../../lib/pipeline-limits.ts';
import { buildShadowmail } from '../../../lib/shadowmail-app.ts';
import type { CfnResource } from '../../support/cfn-resource.ts';
import { sesArn } from '../../support/cloudformation.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const EXAMPLE = cdkJson.context.shadowmail as ShadowmailConfigInput;
const DAY = 86_400;
const SAML_IDP = { type: 'saml', metadataUrl: 'https://adfs.corp.example/FederationMetadata/2007-06/FederationMetadata.xml' };
const WEBMAIL = { cognitoDomainPrefix: 'corp-example-shadowmail' };
const RELAY_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shadowmail/smarthost-AbCdEf';

// Every synthesized app writes a cloud assembly; all of them go under one temp dir.
const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-cdk-stacks-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

/** An app with only `context` (App makes its output dir at once, so even unsynthesized apps get one here). */
const contextApp = (context: Record<string, unknown>) => new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context });

/** The cdk.json context (feature flags included) with bundling skipped. */
const newApp = (): App => contextApp({ ...cdkJson.context, 'aws:cdk:bundling-stacks': [] });

function synthesize(config: ShadowmailConfigInput) {
  const app = newApp();
  const stacks = buildShadowmail(app, parseConfig(config));
  return { app, stateful: Template.fromStack(stacks.stateful), stateless: Template.fromStack(stacks.stateless) };
}

type Resource = CfnResource;

/**
 * The one resource of `type` with the logical id `<name><8 hex digits>`: CDK builds
 * logical ids from the construct path (`IngestQueue/Queue` → `IngestQueue…`).
 */
function entry(template: Template, type: string, name: string): [string, Resource] {
  const pattern = new RegExp(`^${name}[0-9A-F]{8}$`);
  const matches = Object.entries(template.findResources(type) as Record<string, Resource>).filter(([id]) => pattern.test(id));
  expect(
    matches.map(([id]) => id),
    `${type} ${name}`,
  ).toHaveLength(1);
  return matches[0]!;
}

const only = (template: Template, type: string, name: string): Resource => entry(template, type, name)[1];
const functionNamed = (template: Template, name: string): Resource => only(template, 'AWS::Lambda::Function', `${name}Function`);

let example: ReturnType<typeof synthesize>;
beforeAll(() => {
  example = synthesize(EXAMPLE);
});

describe('configuration', () => {
  it('reads the example of cdk.json and fills the defaults', () => {
    // Prepare
    const app = contextApp({
      shadowmail: {
        domains: ['Example.COM'],
        smartHost: { host: 'mail.example.com', authSecretArn: RELAY_SECRET },
        identityProvider: SAML_IDP,
        webmail: WEBMAIL,
      },
    });

    // Act
    const fromCdkJson = parseConfig(EXAMPLE);
    const minimal = loadConfig(app.node);

    // Assess
    expect(fromCdkJson).toMatchObject({
      domains: ['example.com'],
      smartHost: { host: 'mail.example.com', port: 10587, tls: 'starttls-required', authSecretArn: expect.any(String) },
    });
    expect(minimal).toEqual({
      stackId: 'shadowmail',
      domains: ['example.com'],
      smartHost: {
        host: 'mail.example.com',
        port: 587,
        tls: 'starttls-required',
        authSecretArn: RELAY_SECRET,
        maxSessions: 10,
        maxMessageBytes: 37_748_736,
      },
      identityProvider: { ...SAML_IDP, name: 'ADFS', emailAttribute: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress' },
      webmail: {
        ...WEBMAIL,
        timeZone: 'Europe/Berlin',
        reservedConcurrency: 20,
        sendLimits: { messagesPerHour: 30, recipientsPerHour: 200, messagesPerDay: 100, recipientsPerDay: 500 },
        sesDailyQuota: 50000,
        rateLimits: {
          read: { ratePerSecond: 100, burst: 200 },
          signIn: { ratePerSecond: 10, burst: 20 },
          send: { ratePerSecond: 5, burst: 10 },
          attach: { ratePerSecond: 5, burst: 10 },
          admin: { ratePerSecond: 10, burst: 20 },
          declare: { ratePerSecond: 1, burst: 5 },
        },
        waf: { enabled: false, requestsPer5MinPerSession: 1500, requestsPer5MinPerIp: 6000, requestsPer5MinPerIpWithoutSession: 600 },
      },
      adminGroup: 'shadowmail-admins',
      forwardBacklogAlarmMinutes: 30,
      subaddressSeparator: '+',
      breakGlass: { staffSmsCodes: true, defaultCountry: 'DE', admins: [], notices: { sms: false, email: false } },
      ses: { takeOverActiveRuleSet: false, existingIdentities: [] },
      inbound: { catchAllDomains: [], recipientCheck: false },
      directorySync: {},
      retentionDays: 28,
      forwardMaxAgeDays: 5,
    });
  });

  it('reads the shipped Entra ID + NAT example file', () => {
    // Act
    const config = loadConfig(contextApp({ 'shadowmail.config': 'config/example-entra-nat.json' }).node, ROOT);

    // Assess
    expect(config).toMatchObject({
      region: 'eu-west-1',
      identityProvider: { type: 'oidc', name: 'EntraID', emailClaim: 'email' },
      natGateway: { vpcCidr: '10.80.0.0/24' },
    });
  });

  const base = {
    domains: ['corp.example'],
    smartHost: { host: 'exchange.corp.example', authSecretArn: RELAY_SECRET },
    identityProvider: SAML_IDP,
    webmail: WEBMAIL,
  };
  const oidc = {
    type: 'oidc',
    issuer: 'https://login.microsoftonline.com/t/v2.0',
    clientId: 'c',
    clientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:entra-AbCdEf',
  };
  it.each([
    ['no configuration at all', undefined, /^shadowmail: is required/],
    ['no domains', { smartHost: base.smartHost }, /^shadowmail\.domains: is required/],
    ['an empty domain list', { ...base, domains: [] }, /^shadowmail\.domains: at least one mail domain/],
    ['a domain that is no domain', { ...base, domains: ['corp example'] }, /^shadowmail\.domains\.0: a mail domain/],
    ['no smart host', { domains: base.domains }, /^shadowmail\.smartHost: is required/],
    ['a port out of range', { ...base, smartHost: { host: 'x.example', port: 70000 } }, /^shadowmail\.smartHost\.port: /],
    ['a port as a string', { ...base, smartHost: { host: 'x.example', port: '587' } }, /^shadowmail\.smartHost\.port: .*expected number/],
    ['an unknown TLS mode', { ...base, smartHost: { host: 'x.example', tls: 'ssl' } }, /^shadowmail\.smartHost\.tls: .*starttls-required/],
    [
      'a partial secret ARN',
      { ...base, smartHost: { host: 'x.example', authSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:relay' } },
      /^shadowmail\.smartHost\.authSecretArn: the complete ARN/,
    ],
    ['a forward window beyond SQS retention', { ...base, forwardMaxAgeDays: 15 }, /^shadowmail\.forwardMaxAgeDays: /],
    [
      'a forward window beyond the retention',
      { ...base, retentionDays: 3, forwardMaxAgeDays: 5 },
      /^shadowmail\.forwardMaxAgeDays: must not exceed retentionDays/,
    ],
    ['a fractional retention', { ...base, retentionDays: 2.5 }, /^shadowmail\.retentionDays: /],
    ['a % subaddress separator (% routing)', { ...base, subaddressSeparator: '%' }, /^shadowmail\.subaddressSeparator: one character/],
    ['two subaddress separators', { ...base, subaddressSeparator: '+-' }, /^shadowmail\.subaddressSeparator: one character/],
    ['a stack id CloudFormation refuses', { ...base, stackId: '1st_stack' }, /^shadowmail\.stackId: a letter/],
    ['a misspelt key', { ...base, retentionDay: 30 }, /^shadowmail\.retentionDay: is not a known setting/],
    [
      'a misspelt smart host key',
      { ...base, smartHost: { host: 'x.example', tlsMode: 'none' } },
      /^shadowmail\.smartHost\.tlsMode: is not a known setting/,
    ],
    ['no identity provider', { ...base, identityProvider: undefined }, /^shadowmail\.identityProvider: is required/],
    ['an unknown identity provider type', { ...base, identityProvider: { type: 'ldap' } }, /^shadowmail\.identityProvider\.type: /],
    [
      'SAML without metadata',
      { ...base, identityProvider: { type: 'saml' } },
      /^shadowmail\.identityProvider\.metadataUrl: give exactly one of metadataUrl/,
    ],
    [
      'SAML with both metadata URL and file',
      { ...base, identityProvider: { ...SAML_IDP, metadataFile: 'fm.xml' } },
      /^shadowmail\.identityProvider\.metadataUrl: give exactly one/,
    ],
    [
      'SAML metadata over plain http',
      { ...base, identityProvider: { type: 'saml', metadataUrl: 'http://adfs.corp.example/fm.xml' } },
      /^shadowmail\.identityProvider\.metadataUrl: an https:\/\/ URL/,
    ],
    [
      'OIDC without its client secret',
      { ...base, identityProvider: { ...oidc, clientSecretArn: undefined } },
      /^shadowmail\.identityProvider\.clientSecretArn: is required/,
    ],
    ['no webmail settings', { ...base, webmail: undefined }, /^shadowmail\.webmail: is required/],
    [
      'a Cognito domain prefix with "aws"',
      { ...base, webmail: { cognitoDomainPrefix: 'corp-aws-mail' } },
      /^shadowmail\.webmail\.cognitoDomainPrefix: must not contain/,
    ],
    [
      'an unknown time zone',
      { ...base, webmail: { ...WEBMAIL, timeZone: 'Mars/Olympus' } },
      /^shadowmail\.webmail\.timeZone: an IANA time zone/,
    ],
    [
      'a region without SES receiving',
      { ...base, region: 'ap-east-1' },
      /^shadowmail\.region: SES does not receive mail in ap-east-1; use one of us-east-1, /,
    ],
    [
      'the opt-in region ap-southeast-3',
      { ...base, region: 'ap-southeast-3' },
      /^shadowmail\.region: ap-southeast-3 is an opt-in region, and SES does not support S3 buckets in opt-in regions as a destination for inbound mail/,
    ],
    [
      'the opt-in region eu-south-1',
      { ...base, region: 'eu-south-1' },
      /^shadowmail\.region: eu-south-1 is an opt-in region, and SES does not support S3 buckets in opt-in regions/,
    ],
    [
      'the opt-in region il-central-1',
      { ...base, region: 'il-central-1' },
      /^shadowmail\.region: il-central-1 is an opt-in region, and SES does not support S3 buckets in opt-in regions/,
    ],
    [
      'an existing SES identity that is no domain of the deployment',
      { ...base, ses: { existingIdentities: ['other.example'] } },
      /^shadowmail\.ses\.existingIdentities\.0: other\.example is not one of domains \(corp\.example\)/,
    ],
    [
      'an existing SES identity named twice',
      { ...base, ses: { existingIdentities: ['corp.example', 'Corp.Example'] } },
      /^shadowmail\.ses\.existingIdentities: existingIdentities must not repeat/,
    ],
    [
      'an existing SES identity that is no domain name',
      { ...base, ses: { existingIdentities: ['corp example'] } },
      /^shadowmail\.ses\.existingIdentities\.0: a mail domain/,
    ],
    [
      'a MAIL FROM subdomain that is no DNS label',
      { ...base, ses: { mailFromSubdomain: 'bounce.mail' } },
      /^shadowmail\.ses\.mailFromSubdomain: one DNS label such as bounce/,
    ],
    [
      'a MAIL FROM domain that receives mail',
      { ...base, domains: ['corp.example', 'mail.corp.example'], ses: { mailFromSubdomain: 'mail' } },
      /^shadowmail\.ses\.mailFromSubdomain: mail\.corp\.example is one of domains: a MAIL FROM domain must not receive mail/,
    ],
    ['an alarm address that is none', { ...base, alarmEmail: 'it-alerts' }, /^shadowmail\.alarmEmail: an e-mail address/],
    [
      'an Elastic IP that is no allocation id',
      { ...base, natGateway: { elasticIpAllocationId: '203.0.113.7' } },
      /^shadowmail\.natGateway\.elasticIpAllocationId: an Elastic IP allocation id/,
    ],
    [
      'fewer sessions than forward and resend need',
      { ...base, smartHost: { host: 'x.example', maxSessions: 3 } },
      /^shadowmail\.smartHost\.maxSessions: a whole number from 4 \(2 for the forward, 2 for resends\) to 50/,
    ],
    [
      'more sessions than the sane range',
      { ...base, smartHost: { host: 'x.example', maxSessions: 51 } },
      /^shadowmail\.smartHost\.maxSessions: .*MaxInboundConnectionPerSource/,
    ],
    [
      'a fractional session bound',
      { ...base, smartHost: { host: 'x.example', maxSessions: 7.5 } },
      /^shadowmail\.smartHost\.maxSessions: /,
    ],
    [
      'a negative webmail reservation',
      { ...base, webmail: { ...WEBMAIL, reservedConcurrency: -1 } },
      /^shadowmail\.webmail\.reservedConcurrency: 0 \(no reservation\).*at least this \+ 100/,
    ],
    [
      'a webmail reservation beyond any sane account',
      { ...base, webmail: { ...WEBMAIL, reservedConcurrency: 901 } },
      /^shadowmail\.webmail\.reservedConcurrency: .*new accounts can have far less/,
    ],
  ])('refuses %s, naming the key', (_what, raw, message) => {
    // Act
    const attempt = () => parseConfig(raw);

    // Assess
    expect(attempt).toThrow(ShadowmailConfigError);
    expect(attempt).toThrow(message);
  });

  it('reads a JSON file named by -c shadowmail.config, which wins over the inline object', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'shadowmail-cdk-config-'));
    try {
      const good = join(dir, 'prod.json');
      const bad = join(dir, 'bad.json');
      const rest = { identityProvider: SAML_IDP, webmail: WEBMAIL };
      await writeFile(
        good,
        JSON.stringify({
          stackId: 'prod',
          domains: ['corp.example'],
          smartHost: { host: 'mx.corp.example', port: 2525, authSecretArn: RELAY_SECRET },
          ...rest,
        }),
      );
      await writeFile(bad, JSON.stringify({ domains: ['corp.example'], smartHost: { host: 'mx.corp.example', port: 0 }, ...rest }));

      // Act
      const config = loadConfig(contextApp({ shadowmail: EXAMPLE, 'shadowmail.config': good }).node);
      const badFile = () => loadConfig(contextApp({ 'shadowmail.config': bad }).node);
      const missingFile = () => loadConfig(contextApp({ 'shadowmail.config': join(dir, 'missing.json') }).node);

      // Assess
      expect(config).toMatchObject({ stackId: 'prod', smartHost: { host: 'mx.corp.example', port: 2525 } });
      expect(badFile).toThrow(/^shadowmail\.smartHost\.port: .*\(in .*bad\.json\)$/);
      expect(missingFile).toThrow(/^shadowmail\.config: cannot read .*missing\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('stateful stack', () => {
  it('keeps raw mail in a KMS-encrypted, private, TLS-only bucket that expires after the retention and a margin', () => {
    // Prepare
    const retentionDays = 10;

    // Act
    const { stateful } = synthesize({ ...EXAMPLE, retentionDays, forwardMaxAgeDays: 5 });

    // Assess
    const key = only(stateful, 'AWS::KMS::Key', 'RawMailKey');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    const keyId = Object.keys(stateful.findResources('AWS::KMS::Key'))[0]!;
    const bucket = only(stateful, 'AWS::S3::Bucket', 'RawMailBucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      {
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } },
      },
    ]);
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Status: 'Enabled', ExpirationInDays: retentionDays + RAW_MAIL_EXPIRY_MARGIN_DAYS }),
        // presigned attachment downloads of the webmail live a day
        expect.objectContaining({ Status: 'Enabled', Prefix: 'downloads/', ExpirationInDays: 1 }),
        // the webmail's drafts and the files uploaded for them live a day
        expect.objectContaining({ Status: 'Enabled', Prefix: 'uploads/', ExpirationInDays: 1 }),
      ]),
    );
    expect(bucket.Properties.LifecycleConfiguration.Rules).toHaveLength(3);
    stateful.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('offers one read policy: objects under raw/ only, ListBucket for honest 404s, decrypt with the mail key', () => {
    // Act
    const policy = only(example.stateful, 'AWS::IAM::ManagedPolicy', 'RawMailReadPolicy');

    // Assess
    const bucketId = Object.keys(example.stateful.findResources('AWS::S3::Bucket'))[0]!;
    const keyId = Object.keys(example.stateful.findResources('AWS::KMS::Key'))[0]!;
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/raw/*']] } },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] } },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
    ]);
  });

  it('builds the message table from the adapter constants: keys, on-demand, TTL, PITR, lookup index', () => {
    // Act
    const table = only(example.stateful, 'AWS::DynamoDB::Table', 'MessageIndexTable');

    // Assess
    const { partitionKey, sortKey, ttlAttribute, lookupIndex } = MESSAGE_TABLE;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: partitionKey, KeyType: 'HASH' },
        { AttributeName: sortKey, KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: [
        {
          IndexName: lookupIndex.name,
          KeySchema: [
            { AttributeName: lookupIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: lookupIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['expiresAt'] },
        },
      ],
    });
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining(
        [partitionKey, sortKey, lookupIndex.partitionKey, lookupIndex.sortKey].map((AttributeName) => ({
          AttributeName,
          AttributeType: 'S',
        })),
      ),
    );
  });

  it.each([
    ['IngestQueue', INGEST_LIMITS],
    ['ForwardQueue', FORWARD_LIMITS],
    ['ResendQueue', RESEND_LIMITS],
  ])('gives the %s an encrypted, TLS-only queue and DLQ, 14 days retention, visibility 6 x the function timeout', (name, limits) => {
    // Act
    const [queueId, queue] = entry(example.stateful, 'AWS::SQS::Queue', name);
    const [dlqId, dlq] = entry(example.stateful, 'AWS::SQS::Queue', `${name}DeadLetterQueue`);

    // Assess
    for (const q of [queue, dlq]) {
      expect(q.Properties.SqsManagedSseEnabled).toBe(true);
      expect(q.Properties.MessageRetentionPeriod).toBe(14 * DAY);
      expect(q.DeletionPolicy).toBe('Retain');
    }
    expect(queue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: limits.maxReceiveCount,
    });
    expect(queue.Properties.VisibilityTimeout).toBe(limits.timeoutSeconds * VISIBILITY_FACTOR);
    for (const id of [queueId, dlqId]) {
      example.stateful.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    }
  });

  it('holds a forward job for the longest forward window a valid configuration allows', () => {
    // Prepare
    const longest = parseConfig({ ...EXAMPLE, forwardMaxAgeDays: SQS_MAX_RETENTION_DAYS });

    // Act
    const { stateful } = synthesize({ ...EXAMPLE, forwardMaxAgeDays: longest.forwardMaxAgeDays });

    // Assess
    const forwardQueue = only(stateful, 'AWS::SQS::Queue', 'ForwardQueue');
    expect(forwardQueue.Properties.MessageRetentionPeriod).toBeGreaterThanOrEqual(longest.forwardMaxAgeDays * DAY);
  });
});

describe('stateless stack', () => {
  it.each([
    ['Ingest', INGEST_LIMITS],
    ['Forward', FORWARD_LIMITS],
    ['Resend', RESEND_LIMITS],
  ])('runs %s on Node 22 / arm64 from an ESM bundle, with the lease equal to the timeout', (name, limits) => {
    // Act
    const fn = functionNamed(example.stateless, name);

    // Assess
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: limits.timeoutSeconds,
      MemorySize: limits.memoryMiB,
    });
    expect(fn.Properties.Environment.Variables[ENV.leaseSeconds]).toBe(String(limits.timeoutSeconds));
  });

  it('sets only contract variables, and the ones it sets pass the functions own validation', () => {
    // Prepare
    const contractNames = new Set<string>(Object.values(ENV));
    const deployed = (name: string) => functionNamed(example.stateless, name).Properties.Environment.Variables as Record<string, unknown>;
    // CloudFormation fills the references at deploy time; stand-ins of the same shape.
    const standIns: Record<string, string> = {
      [ENV.tableName]: 'shadowmail-example-stateful-MessageIndexTable-ABC',
      [ENV.forwardQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/shadowmail-example-forward',
      [ENV.sourceQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/shadowmail-example-consumed',
    };
    const asRuntimeSees = (vars: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, typeof value === 'string' ? value : standIns[name]]));

    // Act
    const ingestVars = deployed('Ingest');
    const forwardVars = deployed('Forward');
    const ingestEnv = readAwsIngestEnv(asRuntimeSees(ingestVars));
    const forwardEnv = readAwsForwardEnv(asRuntimeSees(forwardVars));

    // Assess
    for (const vars of [ingestVars, forwardVars]) {
      expect(Object.keys(vars).filter((name) => !contractNames.has(name) && name !== 'NODE_OPTIONS')).toEqual([]);
      expect(
        Object.entries(vars)
          .filter(([, value]) => typeof value !== 'string')
          .map(([name]) => name)
          .sort(),
      ).toEqual([ENV.forwardQueueUrl, ENV.sourceQueueUrl, ENV.tableName].sort());
    }
    // Each function's failed records are retried on the queue it consumes.
    expect(JSON.stringify(ingestVars[ENV.sourceQueueUrl])).toContain('IngestQueue');
    expect(JSON.stringify(forwardVars[ENV.sourceQueueUrl])).toContain('ForwardQueue');
    expect(JSON.stringify(deployed('Resend')[ENV.sourceQueueUrl])).toContain('ResendQueue');
    expect(ingestEnv).toMatchObject({
      [ENV.stackId]: 'shadowmail-example',
      [ENV.retentionDays]: 28,
      [ENV.forwardMaxAgeDays]: 5,
      [ENV.subaddressSeparator]: '+',
      [ENV.mailDomains]: ['example.com'],
    });
    expect(forwardEnv).toMatchObject({
      [ENV.smartHost]: 'mail.example.com',
      [ENV.smartHostPort]: 10587,
      [ENV.smartHostTls]: 'starttls-required',
      [ENV.smartHostAuthSecretArn]: EXAMPLE.smartHost.authSecretArn,
    });
    expect(ingestVars[ENV.smartHost]).toBeUndefined();
  });

  it('turns the subaddress mapping off in ingest with an empty separator, written as off', () => {
    // Act
    const { stateless } = synthesize({ ...EXAMPLE, subaddressSeparator: '' });
    const vars = functionNamed(stateless, 'Ingest').Properties.Environment.Variables as Record<string, string>;

    // Assess
    expect(vars[ENV.subaddressSeparator]).toBe('off');
    expect(
      readAwsIngestEnv({
        ...vars,
        [ENV.tableName]: 't',
        [ENV.forwardQueueUrl]: 'https://q.example/f',
        [ENV.sourceQueueUrl]: 'https://q.example/i',
      })[ENV.subaddressSeparator],
    ).toBe('');
  });

  it('feeds the pipeline functions from their queues with partial batch responses; ingest is capped, forward and resend split smartHost.maxSessions', () => {
    // Act
    const mappings = Object.values(example.stateless.findResources('AWS::Lambda::EventSourceMapping') as Record<string, Resource>);
    const mappingOf = (name: string) => {
      const [fnId] = entry(example.stateless, 'AWS::Lambda::Function', `${name}Function`);
      return mappings.filter((m) => m.Properties.FunctionName.Ref === fnId);
    };

    // Assess
    expect(mappings).toHaveLength(3);
    for (const m of mappings) expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    // The default bound of 10 sessions to the primary: 8 for the live forward, 2 for resend jobs, one record each.
    expect(mappingOf('Ingest')).toEqual([
      expect.objectContaining({ Properties: expect.objectContaining({ BatchSize: 10, ScalingConfig: { MaximumConcurrency: 5 } }) }),
    ]);
    expect(mappingOf('Forward')[0]!.Properties).toMatchObject({ BatchSize: 1, ScalingConfig: { MaximumConcurrency: 8 } });
    expect(mappingOf('Resend')[0]!.Properties).toMatchObject({ BatchSize: 1, ScalingConfig: { MaximumConcurrency: 2 } });
    expect(JSON.stringify(mappingOf('Ingest')[0]!.Properties.EventSourceArn)).toContain('IngestQueue');
    expect(JSON.stringify(mappingOf('Forward')[0]!.Properties.EventSourceArn)).toContain('ForwardQueue');
    expect(JSON.stringify(mappingOf('Resend')[0]!.Properties.EventSourceArn)).toContain('ResendQueue');
  });

  it('sizes the timeouts to one SMTP transaction: relaying functions 6 min (queues 36 min visible), ingest 3 min (18 min), 10 receives before the DLQ', () => {
    // Act
    const timeout = (name: string) => functionNamed(example.stateless, name).Properties.Timeout as number;
    const queue = (name: string) => only(example.stateful, 'AWS::SQS::Queue', `${name}Queue`).Properties;

    // Assess
    expect({ ingest: timeout('Ingest'), forward: timeout('Forward'), resend: timeout('Resend') }).toEqual({
      ingest: 180,
      forward: 360,
      resend: 360,
    });
    for (const [name, seconds] of [
      ['Ingest', 1_080],
      ['Forward', 2_160],
      ['Resend', 2_160],
    ] as const) {
      expect(queue(name).VisibilityTimeout, name).toBe(seconds);
      expect(queue(name).RedrivePolicy.maxReceiveCount, name).toBe(10);
    }
  });

  it("lets each pipeline function change the visibility of its own queue's messages, once, through the event source grant", () => {
    // Act
    const policies = Object.entries(example.stateless.findResources('AWS::IAM::Policy') as Record<string, Resource>);
    const grantsOf = (role: string) =>
      policies
        .filter(([id]) => id.startsWith(`${role}Role`))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
        .filter((statement) => [statement.Action].flat().includes('sqs:ChangeMessageVisibility'))
        .map((statement) => JSON.stringify(statement.Resource));

    // Assess
    expect(grantsOf('Ingest')).toEqual([expect.stringContaining('IngestQueue')]);
    expect(grantsOf('Forward')).toEqual([expect.stringContaining('ForwardQueue')]);
    expect(grantsOf('Resend')).toEqual([expect.stringContaining('ResendQueue')]);
    expect(grantsOf('WebmailFunction')).toEqual([]);
  });

  it('reserves concurrency for the webmail only (20 by default, the configured number, none for 0)', () => {
    // Act
    const reservation = (template: Template) =>
      Object.fromEntries(
        ['Ingest', 'Forward', 'Resend', 'Webmail'].map((name) => [
          name,
          functionNamed(template, name).Properties.ReservedConcurrentExecutions,
        ]),
      );
    const fifty = synthesize({ ...EXAMPLE, webmail: { ...EXAMPLE.webmail, reservedConcurrency: 50 } }).stateless;
    const none = synthesize({ ...EXAMPLE, webmail: { ...EXAMPLE.webmail, reservedConcurrency: 0 } }).stateless;

    // Assess
    expect(reservation(example.stateless)).toEqual({ Ingest: undefined, Forward: undefined, Resend: undefined, Webmail: 20 });
    expect(reservation(fifty).Webmail).toBe(50);
    expect(reservation(none).Webmail).toBeUndefined();
  });

  it('splits a larger smartHost.maxSessions between the event sources, most of it to the forward', () => {
    // Act
    const { stateless } = synthesize({ ...EXAMPLE, smartHost: { ...EXAMPLE.smartHost, maxSessions: 20 } });
    const mappings = Object.values(stateless.findResources('AWS::Lambda::EventSourceMapping') as Record<string, Resource>);
    const concurrencyOf = (name: string) => {
      const [fnId] = entry(stateless, 'AWS::Lambda::Function', `${name}Function`);
      return mappings.find((m) => m.Properties.FunctionName.Ref === fnId)!.Properties.ScalingConfig.MaximumConcurrency as number;
    };

    // Assess
    expect({ forward: concurrencyOf('Forward'), resend: concurrencyOf('Resend') }).toEqual({ forward: 16, resend: 4 });
  });

  it('grants the pipeline functions least privilege: named actions only, no AWS managed policy, the table and no Scan, the queues they feed', () => {
    // Act
    const pipeline = /^(Ingest|Forward|Resend)Role/;
    const roles = Object.entries(example.stateless.findResources('AWS::IAM::Role') as Record<string, Resource>).filter(([id]) =>
      pipeline.test(id),
    );
    const policies = Object.entries(example.stateless.findResources('AWS::IAM::Policy') as Record<string, Resource>).filter(([id]) =>
      pipeline.test(id),
    );
    const statementsOf = (prefix: string) =>
      policies
        .filter(([id]) => id.startsWith(prefix))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
    const statements = ['Ingest', 'Forward', 'Resend'].flatMap(statementsOf);
    const actions = statements.flatMap((s) => [s.Action].flat());
    const sendTargets = (prefix: string) =>
      statementsOf(prefix)
        .filter((s) => [s.Action].flat().includes('sqs:SendMessage'))
        .map((s) => JSON.stringify(s.Resource));

    // Assess
    expect(roles).toHaveLength(3);
    for (const [, role] of roles) {
      expect(role.Properties.ManagedPolicyArns).toHaveLength(1);
      expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('RawMailReadPolicy');
    }
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    expect(actions).not.toContain('dynamodb:Scan');
    expect(statements.map((s) => JSON.stringify(s.Resource)).filter((r) => r.includes('*'))).toEqual([]);
    expect(sendTargets('Ingest')).toEqual([expect.stringContaining('ForwardQueue')]);
    expect(sendTargets('Forward')).toEqual([expect.stringContaining('ForwardQueue')]);
    // minimizePolicies merges the resend worker's two sends into one statement
    expect(sendTargets('Resend').join()).toMatch(/ForwardQueue.*ResendQueue|ResendQueue.*ForwardQueue/);
    expect(statementsOf('Resend')).toContainEqual(
      expect.objectContaining({ Action: 'dynamodb:Query', Resource: expect.objectContaining({ 'Fn::Join': expect.anything() }) }),
    );
    // The smart-host secret is the only secret they read (only forward and resend, see below).
    expect(statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('secretsmanager:')))).toEqual(
      ['Forward', 'Resend'].map(() => ({
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: EXAMPLE.smartHost.authSecretArn,
      })),
    );
  });

  it('holds the ingest, forward and resend functions to their table partitions (TABLE_ACCESS): every DynamoDB statement of theirs is one of its grants', () => {
    // Act
    const dynamoStatementsOf = (prefix: string) =>
      Object.entries(example.stateless.findResources('AWS::IAM::Policy') as Record<string, Resource>)
        .filter(([id]) => id.startsWith(`${prefix}Role`))
        .flatMap(
          ([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Sid?: string; Action: string | string[]; Condition?: unknown }>,
        )
        .filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));

    // Assess
    for (const [prefix, access] of [
      ['Ingest', TABLE_ACCESS.ingest],
      ['Forward', TABLE_ACCESS.forward],
      ['Resend', TABLE_ACCESS.resend],
    ] as const) {
      const statements = dynamoStatementsOf(prefix);
      const sids = [...access.grants.map((g) => g.sid), ...(access.lookupIndex ? ['QueryLookupIndex'] : [])];
      expect(statements.map((s) => s.Sid).sort(), prefix).toEqual(sids.sort());
      for (const s of statements) {
        const grant = access.grants.find((g) => g.sid === s.Sid);
        if (!grant) continue; // the lookup index: checked below for resend
        expect([s.Action].flat().sort()).toEqual(grant.actions.map((a) => `dynamodb:${a}`).sort());
        expect(s.Condition).toEqual({
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.partitions] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        });
      }
    }
  });

  it('passes the smart-host secret and HELO name through, and lets only the forward and resend functions read that secret', () => {
    // Prepare
    const secretArn = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/relay-AbC123';

    // Act
    const { stateless } = synthesize({
      ...EXAMPLE,
      smartHost: { host: 'relay.corp.example', port: 2525, tls: 'implicit', authSecretArn: secretArn, heloName: 'shadow.corp.example' },
    });

    // Assess
    const vars = functionNamed(stateless, 'Forward').Properties.Environment.Variables;
    expect(vars).toMatchObject({
      [ENV.smartHost]: 'relay.corp.example',
      [ENV.smartHostPort]: '2525',
      [ENV.smartHostTls]: 'implicit',
      [ENV.smartHostAuthSecretArn]: secretArn,
      [ENV.heloName]: 'shadow.corp.example',
    });
    const secretReaders = Object.entries(stateless.findResources('AWS::IAM::Policy') as Record<string, Resource>).filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes(secretArn),
    );
    expect(secretReaders.map(([id]) => id).sort()).toEqual([expect.stringMatching(/^ForwardRole/), expect.stringMatching(/^ResendRole/)]);
    for (const [, policy] of secretReaders) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual({
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: secretArn,
      });
    }
  });
});

describe('the whole deployment', () => {
  const outputsOf = (template: Template) => Object.keys(template.findOutputs('*')).sort();

  it('tells the admin what to do next: MX, DKIM, webmail URL, what AD FS needs, and where the CLI finds the stack', () => {
    // Act
    const stateful = outputsOf(example.stateful);
    const stateless = outputsOf(example.stateless);

    // Assess
    expect(stateful).toEqual(expect.arrayContaining(['TableName', 'RawMailBucketName', 'ResendQueueUrl']));
    expect(stateless).toEqual(
      expect.arrayContaining([
        'MxTarget',
        'MxRecordExampleCom',
        'DkimRecordExampleCom1',
        'DkimRecordExampleCom2',
        'DkimRecordExampleCom3',
        'WebmailUrl',
        'FailoverParameterName',
        'UserPoolId',
        'CognitoDomain',
        'SamlEntityId',
        'SamlAcsUrl',
        'DirectorySyncRoleArn',
        'AlarmTopicArn',
      ]),
    );
    expect(stateless).not.toContain('OidcRedirectUrl');
    expect(stateful).not.toContain('NatElasticIp');
  });

  it("narrows the stack's receipt rule with inbound.recipientCheck, and lets the sync role keep the address rules and pass only the delivery role", () => {
    // Act
    const { stateless } = synthesize({
      ...EXAMPLE,
      domains: ['corp.example', 'corp-group.example'],
      inbound: { catchAllDomains: ['corp-group.example'], recipientCheck: true },
    });
    const rule = only(stateless, 'AWS::SES::ReceiptRule', 'InboundMailRuleSetStore');
    const role = only(stateless, 'AWS::IAM::Role', 'DirectorySyncRole');
    const statements = role.Properties.Policies[0].PolicyDocument.Statement as Array<{ Sid: string; Resource: unknown }>;

    // Assess
    expect(rule.Properties.Rule.Recipients).toEqual(['postmaster@corp.example', 'corp-group.example']);
    expect(statements.find((statement) => statement.Sid === 'ReceiptRules')!.Resource).toBe('*');
    expect(JSON.stringify(statements.find((statement) => statement.Sid === 'PassDeliveryRole')!.Resource)).toContain('DeliveryRole');
  });

  it('uses a domain that already is an SES identity as it is: no identity, no DKIM outputs, still received for and sent from', () => {
    // Act
    const { stateless } = synthesize({
      ...EXAMPLE,
      domains: ['corp.example', 'corp-group.example'],
      ses: { existingIdentities: ['corp.example'] },
    });
    const identities = Object.values(stateless.findResources('AWS::SES::EmailIdentity') as Record<string, Resource>);
    const rule = only(stateless, 'AWS::SES::ReceiptRule', 'InboundMailRuleSetStore');
    const outputs = outputsOf(stateless);
    const webmailPolicy = only(stateless, 'AWS::IAM::Policy', 'WebmailFunctionRoleDefaultPolicy');
    const sending = (webmailPolicy.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>).find((s) =>
      JSON.stringify(s.Action).includes('ses:SendEmail'),
    )!;

    // Assess
    expect(identities.map((r) => r.Properties.EmailIdentity)).toEqual(['corp-group.example']);
    expect(rule.Properties.Rule.Recipients).toEqual(['corp.example', 'corp-group.example']);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'MxRecordCorpExample',
        'DomainVerificationCorpExample',
        'MxRecordCorpGroupExample',
        'DkimRecordCorpGroupExample1',
      ]),
    );
    expect(outputs.filter((key) => key.startsWith('DkimRecordCorpExample'))).toEqual([]);
    const [createdId] = entry(stateless, 'AWS::SES::EmailIdentity', 'InboundMailIdentitycorpgroupexample');
    const identityArn = (name: unknown) => sesArn(...(typeof name === 'string' ? [`:identity/${name}`] : [':identity/', name]));
    const sendingIdentities = (sending.Resource as unknown[]).filter((arn) => JSON.stringify(arn).includes(':identity/'));
    expect(sendingIdentities).toEqual([identityArn({ Ref: createdId }), identityArn('corp.example')]);
    // Issue 17: the forward sends non-delivery reports (SES SendBounce) from MAILER-DAEMON at those identities, nothing else of SES
    const forwardSes = Object.entries(stateless.findResources('AWS::IAM::Policy') as Record<string, Resource>)
      .filter(([id]) => id.startsWith('ForwardRole'))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .filter((st) => [st.Action].flat().some((a) => a.startsWith('ses:')));
    expect(forwardSes.map((st) => [st.Action, st.Resource])).toEqual([
      ['ses:SendBounce', [identityArn({ Ref: createdId }), identityArn('corp.example')]],
    ]);
  });

  it('wires every dead-letter queue, the backlog and the failure metrics to alarms on the alarm topic', () => {
    // Act
    const alarms = Object.values(example.stateless.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>);
    const [topicId] = entry(example.stateless, 'AWS::SNS::Topic', 'MonitoringAlarmTopic');
    const metricNames = alarms.map((a) => a.Properties.MetricName).filter(Boolean);

    // Assess
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(metricNames).toEqual(
      expect.arrayContaining([
        'ApproximateNumberOfMessagesVisible',
        'ApproximateAgeOfOldestMessage',
        'ForwardBacklogAgeSeconds',
        'RecipientsFailed',
        'IngestErrors',
      ]),
    );
    expect(metricNames.filter((m) => m === 'ApproximateNumberOfMessagesVisible')).toHaveLength(4);
    example.stateless.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'it-alerts@example.com' });
  });

  it('gives the SNS subscription a dead-letter queue of its own, alarmed like the others, and names every DLQ and the ingest queue in the stateful outputs', () => {
    // Act
    const outputs = example.stateful.toJSON().Outputs as Record<string, { Value: unknown }>;
    const [subscriptionDlqId] = entry(example.stateful, 'AWS::SQS::Queue', 'InboundNotificationsDeadLetterQueue');
    const subscription = Object.values(example.stateful.findResources('AWS::SNS::Subscription') as Record<string, Resource>)[0]!;
    const alarm = Object.values(example.stateless.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).find(
      (a) => a.Properties.AlarmName === 'shadowmail-example-dlq-notifications-not-empty',
    );
    const queueRef = (name: string) => ({ Ref: entry(example.stateful, 'AWS::SQS::Queue', name)[0] });

    // Assess
    expect(subscription.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [subscriptionDlqId, 'Arn'] } });
    expect(
      Object.keys(outputs)
        .filter((key) => key.startsWith('DeadLetterQueue'))
        .sort(),
    ).toEqual(['DeadLetterQueueForwardUrl', 'DeadLetterQueueIngestUrl', 'DeadLetterQueueNotificationsUrl', 'DeadLetterQueueResendUrl']);
    expect(outputs.DeadLetterQueueIngestUrl!.Value).toEqual(queueRef('IngestQueueDeadLetterQueue'));
    expect(outputs.DeadLetterQueueForwardUrl!.Value).toEqual(queueRef('ForwardQueueDeadLetterQueue'));
    expect(outputs.DeadLetterQueueResendUrl!.Value).toEqual(queueRef('ResendQueueDeadLetterQueue'));
    expect(outputs.DeadLetterQueueNotificationsUrl!.Value).toEqual({ Ref: subscriptionDlqId });
    expect(outputs.IngestQueueUrl!.Value).toEqual(queueRef('IngestQueue'));
    expect(alarm?.Properties.MetricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(JSON.stringify(alarm?.Properties.Dimensions)).toContain('InboundNotificationsDeadLetterQueue');
    expect(alarm?.Properties.AlarmDescription).toContain('shadowmail redrive --stack shadowmail-example --queue notifications');
  });

  it("sends the webmail's mail with an SES configuration set: its name in the function's environment, its ARN in the grant, its events alarmed, its name an output", () => {
    // Act
    const [setId, set] = entry(example.stateless, 'AWS::SES::ConfigurationSet', 'WebmailSendingConfigurationSet');
    const fn = functionNamed(example.stateless, 'Webmail');
    const webmailPolicy = only(example.stateless, 'AWS::IAM::Policy', 'WebmailFunctionRoleDefaultPolicy');
    const sending = (webmailPolicy.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown[] }>).find((s) =>
      JSON.stringify(s.Action).includes('ses:SendEmail'),
    )!;
    const alarmNames = Object.values(example.stateless.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map(
      (a) => a.Properties.AlarmName,
    );
    const outputs = example.stateless.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    expect(set.Properties.Name).toBe('shadowmail-example-webmail');
    expect(fn.Properties.Environment.Variables.SHADOWMAIL_SES_CONFIGURATION_SET).toEqual({ Ref: setId });
    expect(sending.Resource).toContainEqual(sesArn(':configuration-set/', { Ref: setId }));
    expect(alarmNames).toEqual(
      expect.arrayContaining([
        'shadowmail-example-webmail-ses-bounces',
        'shadowmail-example-webmail-ses-complaints-rejects',
        'shadowmail-example-ses-sending-quota',
      ]),
    );
    // The per-user send limits (webmail.sendLimits, defaults here) reach the function.
    expect(fn.Properties.Environment.Variables).toMatchObject({
      SHADOWMAIL_SEND_MESSAGES_PER_HOUR: '30',
      SHADOWMAIL_SEND_RECIPIENTS_PER_HOUR: '200',
      SHADOWMAIL_SEND_MESSAGES_PER_DAY: '100',
      SHADOWMAIL_SEND_RECIPIENTS_PER_DAY: '500',
    });
    expect(outputs.ConfigurationSetName!.Value).toEqual({ Ref: setId });
  });

  it('with natGateway and Entra ID: forward and resend leave through the VPC, the Elastic IP is kept in the stateful stack, nag stays clean', () => {
    // Prepare
    const raw = JSON.parse(readFileSync(join(ROOT, 'config/example-entra-nat.json'), 'utf8')) as ShadowmailConfigInput;
    const app = newApp();

    // Act
    const stacks = buildShadowmail(app, parseConfig({ ...raw, account: undefined, region: undefined }));
    const stateful = Template.fromStack(stacks.stateful);
    const stateless = Template.fromStack(stacks.stateless);
    const assembly = app.synth();

    // Assess
    const eip = only(stateful, 'AWS::EC2::EIP', 'NatElasticIpEip');
    expect(eip.DeletionPolicy).toBe('Retain');
    expect(outputsOf(stateful)).toContain('NatElasticIp');
    stateless.resourceCountIs('AWS::EC2::NatGateway', 1);
    for (const name of ['Forward', 'Resend']) expect(functionNamed(stateless, name).Properties.VpcConfig).toBeDefined();
    for (const name of ['Ingest', 'Webmail']) expect(functionNamed(stateless, name).Properties.VpcConfig).toBeUndefined();
    expect(outputsOf(stateless)).toEqual(expect.arrayContaining(['OidcRedirectUrl', 'MxRecordCorpExample', 'MxRecordCorpGroupExample']));
    stateless.hasResourceProperties('AWS::Cognito::UserPoolIdentityProvider', { ProviderType: 'OIDC', ProviderName: 'EntraID' });
    // Port 25 through the NAT gateway: only the synth warning that AWS must lift the restriction first.
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; severity: string }> }>;
    };
    expect(report.pluginReports.flatMap((r) => r.violations.map((v) => `${r.pluginName}: ${v.severity} ${v.ruleName}`))).toEqual([
      'Construct Annotations: warning Annotation::shadowmail:smartHostPort25',
    ]);
  });
});

describe('cdk-nag', () => {
  it('passes AwsSolutions on the whole app: every finding is fixed or acknowledged with a reason', () => {
    // Act
    const assembly = example.app.synth();

    // Assess
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });

  it('fails synth on an unacknowledged finding (the checks are really wired in)', () => {
    // Prepare
    const app = newApp();
    buildShadowmail(app, parseConfig(EXAMPLE));
    new s3.Bucket(new Stack(app, 'Careless'), 'PlainBucket');

    // Act
    const attempt = () => app.synth();

    // Assess
    expect(attempt).toThrow(/AwsSolutions-S10/);
  });
});

describe('the directory-sync role and the user pool', () => {
  const poolStatement = (template: Template) =>
    (
      only(template, 'AWS::IAM::Role', 'DirectorySyncRole').Properties.Policies[0].PolicyDocument.Statement as Array<
        Record<string, unknown>
      >
    ).find((statement) => statement.Sid === 'BreakGlassAccounts');

  it('may keep the break-glass accounts of the webmail pool while staff SMS codes are on, and has no Cognito grant otherwise', () => {
    // Act
    const on = poolStatement(example.stateless);
    const off = poolStatement(synthesize({ ...EXAMPLE, breakGlass: { staffSmsCodes: false } }).stateless);

    // Assess
    const [poolId] = entry(example.stateless, 'AWS::Cognito::UserPool', 'WebmailUserPool');
    expect(on).toMatchObject({ Effect: 'Allow', Resource: { 'Fn::GetAtt': [poolId, 'Arn'] } });
    expect(on?.Action).toContain('cognito-idp:AdminCreateUser');
    expect(off).toBeUndefined();
  });
});
