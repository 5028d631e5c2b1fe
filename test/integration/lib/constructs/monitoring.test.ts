// The Monitoring construct as CloudFormation: every alarm's metric, threshold,
// comparison and missing-data rule, all wired to the one encrypted alarm topic that
// only this deployment's alarms may use; the e-mail subscription; the dashboard's
// metrics; the custom metric names held against what the handlers emit; and
// cdk-nag AwsSolutions clean. Bundling is skipped (`aws:cdk:bundling-stacks: []`).
import { mkdtempSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE, SERVICE } from '../../../../lambdas/contract/metrics.ts';
import { FORWARD_LIMITS, INGEST_LIMITS } from '../../../../lambdas/contract/pipeline-limits.ts';
import { MailFunction } from '../../../../lib/constructs/mail-function.ts';
import { CUSTOM_METRICS, Monitoring, type MonitoringProps } from '../../../../lib/constructs/monitoring.ts';
import { WebmailSending } from '../../../../lib/constructs/webmail-sending.ts';
import { WorkQueue } from '../../../../lib/constructs/work-queue.ts';
import type { CfnJson, CfnResource } from '../../../support/cfn-resource.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-monitoring-'));
afterAll(async () => {
  await rm(outRoot, { recursive: true, force: true });
});

const PREFIX = 'shadowmail-test';
const BACKLOG_MINUTES = 45;
const API_ID = 'a1b2c3d4e5';

type Resource = CfnResource;

interface Built {
  app: App;
  stack: Stack;
  template: Template;
  ids: { topic: string; key: string; queue: Record<string, string>; dlq: Record<string, string>; fn: Record<string, string> };
}

/** A stack shaped like the real one: three work queues with DLQs, four functions, the monitoring. */
function build(overrides: Partial<MonitoringProps> = {}): Built {
  const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Monitored');
  const queues = {
    ingest: new WorkQueue(stack, 'IngestQueue', { consumer: INGEST_LIMITS }),
    forward: new WorkQueue(stack, 'ForwardQueue', { consumer: FORWARD_LIMITS }),
    resend: new WorkQueue(stack, 'ResendQueue', { consumer: FORWARD_LIMITS }),
  };
  const fn = (id: string, entry: string) =>
    new MailFunction(stack, id, { entry, description: id, timeout: Duration.minutes(1), memoryMiB: 256, environment: {} });
  const functions = {
    ingest: fn('Ingest', 'lambdas/entry/ingest.ts'),
    forward: fn('Forward', 'lambdas/entry/forward.ts'),
    resend: fn('Resend', 'lambdas/entry/resend.ts'),
    webmail: fn('Webmail', 'lambdas/entry/webmail.ts'),
  };
  const sending = new WebmailSending(stack, 'WebmailSending', { configurationSetName: `${PREFIX}-webmail` });
  const monitoring = new Monitoring(stack, 'Monitoring', {
    namePrefix: PREFIX,
    alarmEmail: 'it-alerts@corp.example',
    forwardBacklogAlarmMinutes: BACKLOG_MINUTES,
    ingestFunction: functions.ingest.function,
    forwardQueue: queues.forward.queue,
    deadLetterQueues: Object.entries(queues).map(([label, q]) => ({ label, queue: q.deadLetterQueue })),
    workQueues: [
      { label: 'ingest', queue: queues.ingest.queue },
      { label: 'resend', queue: queues.resend.queue },
    ],
    functions: (['forward', 'resend', 'webmail'] as const).map((label) => ({ label, fn: functions[label].function })),
    httpApiId: API_ID,
    webmailSending: {
      bounces: sending.metric('Bounce', Duration.hours(1)),
      complaints: sending.metric('Complaint'),
      rejects: sending.metric('Reject'),
    },
    sesQuota: { sends: WebmailSending.accountSends(Duration.days(1)), dailyQuota: 50_000 },
    ...overrides,
  });
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const record = <T>(source: Record<string, T>, pick: (t: T) => { node: { defaultChild?: unknown } }) =>
    Object.fromEntries(Object.entries(source).map(([k, v]) => [k, logicalId(pick(v))]));
  return {
    app,
    stack,
    template: Template.fromStack(stack),
    ids: {
      topic: logicalId(monitoring.alarmTopic),
      key: logicalId(monitoring.alarmTopicKey),
      queue: record(queues, (q) => q.queue),
      dlq: record(queues, (q) => q.deadLetterQueue),
      fn: record(functions, (f) => f.function),
    },
  };
}

const alarmsOf = (template: Template) => template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>;
const alarmNamed = (template: Template, suffix: string): Resource['Properties'] => {
  const matches = Object.values(alarmsOf(template)).filter((a) => a.Properties.AlarmName === `${PREFIX}-${suffix}`);
  expect(matches, `alarm ${PREFIX}-${suffix}`).toHaveLength(1);
  return matches[0]!.Properties;
};
const serviceDimension = (service: string) => [{ Name: 'service', Value: service }];

let built: Built;
beforeAll(() => {
  built = build();
});

describe('alarms', () => {
  it('sends every alarm to the alarm topic, both when it fires and when it clears, under the deployment prefix', () => {
    // Act
    const alarms = Object.values(alarmsOf(built.template));

    // Assess
    // 3 DLQs + queue age + backlog age + failed recipients + IngestErrors + smart-host configuration faults of forward and resend
    // + errors and throttles of 4 functions + API 5xx + SES bounces + SES complaints/rejects + SES sending quota
    expect(alarms).toHaveLength(3 + 1 + 1 + 1 + 1 + 2 + 4 * 2 + 1 + 2 + 1);
    for (const { Properties: alarm } of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: built.ids.topic }]);
      expect(alarm.OKActions).toEqual([{ Ref: built.ids.topic }]);
      expect(alarm.AlarmName).toMatch(new RegExp(`^${PREFIX}-[a-z0-9-]+$`));
      expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
      expect(alarm.AlarmDescription).toEqual(expect.any(String));
    }
  });

  it("raises an alarm when the account's SES sends within a day reach 80% of its sending quota, counted account-wide", () => {
    // Act
    const quota = alarmNamed(built.template, 'ses-sending-quota');
    const small = alarmNamed(
      build({ sesQuota: { sends: WebmailSending.accountSends(Duration.days(1)), dailyQuota: 200 } }).template,
      'ses-sending-quota',
    );
    const without = build({ sesQuota: undefined }).template;

    // Assess: no dimensions, so every send of the account counts, as every send uses its quota.
    expect(quota).toMatchObject({
      Namespace: 'AWS/SES',
      MetricName: 'Send',
      Statistic: 'Sum',
      Period: 86_400,
      Threshold: 40_000,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(quota.Dimensions).toBeUndefined();
    expect(small.Threshold).toBe(160);
    expect(Object.values(alarmsOf(without)).map((a) => a.Properties.AlarmName)).not.toContain(`${PREFIX}-ses-sending-quota`);
  });

  it.each(['ingest', 'forward', 'resend'])('raises an alarm when the %s dead-letter queue holds a message', (label) => {
    // Act
    const alarm = alarmNamed(built.template, `dlq-${label}-not-empty`);

    // Assess
    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [built.ids.dlq[label], 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.AlarmDescription).toContain(`shadowmail redrive --stack ${PREFIX} --queue ${label}`);
  });

  it('raises the backlog alarm on the forward queue age and on the age since receipt the forward reports', () => {
    // Act
    const queueAge = alarmNamed(built.template, 'forward-queue-backlog');
    const backlogAge = alarmNamed(built.template, 'forward-backlog-age');

    // Assess
    expect(queueAge).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [built.ids.queue.forward, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: BACKLOG_MINUTES * 60,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(backlogAge).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: 'ForwardBacklogAgeSeconds',
      Dimensions: serviceDimension('shadowmail-forward'),
      Statistic: 'Maximum',
      Period: 300,
      Threshold: BACKLOG_MINUTES * 60,
      TreatMissingData: 'notBreaching',
    });
    // A deferred job comes back after an SQS delay of up to 15 minutes: the window must be longer.
    expect(backlogAge.DatapointsToAlarm).toBe(1);
    expect(backlogAge.EvaluationPeriods * backlogAge.Period).toBeGreaterThan(15 * 60);
  });

  it('raises alarms on recipients refused for good and on ingest errors, from the handlers custom metrics', () => {
    // Act
    const failed = alarmNamed(built.template, 'recipients-failed');
    const ingest = alarmNamed(built.template, 'ingest-errors');

    // Assess
    const common = {
      Namespace: METRICS_NAMESPACE,
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    };
    expect(failed).toMatchObject({ ...common, MetricName: 'RecipientsFailed', Dimensions: serviceDimension('shadowmail-forward') });
    expect(ingest).toMatchObject({ ...common, MetricName: 'IngestErrors', Dimensions: serviceDimension('shadowmail-ingest') });
  });

  it.each([
    ['forward', 'shadowmail-forward'],
    ['resend', 'shadowmail-resend'],
  ])('raises an alarm within minutes when the smart host refuses the %s function on its settings (login, TLS)', (label, service) => {
    // Act
    const alarm = alarmNamed(built.template, `${label}-smart-host-config-fault`);

    // Assess
    expect(alarm).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: 'SmartHostConfigurationFaults',
      Dimensions: serviceDimension(service),
      Statistic: 'Sum',
      Threshold: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    // the first fault raises it within a minute or two (1-minute periods, one datapoint)...
    expect(alarm.Period).toBe(60);
    // ...and it stays raised while the retries (at most 15 minutes apart) keep failing
    expect(alarm.EvaluationPeriods * alarm.Period).toBeGreaterThanOrEqual(15 * 60);
    expect(alarm.AlarmDescription).toMatch(/configuration fault.*trace/i);
  });

  it.each(['ingest', 'forward', 'resend', 'webmail'])('raises alarms on failed and throttled invocations of the %s function', (label) => {
    // Act
    const errors = alarmNamed(built.template, `${label}-lambda-errors`);
    const throttles = alarmNamed(built.template, `${label}-lambda-throttles`);

    // Assess
    for (const [alarm, metricName] of [
      [errors, 'Errors'],
      [throttles, 'Throttles'],
    ] as const) {
      expect(alarm).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: built.ids.fn[label] } }],
        Statistic: 'Sum',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('raises an alarm on a burst of webmail 5xx only when an HTTP API is given', () => {
    // Act
    const withApi = alarmNamed(built.template, 'webmail-api-5xx');
    const withoutApi = build({ httpApiId: undefined }).template;

    // Assess
    expect(withApi).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: API_ID }],
      Statistic: 'Sum',
      Threshold: 5,
      TreatMissingData: 'notBreaching',
    });
    expect(Object.values(alarmsOf(withoutApi)).map((a) => a.Properties.AlarmName)).not.toContain(`${PREFIX}-webmail-api-5xx`);
    expect(Object.values(alarmsOf(withoutApi))).toHaveLength(Object.values(alarmsOf(built.template)).length - 1);
  });

  it("raises alarms on the webmail's SES bounces (5 within an hour) and on any complaint or reject, counted for its configuration set only", () => {
    // Act
    const bounces = alarmNamed(built.template, 'webmail-ses-bounces');
    const complaints = alarmNamed(built.template, 'webmail-ses-complaints-rejects');
    const withoutSending = build({ webmailSending: undefined }).template;
    const dimension = [{ Name: 'ses:configuration-set', Value: `${PREFIX}-webmail` }];

    // Assess
    expect(bounces).toMatchObject({
      Namespace: 'AWS/SES',
      MetricName: 'Bounce',
      Dimensions: dimension,
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 5,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(complaints).toMatchObject({ Threshold: 1, EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const metrics = complaints.Metrics as Array<{
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown }; Period: number; Stat: string };
    }>;
    expect(metrics.find((m) => m.Expression)!.Expression).toBe('FILL(complaints, 0) + FILL(rejects, 0)');
    expect(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat!.Metric, m.MetricStat!.Period, m.MetricStat!.Stat])).toEqual([
      ['complaints', { Namespace: 'AWS/SES', MetricName: 'Complaint', Dimensions: dimension }, 300, 'Sum'],
      ['rejects', { Namespace: 'AWS/SES', MetricName: 'Reject', Dimensions: dimension }, 300, 'Sum'],
    ]);
    expect(Object.values(alarmsOf(withoutSending)).map((a) => a.Properties.AlarmName)).not.toContain(`${PREFIX}-webmail-ses-bounces`);
    expect(Object.values(alarmsOf(withoutSending))).toHaveLength(Object.values(alarmsOf(built.template)).length - 2);
  });

  it.each([
    ['a label with capitals', { deadLetterQueues: [{ label: 'Ingest' }] }, /deadLetterQueues label "Ingest"/],
    ['a function label twice', { functions: [{ label: 'forward' }, { label: 'forward' }] }, /functions label "forward" is used twice/],
    ['the ingest label for another function', { functions: [{ label: 'ingest' }] }, /functions label "ingest" is used twice/],
    ['a fractional backlog', { forwardBacklogAlarmMinutes: 2.5 }, /forwardBacklogAlarmMinutes must be a whole number/],
    ['a prefix with spaces', { namePrefix: 'shadow mail' }, /namePrefix "shadow mail"/],
  ])('refuses %s, naming it', (_what, overrides, message) => {
    // Prepare
    const stack = new Stack(new App({ outdir: mkdtempSync(join(outRoot, 'bad-')), context: { 'aws:cdk:bundling-stacks': [] } }), 'Bad');
    const queue = new WorkQueue(stack, 'Queue', { consumer: INGEST_LIMITS });
    const fn = new MailFunction(stack, 'Fn', {
      entry: 'lambdas/entry/ingest.ts',
      description: 'x',
      timeout: Duration.minutes(1),
      memoryMiB: 128,
      environment: {},
    });
    const withQueue = (list?: Array<{ label: string }>) => list?.map(({ label }) => ({ label, queue: queue.deadLetterQueue }));
    const withFn = (list?: Array<{ label: string }>) => list?.map(({ label }) => ({ label, fn: fn.function }));
    const o = overrides as {
      deadLetterQueues?: Array<{ label: string }>;
      functions?: Array<{ label: string }>;
      namePrefix?: string;
      forwardBacklogAlarmMinutes?: number;
    };

    // Act
    const attempt = () =>
      new Monitoring(stack, 'Monitoring', {
        namePrefix: o.namePrefix ?? PREFIX,
        forwardBacklogAlarmMinutes: o.forwardBacklogAlarmMinutes ?? 30,
        ingestFunction: fn.function,
        forwardQueue: queue.queue,
        deadLetterQueues: withQueue(o.deadLetterQueues) ?? [],
        functions: withFn(o.functions) ?? [],
      });

    // Assess
    expect(attempt).toThrow(message);
  });
});

describe('alarm topic', () => {
  it('encrypts the topic with its own rotating key that CloudWatch may use only for this deployment alarms', () => {
    // Act
    const topic = built.template.findResources('AWS::SNS::Topic')[built.ids.topic] as Resource;
    const key = built.template.findResources('AWS::KMS::Key')[built.ids.key] as Resource;

    // Assess
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [built.ids.key, 'Arn'] });
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual({
      Sid: 'CloudWatchAlarmsEncryptNotifications',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: {
        ArnLike: {
          'aws:SourceArn': {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':cloudwatch:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                `:alarm:${PREFIX}-*`,
              ],
            ],
          },
        },
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      },
    });
  });

  it('lets only TLS requests in and only this deployment alarms publish', () => {
    // Act
    const policies = Object.values(built.template.findResources('AWS::SNS::TopicPolicy') as Record<string, Resource>);

    // Assess
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.Topics).toEqual([{ Ref: built.ids.topic }]);
    const statements = policies[0]!.Properties.PolicyDocument.Statement as Array<Record<string, CfnJson>>;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const publish = statements.find((s) => s.Sid === 'CloudWatchAlarmsPublish');
    expect(publish).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: built.ids.topic },
    });
    // The condition's pattern covers every alarm of the construct (else their notifications are refused).
    const pattern = (publish!.Condition.ArnLike['aws:SourceArn']['Fn::Join'][1] as unknown[]).at(-1) as string;
    expect(pattern).toBe(`:alarm:${PREFIX}-*`);
    for (const alarm of Object.values(alarmsOf(built.template))) expect(alarm.Properties.AlarmName.startsWith(`${PREFIX}-`)).toBe(true);
  });

  it('subscribes the alarm e-mail address when one is configured, and nobody otherwise', () => {
    // Act
    const withoutEmail = build({ alarmEmail: undefined }).template;

    // Assess
    built.template.resourceCountIs('AWS::SNS::Subscription', 1);
    built.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'it-alerts@corp.example',
      TopicArn: { Ref: built.ids.topic },
    });
    withoutEmail.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('dashboard', () => {
  /** The dashboard body as JSON, CloudFormation references replaced by readable placeholders. */
  function dashboardBody(template: Template): {
    widgets: Array<{ properties: { title?: string; metrics?: unknown[][]; alarms?: unknown[] } }>;
  } {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard') as Record<string, Resource>);
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.Properties.DashboardName).toBe(PREFIX);
    const parts = dashboards[0]!.Properties.DashboardBody['Fn::Join'][1] as unknown[];
    const text = parts
      .map((part) => {
        if (typeof part === 'string') return part;
        const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
        return ref.Ref !== undefined ? `{Ref ${ref.Ref}}` : `{GetAtt ${ref['Fn::GetAtt']!.join('.')}}`;
      })
      .join('');
    return JSON.parse(text);
  }

  /** The metrics of a widget as "namespace metric dimension=value …" lines. */
  function metricsOf(widget: { properties: { metrics?: unknown[][] } }): string[] {
    return (widget.properties.metrics ?? []).map((row) => {
      const [namespace, name, ...rest] = row.filter((cell) => typeof cell === 'string') as string[];
      const dims = [];
      for (let i = 0; i + 1 < rest.length; i += 2) dims.push(`${rest[i]}=${rest[i + 1]}`);
      return [namespace, name, ...dims].join(' ');
    });
  }

  it('shows the alarms and graphs ingest, forward, resend, queues, dead-letter queues and the functions', () => {
    // Act
    const body = dashboardBody(built.template);
    const byTitle = new Map(body.widgets.map((w) => [w.properties.title, w]));
    const metrics = (title: string) => metricsOf(byTitle.get(title)!);
    const { queue, dlq, fn } = built.ids;

    // Assess
    expect(byTitle.get('Alarms')!.properties.alarms).toHaveLength(Object.keys(alarmsOf(built.template)).length);
    expect(metrics('Ingest: messages')).toEqual(
      ['MessagesIngested', 'MessagesUnparsed', 'IngestErrors'].map((m) => `shadowmail ${m} service=shadowmail-ingest`),
    );
    expect(metrics('Forward: recipients')).toEqual(
      ['RecipientsDelivered', 'RecipientsDeferred', 'RecipientsFailed'].map((m) => `shadowmail ${m} service=shadowmail-forward`),
    );
    expect(metrics('Resend: recipients')).toEqual(
      expect.arrayContaining(['ResendDelivered', 'ResendFailed'].map((m) => `shadowmail ${m} service=shadowmail-resend`)),
    );
    expect(metrics('Queue depth (visible messages)')).toEqual(
      [queue.forward, queue.ingest, queue.resend].map(
        (id) => `AWS/SQS ApproximateNumberOfMessagesVisible QueueName={GetAtt ${id}.QueueName}`,
      ),
    );
    expect(metrics('Oldest waiting job (seconds)')).toEqual([
      ...[queue.forward, queue.ingest, queue.resend].map(
        (id) => `AWS/SQS ApproximateAgeOfOldestMessage QueueName={GetAtt ${id}.QueueName}`,
      ),
      'shadowmail ForwardBacklogAgeSeconds service=shadowmail-forward',
    ]);
    expect(metrics('Dead-letter queues (visible messages)')).toEqual(
      [dlq.ingest, dlq.forward, dlq.resend].map((id) => `AWS/SQS ApproximateNumberOfMessagesVisible QueueName={GetAtt ${id}.QueueName}`),
    );
    const functionIds = [fn.ingest, fn.forward, fn.resend, fn.webmail];
    expect(metrics('Lambda errors and throttles')).toEqual([
      ...functionIds.map((id) => `AWS/Lambda Errors FunctionName={Ref ${id}}`),
      ...functionIds.map((id) => `AWS/Lambda Throttles FunctionName={Ref ${id}}`),
    ]);
    expect(metrics('Lambda duration (p99, ms)')).toEqual(functionIds.map((id) => `AWS/Lambda Duration FunctionName={Ref ${id}}`));
    expect(metrics('Lambda concurrency (max)')).toEqual(
      functionIds.map((id) => `AWS/Lambda ConcurrentExecutions FunctionName={Ref ${id}}`),
    );
    expect(metrics('Webmail API 5xx')).toEqual([`AWS/ApiGateway 5xx ApiId=${API_ID}`]);
    expect(metrics('Smart host: configuration faults (login, TLS)')).toEqual(
      ['shadowmail-forward', 'shadowmail-resend'].map((service) => `shadowmail SmartHostConfigurationFaults service=${service}`),
    );
    expect(metrics('Webmail sending (SES events)')).toEqual(
      ['Bounce', 'Complaint', 'Reject'].map((m) => `AWS/SES ${m} ses:configuration-set=${PREFIX}-webmail`),
    );
  });
});

describe('custom metric names', () => {
  it('reads only metrics the handlers emit, under the service names the wiring gives them', async () => {
    // Prepare
    const handlers = await Promise.all(
      ['ingest', 'forward', 'resend'].map((h) => readFile(join(ROOT, `lambdas/handlers/${h}.ts`), 'utf8')),
    );
    const wiring = await Promise.all(
      ['aws.ts', 'local.ts', 'local-resend.ts'].map((w) => readFile(join(ROOT, 'lambdas/wiring', w), 'utf8')),
    );
    const observability = await readFile(join(ROOT, 'lambdas/handlers/observability.ts'), 'utf8');

    // Act: every name comes from the contract (lambdas/contract/metrics.ts), none is spelled out
    const metricArguments = handlers.flatMap((text) => [...text.matchAll(/addMetric\(\s*([^,]+),/g)].map((m) => m[1]!.trim()));
    const emitted = new Set(
      metricArguments.map((arg) => METRIC[/^METRIC\.(\w+)$/.exec(arg)?.[1] as keyof typeof METRIC] ?? `not from the contract: ${arg}`),
    );
    const services = new Set(
      wiring.flatMap((text) =>
        [...text.matchAll(/createObservability\(SERVICE\.(\w+)\)/g)].map((m) => SERVICE[m[1] as keyof typeof SERVICE]),
      ),
    );

    // Assess
    expect(metricArguments.length).toBeGreaterThan(10);
    expect([...emitted].filter((name) => name.startsWith('not from'))).toEqual([]);
    expect(observability).toContain('namespace: METRICS_NAMESPACE');
    expect(METRICS_NAMESPACE).toBe('shadowmail');
    for (const service of [SERVICE.ingest, SERVICE.forward, SERVICE.resend]) expect(services).toContain(service);
    const read = Object.values(CUSTOM_METRICS).flat();
    expect(read.filter((name) => !emitted.has(name))).toEqual([]);
  });
});

describe('cdk-nag', () => {
  it('passes AwsSolutions with every finding fixed or acknowledged', () => {
    // Act
    const assembly = built.app.synth();

    // Assess
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });
});
