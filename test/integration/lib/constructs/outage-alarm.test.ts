// The outage alarm as CloudFormation, in the whole app: with break-glass admins, a
// function subscribed to the alarm topic with a filter on the notification's body (the
// backlog alarm, ALARM only), its environment accepted by the function's own schema,
// exactly its grants (episode keys and audit entries only, the flag, the session
// secret, SMS but no topic, mail from the mail domains), the webmail's /declare parts;
// without admins, none of it. cdk-nag AwsSolutions passes. Bundling is skipped.
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { ALARM_ENV, ENV, WEB_ENV } from '../../../../lambdas/contract/environment.ts';
import { readAwsOutageAlarmEnv } from '../../../../lambdas/wiring/env.ts';
import { parseConfig, type ShadowmailConfigInput } from '../../../../lib/config.ts';
import { buildShadowmail } from '../../../../lib/shadowmail-app.ts';
import type { CfnJson, CfnResource } from '../../../support/cfn-resource.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const EXAMPLE = cdkJson.context.shadowmail as ShadowmailConfigInput;
const ADMINS = [
  { username: 'oncall@example.com', mobile: '+4917012345678', privateEmail: 'oncall@home.example' },
  { username: 'boss@example.com', privateEmail: 'boss@home.example' },
];
const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-outage-alarm-cdk-'));
afterAll(async () => rm(outRoot, { recursive: true, force: true }));

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: CfnJson; Condition?: CfnJson };

function synthesize(admins: typeof ADMINS) {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  const config = parseConfig({ ...EXAMPLE, breakGlass: { admins } } as ShadowmailConfigInput);
  const stacks = buildShadowmail(app, config);
  return { app, template: Template.fromStack(stacks.stateless), stack: stacks.stateless };
}

const functions = (template: Template) => Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, CfnResource>);
const alarmFunction = (template: Template) =>
  functions(template).find(([, r]) => String(r.Properties.Description).startsWith('shadowmail outage alarm'));
const webmailFunction = (template: Template) =>
  functions(template).find(([, r]) => String(r.Properties.Description).startsWith('shadowmail webmail'))!;

/** The statements of the policies attached to a role (by the role's logical id). */
function statementsOf(template: Template, roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

describe('OutageAlarm in the stateless stack', () => {
  const built = synthesize(ADMINS);
  const [fnId, fn] = alarmFunction(built.template)!;
  const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;

  it('subscribes the function to the alarm topic for the backlog alarm going to ALARM only', () => {
    const subscriptions = Object.values(built.template.findResources('AWS::SNS::Subscription') as Record<string, CfnResource>).filter(
      (s) => s.Properties.Protocol === 'lambda',
    );
    expect(subscriptions).toHaveLength(1);
    const subscription = subscriptions[0]!.Properties;
    expect(subscription.Endpoint).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(JSON.stringify(subscription.TopicArn)).toMatch(/MonitoringAlarmTopic/);
    expect(subscription.FilterPolicyScope).toBe('MessageBody');
    expect(subscription.FilterPolicy).toEqual({ AlarmName: ['shadowmail-example-forward-backlog-age'], NewStateValue: ['ALARM'] });
    // The alarm of that name exists and publishes to the same topic.
    built.template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'shadowmail-example-forward-backlog-age' });
  });

  it('gives the function an environment its own schema accepts, with the admins and their channels', () => {
    const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
    const stand = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);
    const env = readAwsOutageAlarmEnv({
      ...Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, stand(value, '')])),
      [ENV.tableName]: 'shadowmail-table',
      [WEB_ENV.sessionSecretArn]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:session-AbCdEf',
      [WEB_ENV.failoverParameter]: '/shadowmail-example/failover',
      [WEB_ENV.publicUrl]: 'https://abc.execute-api.eu-west-1.amazonaws.com',
    });
    expect(env[ALARM_ENV.admins]).toEqual(ADMINS);
    expect(env[ALARM_ENV.backlogAlarmName]).toBe('shadowmail-example-forward-backlog-age');
    expect(env[ALARM_ENV.noticeFrom]).toBe('noreply@example.com');
  });

  it('grants exactly the calls of the use case', () => {
    const statements = statementsOf(built.template, roleId).filter((s) => !JSON.stringify(s.Action).includes('logs:'));
    const actions = statements.map((s) => `${s.Effect} ${[s.Action].flat().sort().join(',')}`).sort();
    expect(actions).toEqual(
      [
        'Allow dynamodb:DeleteItem,dynamodb:PutItem',
        'Allow secretsmanager:GetSecretValue',
        'Allow ses:SendEmail',
        'Allow sns:Publish',
        'Allow ssm:GetParameter',
        'Deny sns:Publish',
      ].sort(),
    );
    const dynamo = statements.find((s) => JSON.stringify(s.Action).includes('dynamodb'))!;
    expect(dynamo.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['USED#alarm-link#*', 'AUDIT#*'] } });
    const deny = statements.find((s) => s.Effect === 'Deny')!;
    expect(deny.Resource).toBe('arn:*:sns:*:*:*');
    const sms = statements.find((s) => s.Effect === 'Allow' && s.Action === 'sns:Publish')!;
    expect(sms.Resource).toBe('*');
    const ses = statements.find((s) => s.Action === 'ses:SendEmail')!;
    expect(JSON.stringify(ses.Resource)).toMatch(/:identity\/.*InboundMailIdentityexamplecom/);
    expect(JSON.stringify(ses.Resource)).not.toContain('*');
  });

  it('gives the webmail the admins for /declare, the forward queue URL and only GetQueueAttributes on it', () => {
    const [, webmail] = webmailFunction(built.template);
    const variables = webmail.Properties.Environment.Variables as Record<string, unknown>;
    expect(variables[WEB_ENV.breakGlassAdmins]).toBe('oncall@example.com,boss@example.com');
    expect(variables[ENV.forwardQueueUrl]).toBeDefined();
    const webmailRole = webmail.Properties.Role['Fn::GetAtt'][0] as string;
    const sqs = statementsOf(built.template, webmailRole).filter((s) => JSON.stringify(s.Action).includes('sqs:GetQueueAttributes'));
    expect(sqs).toHaveLength(1);
    expect(sqs[0]!.Action).toBe('sqs:GetQueueAttributes');
    expect(JSON.stringify(sqs[0]!.Resource)).toMatch(/ForwardQueue/);
  });

  it('passes AwsSolutions', () => {
    const assembly = built.app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });
});

describe('without break-glass admins', () => {
  it('has no outage alarm function or subscription (the webmail reads the forward queue for the console all the same)', () => {
    const { template } = synthesize([]);
    expect(alarmFunction(template)).toBeUndefined();
    expect(
      Object.values(template.findResources('AWS::SNS::Subscription') as Record<string, CfnResource>).filter(
        (s) => s.Properties.Protocol === 'lambda',
      ),
    ).toEqual([]);
    const variables = webmailFunction(template)[1].Properties.Environment.Variables as Record<string, unknown>;
    // Issue 16: the console's first page shows the backlog with or without break-glass admins.
    expect(variables[ENV.forwardQueueUrl]).toBeDefined();
  });
});
