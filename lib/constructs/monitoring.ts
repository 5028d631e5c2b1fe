// Monitoring of a deployment: CloudWatch alarms for what needs a person (a
// dead-letter queue with messages, a forward backlog older than the configured
// minutes, recipients that failed for good, ingest errors, a smart host that refuses
// shadowmail's settings, crashing or throttled functions, webmail 5xx), all sent to
// one KMS-encrypted SNS topic (optionally
// with an e-mail subscription), and one dashboard with the pipeline's numbers.
//
// Custom metrics are Powertools EMF metrics: namespace `shadowmail`, one
// dimension `service` = the handler's service name; names from the contract
// (lambdas/contract/metrics.ts), which the handlers emit with.
import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BACKLOG_ALARM_SUFFIX } from '../../lambdas/contract/environment.ts';
import { METRIC, METRICS_NAMESPACE, SERVICE } from '../../lambdas/contract/metrics.ts';

/** The custom metrics the alarms and the dashboard read, by emitting service. */
export const CUSTOM_METRICS = {
  [SERVICE.ingest]: [METRIC.messagesIngested, METRIC.messagesUnparsed, METRIC.ingestErrors],
  [SERVICE.forward]: [
    METRIC.recipientsDelivered,
    METRIC.recipientsDeferred,
    METRIC.recipientsFailed,
    METRIC.forwardBacklogAgeSeconds,
    METRIC.smartHostConfigurationFaults,
  ],
  [SERVICE.resend]: [
    METRIC.resendDelivered,
    METRIC.resendDeferred,
    METRIC.resendFailed,
    METRIC.resendInDoubt,
    METRIC.smartHostConfigurationFaults,
  ],
} as const;

const ALARM_PERIOD = Duration.minutes(5);

// A configuration fault never heals by itself, so it should wake someone within minutes,
// not after forwardBacklogAlarmMinutes: 1-minute periods, the first datapoint raises it.
// The forward retries at most 15 minutes apart (the SQS delay limit), so a look-back of
// 15 periods keeps the alarm raised between retries instead of flapping to OK, and lets
// it clear 15 minutes after the last refused attempt.
const CONFIGURATION_FAULT_PERIOD = Duration.minutes(1);
const CONFIGURATION_FAULT_EVALUATION_PERIODS = 15;

// The forward re-enqueues a deferred job with an SQS delay of at most 15 minutes, so
// ForwardBacklogAgeSeconds may have no datapoint for that long while the backlog is
// still there. The alarm looks at the last 20 minutes (1 of 4 periods breaching) and
// counts empty periods as fine: it neither flaps to OK between two retries nor stays
// in ALARM once the backlog is gone.
const BACKLOG_AGE_EVALUATION_PERIODS = 4;

// A single 5xx a user retries is no reason to wake anyone; a burst is.
const HTTP_API_5XX_THRESHOLD = 5;

// A bounced webmail reply reaches its sender as a bounce mail; several within an hour (a
// mistyped list, a blocking domain) are a pattern. SES pauses an account's sending at a bounce
// rate of 10% or a complaint rate of 0.5% (AWS re:Post, "Why is my Amazon SES sending account
// under review or paused?"), and the webmail sends little, so one complaint or reject counts.
const SES_BOUNCE_THRESHOLD = 5;

const labelPattern = /^[a-z][a-z0-9-]{0,30}$/;
const namePrefixPattern = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

export interface MonitoredQueue {
  /** Short lower-case name used in alarm names and legends, e.g. `ingest`. */
  label: string;
  queue: sqs.IQueue;
}

export interface MonitoredFunction {
  /** Short lower-case name used in alarm names and legends, e.g. `forward`. */
  label: string;
  fn: lambda.IFunction;
}

export interface MonitoringProps {
  /**
   * Prefix of the alarm names and the dashboard name (config.stackId). The topic
   * accepts alarm notifications only from alarms named `<prefix>-…` of this account.
   */
  namePrefix: string;
  /** Where alarms are mailed (config.alarmEmail); AWS sends a confirmation mail first. */
  alarmEmail?: string;
  /** config.forwardBacklogAlarmMinutes: a forward job waiting longer raises an alarm. */
  forwardBacklogAlarmMinutes: number;
  /** The ingest function: its Lambda errors and throttles raise alarms next to IngestErrors. */
  ingestFunction: lambda.IFunction;
  /** The forward queue: the age of its oldest message raises the backlog alarm. */
  forwardQueue: sqs.IQueue;
  /** Every dead-letter queue; each one with a message raises an alarm. */
  deadLetterQueues: MonitoredQueue[];
  /** Further work queues shown on the dashboard next to the forward queue (ingest, resend). */
  workQueues?: MonitoredQueue[];
  /** The functions other than ingest (forward, resend, webmail): an Errors and a Throttles alarm each. */
  functions: MonitoredFunction[];
  /** The webmail HTTP API: a burst of 5xx answers raises an alarm. */
  httpApiId?: string;
  /**
   * The webmail's SES sending events (WebmailSending.metric): bounces (summed over the period the
   * metric carries, an hour) and any complaint or reject raise alarms.
   */
  webmailSending?: { bounces: cloudwatch.Metric; complaints: cloudwatch.Metric; rejects: cloudwatch.Metric };
  /**
   * The account's SES sends over a day (WebmailSending.accountSends) against its sending quota per
   * 24 hours (webmail.sesDailyQuota): an alarm at SES_QUOTA_ALARM_SHARE of it.
   */
  sesQuota?: { sends: cloudwatch.Metric; dailyQuota: number };
}

/**
 * A share of the daily quota that leaves time to act (find the account that sends, or ask AWS
 * for more) before SES refuses every send, the webmail's replies and the failover notices included.
 */
export const SES_QUOTA_ALARM_SHARE = 0.8;

export class Monitoring extends Construct {
  /** Every alarm of this construct publishes here (alarm and OK). */
  readonly alarmTopic: sns.Topic;
  readonly alarmTopicKey: kms.Key;
  readonly dashboard: cloudwatch.Dashboard;
  /** The alarms by name suffix, e.g. `forward-backlog-age`. */
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;

  private readonly props: MonitoringProps;
  private readonly alarmsByName = new Map<string, cloudwatch.Alarm>();
  private readonly topicAction: cwActions.SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    validate(this, props);
    this.props = props;
    this.alarms = this.alarmsByName;

    const stack = Stack.of(this);
    // Only alarms of this deployment, in this account and region, may use the topic and its key.
    const ownAlarms = {
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${props.namePrefix}-*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
      StringEquals: { 'aws:SourceAccount': stack.account },
    };
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');

    this.alarmTopicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `${props.namePrefix}: alarm notifications (SNS topic encryption)`,
      enableKeyRotation: true,
      // Encrypts notifications in flight only; nothing stays encrypted under it.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // Without this, CloudWatch cannot publish to an encrypted topic and alarms are dropped silently.
    this.alarmTopicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsEncryptNotifications',
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: ownAlarms,
      }),
    );

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${props.namePrefix} alarms`,
      masterKey: this.alarmTopicKey,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, which would have let CloudWatch publish.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: ownAlarms,
      }),
    );
    if (props.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    this.topicAction = new cwActions.SnsAction(this.alarmTopic);

    this.addAlarms();
    this.dashboard = this.buildDashboard();
  }

  private addAlarms(): void {
    const { props } = this;
    const backlogSeconds = props.forwardBacklogAlarmMinutes * 60;

    for (const { label, queue } of props.deadLetterQueues) {
      this.alarm(`dlq-${label}-not-empty`, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: ALARM_PERIOD, statistic: 'Maximum' }),
        threshold: 1,
        // SQS publishes nothing for an empty, idle queue; a queue holding messages always reports.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description: `The ${label} dead-letter queue holds messages that failed every attempt. Find the cause (the function's logs; for notifications, SNS's delivery to the ingest queue), fix it, then: shadowmail redrive --stack ${props.namePrefix} --queue ${label}`,
      });
    }

    this.alarm('forward-queue-backlog', {
      metric: props.forwardQueue.metricApproximateAgeOfOldestMessage({ period: ALARM_PERIOD, statistic: 'Maximum' }),
      threshold: backlogSeconds,
      // Missing means an idle, empty queue. A forward function that stopped consuming shows here.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `A forward job has waited in the queue for over ${props.forwardBacklogAlarmMinutes} minutes: the forward function is not consuming (errors, throttling, disabled trigger).`,
    });

    this.alarm(BACKLOG_ALARM_SUFFIX, {
      metric: customMetric(SERVICE.forward, METRIC.forwardBacklogAgeSeconds, 'Maximum', ALARM_PERIOD),
      threshold: backlogSeconds,
      evaluationPeriods: BACKLOG_AGE_EVALUATION_PERIODS,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `Mail received over ${props.forwardBacklogAlarmMinutes} minutes ago is still not delivered to the smart host (deferred and re-queued). Check the forward function's logs and the Exchange receive connector; consider the failover switch.`,
    });

    this.alarm('recipients-failed', {
      metric: customMetric(SERVICE.forward, METRIC.recipientsFailed, 'Sum', ALARM_PERIOD),
      threshold: 1,
      // Emitted only when a message was forwarded; no mail, no failure.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description:
        'The smart host refused recipients for good (5xx), or a message expired or looped. Trace the message in the admin console; resend after fixing the cause.',
    });

    for (const [label, service] of [
      ['forward', SERVICE.forward],
      ['resend', SERVICE.resend],
    ] as const) {
      this.alarm(`${label}-smart-host-config-fault`, {
        metric: customMetric(service, METRIC.smartHostConfigurationFaults, 'Sum', CONFIGURATION_FAULT_PERIOD),
        threshold: 1,
        evaluationPeriods: CONFIGURATION_FAULT_EVALUATION_PERIODS,
        datapointsToAlarm: 1,
        // Emitted only when a relay was refused on the settings; no refusal, no datapoint.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description: `A configuration fault: Exchange refused the ${label} function's login (or asked for one) or TLS failed as configured. Mail is kept and retried, but none arrives until the smart-host secret, certificate or receive connector is fixed. shadowmail trace shows the reply; shadowmail doctor probes the way in.`,
      });
    }

    this.alarm('ingest-errors', {
      metric: customMetric(SERVICE.ingest, METRIC.ingestErrors, 'Sum', ALARM_PERIOD),
      threshold: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description:
        'A received message could not be indexed (it is retried, then lands in the ingest dead-letter queue). See the ingest function logs.',
    });
    for (const monitored of [{ label: 'ingest', fn: props.ingestFunction }, ...props.functions]) this.functionAlarms(monitored);

    if (props.httpApiId !== undefined) {
      this.alarm('webmail-api-5xx', {
        metric: httpApi5xx(props.httpApiId),
        threshold: HTTP_API_5XX_THRESHOLD,
        // No requests, no server errors.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description: `The webmail HTTP API answered ${HTTP_API_5XX_THRESHOLD} or more requests with 5xx within 5 minutes. See the webmail function logs.`,
      });
    }

    if (props.webmailSending !== undefined) {
      const { bounces, complaints, rejects } = props.webmailSending;
      this.alarm('webmail-ses-bounces', {
        metric: bounces,
        threshold: SES_BOUNCE_THRESHOLD,
        // SES publishes only when something bounced.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description: `Mail sent from the webmail bounced ${SES_BOUNCE_THRESHOLD} or more times within an hour. Each sender got the bounce by mail; look for a pattern (a mistyped list, a domain refusing us) in the SES console's reputation page: a high bounce rate pauses the account's SES sending.`,
      });
      this.alarm('webmail-ses-complaints-rejects', {
        metric: new cloudwatch.MathExpression({
          expression: 'FILL(complaints, 0) + FILL(rejects, 0)',
          usingMetrics: { complaints, rejects },
          period: ALARM_PERIOD,
          label: 'complaints + rejects',
        }),
        threshold: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description:
          "A recipient marked mail from the webmail as spam, or SES rejected a message (a virus). Find the message in the Sent folder of its sender; complaints weigh heavily on the account's SES reputation.",
      });
    }
    this.sesQuotaAlarm(props);
  }

  private sesQuotaAlarm(props: MonitoringProps): void {
    if (props.sesQuota === undefined) return;
    const { sends, dailyQuota } = props.sesQuota;
    const threshold = Math.ceil(dailyQuota * SES_QUOTA_ALARM_SHARE);
    this.alarm('ses-sending-quota', {
      metric: sends,
      threshold,
      // No mail sent, nothing used of the quota.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `The account sent ${threshold} or more messages through SES within a day: ${SES_QUOTA_ALARM_SHARE * 100}% of its sending quota of ${dailyQuota} (webmail.sesDailyQuota). At the quota SES refuses every send, the webmail's included. Find who sends (the audit log's mail.send.limited entries, the webmail's log), or ask AWS for a higher quota.`,
    });
  }

  private functionAlarms({ label, fn }: MonitoredFunction): void {
    this.alarm(`${label}-lambda-errors`, {
      metric: fn.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
      threshold: 1,
      // A function that is not invoked has no errors.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `The ${label} function failed whole invocations (crash, timeout, out of memory), not single records. See its logs.`,
    });
    this.alarm(`${label}-lambda-throttles`, {
      metric: fn.metricThrottles({ period: ALARM_PERIOD, statistic: 'Sum' }),
      threshold: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `Invocations of the ${label} function were throttled: its reserved concurrency (webmail.reservedConcurrency) or the account's unreserved concurrency is used up. Check Lambda concurrency in this region.`,
    });
  }

  private alarm(
    suffix: string,
    options: {
      metric: cloudwatch.IMetric;
      threshold: number;
      treatMissingData: cloudwatch.TreatMissingData;
      description: string;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `Alarm-${suffix}`, {
      alarmName: `${this.props.namePrefix}-${suffix}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm ?? options.evaluationPeriods ?? 1,
      treatMissingData: options.treatMissingData,
    });
    alarm.addAlarmAction(this.topicAction);
    alarm.addOkAction(this.topicAction);
    this.alarmsByName.set(suffix, alarm);
    return alarm;
  }

  private buildDashboard(): cloudwatch.Dashboard {
    const { props } = this;
    const functions: MonitoredFunction[] = [{ label: 'ingest', fn: props.ingestFunction }, ...props.functions];
    const workQueues: MonitoredQueue[] = [
      { label: 'forward', queue: props.forwardQueue },
      ...(props.workQueues ?? []).filter(({ queue }) => queue !== props.forwardQueue),
    ];
    const byLabel = <T extends { label: string }>(items: T[], metric: (item: T) => cloudwatch.Metric): cloudwatch.IMetric[] =>
      items.map((item) => metric(item).with({ label: item.label }));
    const sums = (service: string, names: readonly string[]) =>
      names.map((name) => customMetric(service, name, 'Sum', ALARM_PERIOD).with({ label: name }));
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
    const backlogLine: cloudwatch.HorizontalAnnotation = {
      value: props.forwardBacklogAlarmMinutes * 60,
      label: `backlog alarm (${props.forwardBacklogAlarmMinutes} min)`,
    };

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.namePrefix,
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarmsByName.values()], width: 24, height: 4 }),
    );
    dashboard.addWidgets(
      graph('Ingest: messages', sums(SERVICE.ingest, CUSTOM_METRICS[SERVICE.ingest])),
      graph('Forward: recipients', sums(SERVICE.forward, [METRIC.recipientsDelivered, METRIC.recipientsDeferred, METRIC.recipientsFailed])),
      graph(
        'Resend: recipients',
        sums(SERVICE.resend, [METRIC.resendDelivered, METRIC.resendDeferred, METRIC.resendFailed, METRIC.resendInDoubt]),
      ),
    );
    dashboard.addWidgets(
      graph(
        'Queue depth (visible messages)',
        byLabel(workQueues, ({ queue }) => queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' })),
      ),
      graph(
        'Oldest waiting job (seconds)',
        [
          ...byLabel(workQueues, ({ queue }) => queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' })),
          customMetric(SERVICE.forward, METRIC.forwardBacklogAgeSeconds, 'Maximum', ALARM_PERIOD).with({
            label: 'forward backlog (since receipt)',
          }),
        ],
        { leftAnnotations: [backlogLine] },
      ),
      graph(
        'Dead-letter queues (visible messages)',
        byLabel(props.deadLetterQueues, ({ queue }) => queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' })),
      ),
    );
    dashboard.addWidgets(
      graph('Lambda errors and throttles', [
        ...functions.map(({ label, fn }) => fn.metricErrors({ statistic: 'Sum' }).with({ label: `${label} errors` })),
        ...functions.map(({ label, fn }) => fn.metricThrottles({ statistic: 'Sum' }).with({ label: `${label} throttles` })),
      ]),
      graph(
        'Lambda duration (p99, ms)',
        byLabel(functions, ({ fn }) => fn.metricDuration({ statistic: 'p99' })),
      ),
      graph(
        'Lambda concurrency (max)',
        byLabel(functions, ({ fn }) => fn.metric('ConcurrentExecutions', { statistic: 'Maximum' })),
      ),
    );
    dashboard.addWidgets(
      graph(
        'Smart host: configuration faults (login, TLS)',
        [SERVICE.forward, SERVICE.resend].map((service) =>
          customMetric(service, METRIC.smartHostConfigurationFaults, 'Sum', CONFIGURATION_FAULT_PERIOD).with({ label: service }),
        ),
        { width: 24 },
      ),
    );
    const { httpApiId, webmailSending } = props;
    const webmailGraphs: Array<[string, cloudwatch.IMetric[]]> = [
      ...(httpApiId !== undefined
        ? [['Webmail API 5xx', [httpApi5xx(httpApiId).with({ label: '5xx' })]] as [string, cloudwatch.IMetric[]]]
        : []),
      ...(webmailSending !== undefined
        ? [
            [
              'Webmail sending (SES events)',
              [
                webmailSending.bounces.with({ label: 'bounces', period: ALARM_PERIOD }),
                webmailSending.complaints.with({ label: 'complaints' }),
                webmailSending.rejects.with({ label: 'rejects' }),
              ],
            ] as [string, cloudwatch.IMetric[]],
          ]
        : []),
    ];
    if (webmailGraphs.length > 0)
      dashboard.addWidgets(...webmailGraphs.map(([title, metrics]) => graph(title, metrics, { width: 24 / webmailGraphs.length })));
    return dashboard;
  }
}

function customMetric(service: string, metricName: string, statistic: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period });
}

function httpApi5xx(apiId: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ApiGateway',
    metricName: '5xx',
    dimensionsMap: { ApiId: apiId },
    statistic: 'Sum',
    period: ALARM_PERIOD,
  });
}

function validate(scope: Construct, props: MonitoringProps): void {
  const where = scope.node.path;
  if (!Token.isUnresolved(props.namePrefix) && !namePrefixPattern.test(props.namePrefix)) {
    throw new Error(
      `${where}: namePrefix ${JSON.stringify(props.namePrefix)} must be a letter, then letters, digits or dashes (at most 40)`,
    );
  }
  if (!Number.isInteger(props.forwardBacklogAlarmMinutes) || props.forwardBacklogAlarmMinutes < 1) {
    throw new Error(`${where}: forwardBacklogAlarmMinutes must be a whole number of minutes, got ${props.forwardBacklogAlarmMinutes}`);
  }
  for (const [kind, labels] of [
    ['deadLetterQueues', props.deadLetterQueues.map((q) => q.label)],
    ['functions', ['ingest', ...props.functions.map((f) => f.label)]],
    ['workQueues', (props.workQueues ?? []).map((q) => q.label)],
  ] as const) {
    for (const label of labels) {
      if (!labelPattern.test(label))
        throw new Error(`${where}: ${kind} label ${JSON.stringify(label)} must be lower-case letters, digits or dashes`);
    }
    const repeated = labels.find((label, i) => labels.indexOf(label) !== i);
    if (repeated !== undefined) throw new Error(`${where}: ${kind} label ${JSON.stringify(repeated)} is used twice`);
  }
}
