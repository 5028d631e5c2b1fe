// The SES inbound side as CloudFormation, built the way the two stacks hold it:
// the stateful stack grants SES (bucket, key, topic) for a receipt rule it knows
// only by name, the stateless stack has the identities, the rule set and its
// activation. Two stacks in one app, synthesized together with the cdk-nag
// AwsSolutions checks: no cycle, no unacknowledged finding. Bundling is skipped.
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, type Environment, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { INGEST_LIMITS } from '../../../../lambdas/contract/pipeline-limits.ts';
import {
  DOWNLOADS_PREFIX,
  RAW_MAIL_EXPIRY_MARGIN_DAYS,
  RAW_MAIL_PREFIX,
  UPLOADS_PREFIX,
} from '../../../../lambdas/contract/raw-mail-bucket.ts';
import {
  InboundMail,
  type InboundMailProps,
  inboundMailNames,
  RULE_SET_ACTIVATION_HANDLER,
  receiptRuleArn,
  storingRuleArns,
} from '../../../../lib/constructs/inbound-mail.ts';
import { InboundNotifications } from '../../../../lib/constructs/inbound-notifications.ts';
import { DOWNLOADS_EXPIRY_DAYS, RawMailBucket, UPLOADS_EXPIRY_DAYS } from '../../../../lib/constructs/raw-mail-bucket.ts';
import { WorkQueue } from '../../../../lib/constructs/work-queue.ts';
import type { CfnJson, CfnResource } from '../../../support/cfn-resource.ts';
import { sesArn } from '../../../support/cloudformation.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-inbound-mail-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const RETENTION_DAYS = 28;
const STACK_ID = 'shadowmail-test';
const RULE_ARN = `arn:aws:ses:${REGION}:${ACCOUNT}:receipt-rule-set/${STACK_ID}-inbound:receipt-rule/${STACK_ID}-store`;
/** The sync's address rules (lambdas/contract/receipt-rules.ts): they store mail with the same action. */
const DIRECTORY_RULES_ARN = `arn:aws:ses:${REGION}:${ACCOUNT}:receipt-rule-set/${STACK_ID}-inbound:receipt-rule/${STACK_ID}-dir-*`;
const FROM_OUR_RULES = { StringEquals: { 'aws:SourceAccount': ACCOUNT }, ArnLike: { 'aws:SourceArn': [RULE_ARN, DIRECTORY_RULES_ARN] } };

type Resource = CfnResource;
type Statement = {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

interface BuildOptions {
  env?: Environment | null;
  domains?: string[];
  takeOverActiveRuleSet?: boolean;
  existingIdentities?: string[];
  mailFromSubdomain?: string;
  careless?: boolean;
  catchAllDomains?: string[];
  recipientCheck?: boolean;
}

/** A stateful-like and a stateless-like stack in one app with the AWS Solutions checks, as lib/shadowmail-app.ts wires them. */
function build({
  env = { account: ACCOUNT, region: REGION },
  domains = ['example.com', 'corp.example'],
  takeOverActiveRuleSet,
  existingIdentities,
  mailFromSubdomain,
  careless,
  catchAllDomains,
  recipientCheck,
}: BuildOptions = {}) {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  const stackEnv = env ?? undefined;
  const names = inboundMailNames(STACK_ID);

  const stateful = new Stack(app, 'Stateful', { env: stackEnv });
  const rawMail = new RawMailBucket(stateful, 'RawMail', {
    retentionDays: RETENTION_DAYS,
    keyAlias: `alias/${STACK_ID}/mail`,
    rawPrefix: RAW_MAIL_PREFIX,
  });
  const ingest = new WorkQueue(stateful, 'IngestQueue', { consumer: INGEST_LIMITS });
  const ruleArns = storingRuleArns(stateful, names);
  rawMail.allowSesDelivery(ruleArns);
  const notifications = new InboundNotifications(stateful, 'InboundNotifications', {
    key: rawMail.key,
    ingestQueue: ingest.queue,
    receiptRuleArns: ruleArns,
    bucket: rawMail.bucket,
    rawPrefix: RAW_MAIL_PREFIX,
  });

  const stateless = new Stack(app, 'Stateless', { env: stackEnv });
  const props: InboundMailProps = {
    names,
    domains,
    bucket: rawMail.bucket,
    notificationTopic: notifications.topic,
    deliveryRole: notifications.deliveryRole,
    takeOverActiveRuleSet,
    existingIdentities,
    mailFromSubdomain,
    catchAllDomains,
    recipientCheck,
  };
  const inbound = new InboundMail(stateless, 'InboundMail', props);
  inbound.addOutputs();
  if (careless) new s3.Bucket(stateless, 'PlainBucket');

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return {
    app,
    stateful,
    stateless,
    inbound,
    statefulTemplate: Template.fromStack(stateful),
    statelessTemplate: Template.fromStack(stateless),
  };
}

const example = build();

function resourcesOf(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type) as Record<string, Resource>);
}

function only(template: Template, type: string): [string, Resource] {
  const found = resourcesOf(template, type);
  expect(
    found.map(([id]) => id),
    type,
  ).toHaveLength(1);
  return found[0]!;
}

const statementsOf = (resource: Resource, key = 'PolicyDocument'): Statement[] => resource.Properties[key].Statement;
const sesStatements = (statements: Statement[]) =>
  statements.filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'ses.amazonaws.com' }));

describe('names shared by both stacks', () => {
  it('derives the rule set and rule names from the stack id and builds the rule ARN from the stack environment', () => {
    // Prepare
    const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: cdkJson.context });
    const stack = new Stack(app, 'Somewhere', { env: { account: ACCOUNT, region: REGION } });

    // Act
    const names = inboundMailNames(STACK_ID);
    const arn = stack.resolve(receiptRuleArn(stack, names));

    // Assess
    expect(names).toEqual({ ruleSetName: `${STACK_ID}-inbound`, ruleName: `${STACK_ID}-store`, directoryRulePrefix: `${STACK_ID}-dir-` });
    expect(arn).toBe(RULE_ARN);
    expect(stack.resolve(storingRuleArns(stack, names))).toEqual([RULE_ARN, DIRECTORY_RULES_ARN]);
  });
});

describe('raw-mail bucket: SES may write', () => {
  it('lets ses.amazonaws.com put objects under raw/ only, for this account and this receipt rule, without aws:Referer', () => {
    // Act
    const [, policy] = only(example.statefulTemplate, 'AWS::S3::BucketPolicy');
    const [bucketId] = only(example.statefulTemplate, 'AWS::S3::Bucket');

    // Assess
    expect(sesStatements(statementsOf(policy))).toEqual([
      {
        Sid: 'AllowSesReceiptRulePuts',
        Effect: 'Allow',
        Principal: { Service: 'ses.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${RAW_MAIL_PREFIX}*`]] },
        Condition: FROM_OUR_RULES,
      },
    ]);
    expect(JSON.stringify(policy)).not.toMatch(/aws:Referer/i);
    // The TLS-only statement the bucket had before is still there.
    expect(statementsOf(policy)).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('lets SES use the mail key only through S3 and SNS, only for this account and receipt rule', () => {
    // Act
    const [, key] = only(example.statefulTemplate, 'AWS::KMS::Key');

    // Assess
    const statements = sesStatements(statementsOf(key, 'KeyPolicy'));
    const viaService = (service: string) => ({
      Effect: 'Allow',
      Principal: { Service: 'ses.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:SourceAccount': ACCOUNT, 'kms:ViaService': `${service}.${REGION}.amazonaws.com` },
        ArnLike: FROM_OUR_RULES.ArnLike,
      },
    });
    expect(statements).toEqual([
      { Sid: 'AllowSesReceiptRuleSseKms', ...viaService('s3') },
      { Sid: 'AllowSesReceiptRuleSnsPublish', ...viaService('sns') },
    ]);
  });

  it('grants SES delivery for one receipt rule only, refusing a second', () => {
    // Prepare
    const stack = new Stack(new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: cdkJson.context }), 'Twice');
    const rawMail = new RawMailBucket(stack, 'RawMail', {
      retentionDays: RETENTION_DAYS,
      keyAlias: 'alias/twice/mail',
      rawPrefix: RAW_MAIL_PREFIX,
    });
    rawMail.allowSesDelivery([receiptRuleArn(stack, inboundMailNames('one'))]);

    // Act
    const second = () => rawMail.allowSesDelivery([receiptRuleArn(stack, inboundMailNames('two'))]);

    // Assess
    expect(second).toThrow(/SES delivery is already allowed/);
  });

  it('expires downloads/ and uploads/ (drafts and their files) after a day and keeps the retention expiry for everything else', () => {
    // Act
    const [, bucket] = only(example.statefulTemplate, 'AWS::S3::Bucket');

    // Assess
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Array<Record<string, unknown>>;
    expect(rules).toHaveLength(3);
    expect(rules).toContainEqual({
      Id: 'expire-downloads',
      Prefix: DOWNLOADS_PREFIX,
      ExpirationInDays: DOWNLOADS_EXPIRY_DAYS,
      Status: 'Enabled',
    });
    expect(rules).toContainEqual({
      Id: 'expire-uploads',
      Prefix: UPLOADS_PREFIX,
      ExpirationInDays: UPLOADS_EXPIRY_DAYS,
      Status: 'Enabled',
    });
    expect([UPLOADS_PREFIX, UPLOADS_EXPIRY_DAYS]).toEqual(['uploads/', 1]);
    expect(rules).toContainEqual({
      Id: 'expire-raw-mail',
      ExpirationInDays: RETENTION_DAYS + RAW_MAIL_EXPIRY_MARGIN_DAYS,
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      Status: 'Enabled',
    });
    expect(DOWNLOADS_PREFIX).toBe('downloads/');
  });
});

describe('notification topic (stateful)', () => {
  it('encrypts the topic with the mail key and allows publishing only over TLS and only to this receipt rule', () => {
    // Act
    const [topicId, topic] = only(example.statefulTemplate, 'AWS::SNS::Topic');
    const [keyId] = only(example.statefulTemplate, 'AWS::KMS::Key');
    const [, topicPolicy] = only(example.statefulTemplate, 'AWS::SNS::TopicPolicy');

    // Assess
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(topicPolicy.Properties.Topics).toEqual([{ Ref: topicId }]);
    expect(statementsOf(topicPolicy)).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sns:Publish',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
      {
        Sid: 'AllowSesReceiptRulePublish',
        Effect: 'Allow',
        Principal: { Service: 'ses.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: FROM_OUR_RULES,
      },
    ]);
  });

  it('gives the S3 action a role only SES may assume for this receipt rule: put under raw/, the mail key, publish to the topic', () => {
    // Prepare
    const { statefulTemplate } = example;
    const [roleId, role] = resourcesOf(statefulTemplate, 'AWS::IAM::Role').find(([id]) =>
      id.startsWith('InboundNotificationsDeliveryRole'),
    )!;
    const policies = resourcesOf(statefulTemplate, 'AWS::IAM::Policy').filter(
      ([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    );
    const bucketId = resourcesOf(statefulTemplate, 'AWS::S3::Bucket')[0]![0];
    const keyId = resourcesOf(statefulTemplate, 'AWS::KMS::Key')[0]![0];
    const topicId = resourcesOf(statefulTemplate, 'AWS::SNS::Topic')[0]![0];

    // Assess
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'ses.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: FROM_OUR_RULES,
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement)).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${RAW_MAIL_PREFIX}*`]] },
      },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
      { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: topicId } },
    ]);
  });

  it('delivers to the ingest queue in the SNS envelope the ingest parses, with a dead-letter queue of its own for undeliverable notifications', () => {
    // Act
    const [, subscription] = only(example.statefulTemplate, 'AWS::SNS::Subscription');
    const [topicId] = only(example.statefulTemplate, 'AWS::SNS::Topic');
    const queues = resourcesOf(example.statefulTemplate, 'AWS::SQS::Queue');
    const queueId = queues.find(([id]) => /^IngestQueue[0-9A-F]{8}$/.test(id))![0];
    const [dlqId, dlq] = queues.find(([id]) => /^InboundNotificationsDeadLetterQueue[0-9A-F]{8}$/.test(id))!;
    const [, ingestDlq] = queues.find(([id]) => /^IngestQueueDeadLetterQueue[0-9A-F]{8}$/.test(id))!;
    const dlqResource = example.statefulTemplate.toJSON().Resources[dlqId] as { DeletionPolicy: string; UpdateReplacePolicy: string };

    // Assess
    expect(subscription.Properties).toEqual({
      Protocol: 'sqs',
      TopicArn: { Ref: topicId },
      Endpoint: { 'Fn::GetAtt': [queueId, 'Arn'] },
      RawMessageDelivery: false,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
    });
    // Kept, encrypted and held as long as the other dead-letter queues.
    expect(dlq.Properties).toEqual(ingestDlq.Properties);
    expect(dlq.Properties).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    expect([dlqResource.DeletionPolicy, dlqResource.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    example.statefulTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlqId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    for (const id of [queueId, dlqId]) {
      example.statefulTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topicId } } },
            }),
          ]),
        },
      });
    }
  });
});

describe('inbound mail (stateless)', () => {
  it('creates one SES identity per domain with Easy DKIM, RSA 2048, and offers their ARNs for the sending grant', () => {
    // Act
    const identities = resourcesOf(example.statelessTemplate, 'AWS::SES::EmailIdentity');
    const arns = example.inbound.identityArns.map((arn) => example.stateless.resolve(arn));

    // Assess
    expect(identities.map(([, r]) => r.Properties)).toEqual(
      ['example.com', 'corp.example'].map((domain) => ({
        EmailIdentity: domain,
        DkimAttributes: { SigningEnabled: true },
        DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
      })),
    );
    expect(JSON.stringify(arns)).toContain(`:ses:${REGION}:${ACCOUNT}:identity/`);
    expect(arns).toHaveLength(2);
  });

  it('receives for the domains with one rule: enabled, spam/virus scan on, TLS optional, S3 action with prefix and topic, no client-side encryption', () => {
    // Act
    const [ruleSetId, ruleSet] = only(example.statelessTemplate, 'AWS::SES::ReceiptRuleSet');
    const [, rule] = only(example.statelessTemplate, 'AWS::SES::ReceiptRule');

    // Assess
    expect(ruleSet.Properties).toEqual({ RuleSetName: `${STACK_ID}-inbound` });
    expect(rule.Properties.RuleSetName).toEqual({ Ref: ruleSetId });
    expect(rule.Properties.Rule).toMatchObject({
      Name: `${STACK_ID}-store`,
      Enabled: true,
      ScanEnabled: true,
      TlsPolicy: 'Optional',
      Recipients: ['example.com', 'corp.example'],
    });
    const actions = rule.Properties.Rule.Actions as Array<Record<string, CfnJson>>;
    expect(actions).toHaveLength(1);
    expect(Object.keys(actions[0]!.S3Action).sort()).toEqual(['BucketName', 'IamRoleArn', 'ObjectKeyPrefix', 'TopicArn']);
    expect(JSON.stringify(actions[0]!.S3Action.IamRoleArn)).toContain('InboundNotificationsDeliveryRole');
    expect(actions[0]!.S3Action.ObjectKeyPrefix).toBe(RAW_MAIL_PREFIX);
    // The bucket and the topic come from the stateful stack.
    expect(JSON.stringify(actions[0]!.S3Action.BucketName)).toContain('RawMailBucket');
    expect(JSON.stringify(actions[0]!.S3Action.TopicArn)).toContain('InboundNotificationsTopic');
  });

  it.each([
    [undefined, 'false'],
    [true, 'true'],
  ])('activates the rule set by a custom resource after the rule exists (takeOverActiveRuleSet %s)', (takeOverActiveRuleSet, expected) => {
    // Act
    const { statelessTemplate } = takeOverActiveRuleSet === undefined ? example : build({ takeOverActiveRuleSet });
    const [, activation] = only(statelessTemplate, 'Custom::SesActiveReceiptRuleSet');
    const [ruleId] = only(statelessTemplate, 'AWS::SES::ReceiptRule');

    // Assess
    expect(activation.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^InboundMailActivationProviderframeworkonEvent[0-9A-F]{8}$/), 'Arn'] },
      RuleSetName: `${STACK_ID}-inbound`,
      TakeOverActiveRuleSet: expected,
    });
    expect(activation.DependsOn).toContain(ruleId);
    expect(RULE_SET_ACTIVATION_HANDLER).toBe('lambdas/entry/ses-rule-set-activation.ts');
  });

  it('gives the activation function only the two SES rule-set calls and its log group, and the framework only the invoke', () => {
    // Act
    const functions = resourcesOf(example.statelessTemplate, 'AWS::Lambda::Function');
    const roles = resourcesOf(example.statelessTemplate, 'AWS::IAM::Role');
    const policies = resourcesOf(example.statelessTemplate, 'AWS::IAM::Policy');
    const policyOf = (rolePrefix: string) => policies.find(([id]) => id.startsWith(rolePrefix))![1];

    // Assess
    expect(functions.map(([, f]) => f.Properties.Runtime).sort()).toEqual(['nodejs22.x', 'nodejs24.x']);
    const handler = functions.find(([id]) => id.startsWith('InboundMailActivationFunction'))![1];
    expect(handler.Properties).toMatchObject({ Architectures: ['arm64'], Handler: 'index.handler', Timeout: 60 });
    for (const [, role] of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(statementsOf(policyOf('InboundMailActivationFunctionRole'))).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^InboundMailActivationFunctionLogs/), 'Arn'] },
      },
      { Effect: 'Allow', Action: ['ses:DescribeActiveReceiptRuleSet', 'ses:SetActiveReceiptRuleSet'], Resource: '*' },
    ]);
    const frameworkActions = statementsOf(policyOf('InboundMailActivationProviderRole')).flatMap((s) => [s.Action].flat());
    expect(frameworkActions.sort()).toEqual(['lambda:GetFunction', 'lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('outputs the MX target, each domain MX record and DKIM CNAMEs, and how SES verifies the domain', () => {
    // Act
    const outputs = example.statelessTemplate.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>;
    const [identityId] = resourcesOf(example.statelessTemplate, 'AWS::SES::EmailIdentity').find(
      ([, r]) => r.Properties.EmailIdentity === 'example.com',
    )!;

    // Assess
    expect(example.inbound.mxTarget).toBe(`inbound-smtp.${REGION}.amazonaws.com`);
    expect(outputs.MxTarget!.Value).toBe(`inbound-smtp.${REGION}.amazonaws.com`);
    expect(outputs.MxRecordExampleCom!.Value).toBe(`example.com MX 10 inbound-smtp.${REGION}.amazonaws.com`);
    expect(outputs.MxRecordCorpExample!.Value).toBe(`corp.example MX 10 inbound-smtp.${REGION}.amazonaws.com`);
    for (const n of [1, 2, 3]) {
      expect(outputs[`DkimRecordExampleCom${n}`]!.Value).toEqual({
        'Fn::Join': [
          '',
          [{ 'Fn::GetAtt': [identityId, `DkimDNSTokenName${n}`] }, ' CNAME ', { 'Fn::GetAtt': [identityId, `DkimDNSTokenValue${n}`] }],
        ],
      });
      expect(outputs[`DkimRecordCorpExample${n}`]).toBeDefined();
    }
    expect(outputs.DomainVerificationExampleCom!.Value).toMatch(/^example\.com: verified by its three DKIM CNAME records/);
  });

  it('keeps every domain whole while the recipient check is off, whatever the catch-all domains', () => {
    // Act
    const built = build({ catchAllDomains: ['corp.example'] });
    const [, rule] = only(built.statelessTemplate, 'AWS::SES::ReceiptRule');

    // Assess
    expect(rule.Properties.Rule.Recipients).toEqual(['example.com', 'corp.example']);
  });

  it('with the recipient check lists only the catch-all domains whole and postmaster@ of the others (never an empty list: that matches everything)', () => {
    // Act
    const withCatchAll = build({ catchAllDomains: ['corp.example'], recipientCheck: true });
    const without = build({ recipientCheck: true });
    const recipientsOf = (template: Template) => only(template, 'AWS::SES::ReceiptRule')[1].Properties.Rule.Recipients;

    // Assess
    expect(recipientsOf(withCatchAll.statelessTemplate)).toEqual(['postmaster@example.com', 'corp.example']);
    expect(recipientsOf(without.statelessTemplate)).toEqual(['postmaster@example.com', 'postmaster@corp.example']);
  });

  it('warns at synth with the recipient check on, naming the domains SES narrows and the sync to run first', () => {
    // Act
    const on = Annotations.fromStack(build({ catchAllDomains: ['corp.example'], recipientCheck: true }).stateless);
    const off = Annotations.fromStack(example.stateless);

    // Assess
    on.hasWarning(
      '*',
      Match.stringLikeRegexp(
        `refuse every address of example\\.com that no rule ${STACK_ID}-dir-NNN lists.*--receipt-rule-set ${STACK_ID}-inbound`,
      ),
    );
    off.hasNoWarning('*', Match.stringLikeRegexp('recipientCheck'));
  });

  it('refuses a catch-all domain that is not a mail domain, naming it', () => {
    // Act
    const attempt = () => build({ catchAllDomains: ['other.example'], recipientCheck: true });

    // Assess
    expect(attempt).toThrow(/catch-all domains other\.example are not among the domains/);
  });

  it('creates no identity for a domain that already is an SES identity, yet receives for it, grants its ARN and outputs its MX record without DKIM', () => {
    // Act
    const built = build({ existingIdentities: ['corp.example'] });
    const identities = resourcesOf(built.statelessTemplate, 'AWS::SES::EmailIdentity');
    const [, rule] = only(built.statelessTemplate, 'AWS::SES::ReceiptRule');
    const outputs = built.statelessTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    const arns = built.inbound.identityArns.map((arn) => built.stateless.resolve(arn));

    // Assess
    expect(identities.map(([, r]) => r.Properties.EmailIdentity)).toEqual(['example.com']);
    expect(rule.Properties.Rule.Recipients).toEqual(['example.com', 'corp.example']);
    expect(arns).toHaveLength(2);
    expect(arns[1]).toBe(`arn:aws:ses:${REGION}:${ACCOUNT}:identity/corp.example`);
    expect(outputs.MxRecordCorpExample!.Value).toBe(`corp.example MX 10 inbound-smtp.${REGION}.amazonaws.com`);
    expect(Object.keys(outputs).filter((key) => key.startsWith('DkimRecordCorpExample'))).toEqual([]);
    expect(Object.keys(outputs).filter((key) => key.startsWith('DkimRecordExampleCom'))).toHaveLength(3);
    expect(outputs.DomainVerificationCorpExample!.Value).toMatch(/^corp\.example: an existing SES identity of this account, used as it is/);
  });

  it('sets a custom MAIL FROM domain on the identities it creates, sending anyway when its MX is missing, and outputs its MX and SPF records', () => {
    // Act
    const built = build({ existingIdentities: ['corp.example'], mailFromSubdomain: 'bounce' });
    const identities = resourcesOf(built.statelessTemplate, 'AWS::SES::EmailIdentity');
    const outputs = built.statelessTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    const plain = resourcesOf(example.statelessTemplate, 'AWS::SES::EmailIdentity');

    // Assess
    expect(identities.map(([, r]) => [r.Properties.EmailIdentity, r.Properties.MailFromAttributes])).toEqual([
      ['example.com', { MailFromDomain: 'bounce.example.com', BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' }],
    ]);
    expect(outputs.MailFromMxRecordExampleCom!.Value).toBe(`bounce.example.com MX 10 feedback-smtp.${REGION}.amazonses.com`);
    expect(outputs.MailFromSpfRecordExampleCom!.Value).toBe('bounce.example.com TXT "v=spf1 include:amazonses.com ~all"');
    // An existing identity keeps its own MAIL FROM: no records for it.
    expect(Object.keys(outputs).filter((key) => key.includes('MailFrom') && key.endsWith('CorpExample'))).toEqual([]);
    // Without the setting, SES's own MAIL FROM domain: no attributes, no records.
    for (const [, identity] of plain) expect(identity.Properties.MailFromAttributes).toBeUndefined();
    expect(Object.keys(example.statelessTemplate.toJSON().Outputs as object).filter((key) => key.includes('MailFrom'))).toEqual([]);
  });

  it('refuses what it cannot build, naming the problem', () => {
    // Act
    const attempts = {
      noDomain: () => build({ domains: [] }),
      repeated: () => build({ domains: ['example.com', 'example.com'] }),
      noReceiving: () => build({ env: { account: ACCOUNT, region: 'ap-east-1' } }),
      optIn: () => build({ env: { account: ACCOUNT, region: 'eu-south-1' } }),
      clashingOutputs: () => build({ domains: ['a.b-c.example', 'a-b.c.example'] }),
      strangeIdentity: () => build({ existingIdentities: ['elsewhere.example'] }),
    };

    // Assess
    expect(attempts.noDomain).toThrow(/at least one mail domain/);
    expect(attempts.repeated).toThrow(/domains repeat: example\.com, example\.com/);
    expect(attempts.noReceiving).toThrow(/SES does not receive mail in ap-east-1/);
    expect(attempts.optIn).toThrow(
      /eu-south-1 is an opt-in region, and SES does not support S3 buckets in opt-in regions as a destination for inbound mail/,
    );
    expect(attempts.strangeIdentity).toThrow(
      /existing identities elsewhere\.example are not among the domains example\.com, corp\.example/,
    );
    expect(attempts.clashingOutputs).toThrow(/domains a\.b-c\.example and a-b\.c\.example would share the output names \*ABCExample/);
  });
});

describe('both stacks in one app', () => {
  it.each([
    ['a fixed account and region', { account: ACCOUNT, region: REGION }],
    ['an environment-agnostic app', null],
  ])('synthesizes %s without a cycle: the stateless stack depends on the stateful one, never the reverse', (_what, env) => {
    // Prepare
    const built = env === null ? build({ env: null }) : example;

    // Act
    const assembly = built.app.synth();

    // Assess
    expect(built.stateless.dependencies).toContain(built.stateful);
    expect(built.stateful.dependencies).toEqual([]);
    expect(JSON.stringify(built.statefulTemplate.toJSON())).not.toContain('Stateless');
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });

  it('resolves the region at deploy time when the app has no environment', () => {
    // Act
    const { statelessTemplate, statefulTemplate } = build({ env: null });
    const outputs = statelessTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    const [, policy] = only(statefulTemplate, 'AWS::S3::BucketPolicy');

    // Assess
    expect(outputs.MxTarget!.Value).toEqual({ 'Fn::Join': ['', ['inbound-smtp.', { Ref: 'AWS::Region' }, '.amazonaws.com']] });
    expect(sesStatements(statementsOf(policy))[0]!.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': [
          sesArn(`:receipt-rule-set/${STACK_ID}-inbound:receipt-rule/${STACK_ID}-store`),
          sesArn(`:receipt-rule-set/${STACK_ID}-inbound:receipt-rule/${STACK_ID}-dir-*`),
        ],
      },
    });
  });

  it('fails synth on an unacknowledged finding next to these constructs (the checks really run)', () => {
    // Act: building synthesizes the app (the templates are read from it)
    const attempt = () => build({ careless: true });

    // Assess
    expect(attempt).toThrow(/AwsSolutions-S10/);
  });
});
