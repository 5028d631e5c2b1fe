// doctor, operations: the failover parameter reads (with the adapter's parser); the
// alarm topic has a confirmed subscription; every dead-letter queue (each
// DeadLetterQueue<Label>Url output, present or future) is empty; the forward backlog;
// no alarm of the stack is firing; the account's Lambda concurrency leaves room.
//
// The backlog is the forward's own metric ForwardBacklogAgeSeconds (age since receipt
// of mail that was deferred again), not the queue's ApproximateAgeOfOldestMessage: a
// deferred job goes back to SQS as a new message, so the queue's age restarts with
// every retry (lambdas/handlers/forward.ts). Doctor reads the metric, window and
// threshold from the stack's `<stackId>-forward-backlog-age` alarm, so it looks at
// exactly what the alarm looks at and repeats none of its names.
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { type AccountLimit, GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListSubscriptionsByTopicCommand, SNSClient, type Subscription } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmFailoverFlag } from '../../../lambdas/adapters/aws/ssm-failover-flag.ts';
import type { FailoverState } from '../../../lambdas/ports/failover-flag.ts';
import {
  LAMBDA_DEFAULT_CONCURRENCY_QUOTA as DEFAULT_CONCURRENCY_QUOTA,
  LAMBDA_MIN_UNRESERVED_CONCURRENCY as MIN_UNRESERVED_CONCURRENCY,
} from '../../../lib/lambda-quotas.ts';
import { cliAwsConfig } from '../aws-clients.ts';
import { DEAD_LETTER_QUEUE_OUTPUT } from '../deployed-target.ts';
import { type Check, callFailed, fail, ok, warn } from './check.ts';
import { type DoctorContext, missingOutput } from './context.ts';

export function failoverCheck(parameter: string, state: FailoverState | Error): Check {
  const name = `failover parameter ${parameter}`;
  if (state instanceof Error) {
    return fail(
      'operations',
      name,
      `cannot be read: ${state.message}${state.cause ? ` (${String((state.cause as Error).message ?? state.cause)})` : ''}`,
      'grant ssm:GetParameter on it; an invalid value is fixed by switching once: shadowmail failover off --stack …',
    );
  }
  if (state.on) {
    return warn(
      'operations',
      name,
      `ON since ${state.since ?? '?'}${state.changedBy ? ` (${state.changedBy})` : ''}: the emergency webmail is open to staff`,
      'expected during an outage or a drill; otherwise: shadowmail failover off --stack …',
    );
  }
  return ok('operations', name, 'readable, off (normal operation)');
}

export function subscriptionCheck(topicArn: string, subscriptions: Subscription[]): Check {
  const name = 'alarm subscriptions';
  // SNS names an unconfirmed subscription "PendingConfirmation" in listings ("pending confirmation" in the
  // Subscribe reference): the spelling is not pinned down, so only a real ARN counts as confirmed.
  const confirmed = subscriptions.filter((subscription) => subscription.SubscriptionArn?.startsWith('arn:'));
  const pending = subscriptions.filter(
    (subscription) => !subscription.SubscriptionArn?.startsWith('arn:') && !/^deleted$/i.test(subscription.SubscriptionArn ?? ''),
  );
  if (confirmed.length > 0) {
    return ok(
      'operations',
      name,
      `${confirmed.map((subscription) => `${subscription.Protocol} ${subscription.Endpoint}`).join(', ')} confirmed${pending.length ? `; ${pending.length} pending` : ''}`,
    );
  }
  if (pending.length > 0) {
    return fail(
      'operations',
      name,
      `only unconfirmed subscriptions (${pending.map((subscription) => `${subscription.Protocol} ${subscription.Endpoint}`).join(', ')}): no alarm reaches anyone`,
      'click "Confirm subscription" in AWS\'s mail "AWS Notification - Subscription Confirmation" (docs/deploy.md 4.2)',
    );
  }
  return fail(
    'operations',
    name,
    `topic ${topicArn} has no subscription: no alarm reaches anyone`,
    `aws sns subscribe --topic-arn ${topicArn} --protocol email --notification-endpoint <you> and confirm the mail (or deploy with alarmEmail)`,
  );
}

export function deadLetterQueueCheck(label: string, queueUrl: string, attributes: Record<string, string>): Check {
  const name = `dead-letter queue ${label}`;
  const count = (key: string) => Number(attributes[key] ?? '0') || 0;
  const waiting =
    count('ApproximateNumberOfMessages') + count('ApproximateNumberOfMessagesNotVisible') + count('ApproximateNumberOfMessagesDelayed');
  if (waiting === 0) return ok('operations', name, 'empty');
  return fail(
    'operations',
    name,
    `${waiting} message${waiting === 1 ? '' : 's'} in ${queueUrl}: work that failed five times and waits for a person`,
    `read the ${label.toLowerCase()} function's log for the cause, fix it, then redrive the queue (docs/deploy.md 10); nothing in it is lost`,
  );
}

/** The forward backlog from the alarm's own metric: datapoints of its evaluation window, against its threshold. */
export function backlogCheck(alarm: MetricAlarm | undefined, alarmName: string, values: number[]): Check {
  const name = 'forward backlog';
  if (!alarm)
    return warn(
      'operations',
      name,
      `the stack has no alarm ${alarmName}, so doctor cannot tell`,
      'deploy the current version of shadowmail',
    );
  const minutes = Math.round(((alarm.Period ?? 300) * (alarm.EvaluationPeriods ?? 1)) / 60);
  if (values.length === 0) return ok('operations', name, `no mail was waiting for Exchange in the last ${minutes} minutes`);
  const oldest = Math.max(...values);
  const age = oldest >= 3600 ? `${(oldest / 3600).toFixed(1)} h` : `${Math.round(oldest / 60)} min`;
  if (alarm.Threshold !== undefined && oldest > alarm.Threshold) {
    return fail(
      'operations',
      name,
      `mail received ${age} ago is still not at Exchange (deferred and retried); the alarm's limit is ${Math.round(alarm.Threshold / 60)} min`,
      "shadowmail trace --since <an hour ago> --stack … shows Exchange's last reply; fix Exchange or the connector, or consider failover on. The backlog drains by itself once Exchange accepts",
    );
  }
  return warn(
    'operations',
    name,
    `mail is waiting for Exchange: the oldest was received ${age} ago (deferred, retried)`,
    "shadowmail trace --stack … shows Exchange's replies; expected only while Exchange is down or refusing",
  );
}

export function firingAlarmsCheck(alarms: MetricAlarm[]): Check {
  const firing = alarms.filter((alarm) => alarm.StateValue === 'ALARM').map((alarm) => alarm.AlarmName!);
  if (firing.length === 0) return ok('operations', 'alarms', `${alarms.length} alarm${alarms.length === 1 ? '' : 's'}, none firing`);
  return warn('operations', 'alarms', `in ALARM: ${firing.join(', ')}`, 'docs/deploy.md 10 says what each one means and what to do');
}

export function concurrencyCheck(limit: AccountLimit | undefined): Check {
  const name = 'Lambda concurrency';
  const quota = limit?.ConcurrentExecutions;
  const unreserved = limit?.UnreservedConcurrentExecutions;
  if (quota === undefined || unreserved === undefined)
    return warn(
      'operations',
      name,
      "Lambda did not report the account's concurrency",
      'check Service Quotas → AWS Lambda → Concurrent executions',
    );
  const detail = `quota ${quota} concurrent executions in this region, ${unreserved} unreserved`;
  if (unreserved < MIN_UNRESERVED_CONCURRENCY) {
    return fail(
      'operations',
      name,
      `${detail}: new accounts start this low; ingest, forward, resend and the webmail share it, and below ${MIN_UNRESERVED_CONCURRENCY} unreserved no function may reserve concurrency for the webmail`,
      `Service Quotas → AWS Lambda → "Concurrent executions" → request ${DEFAULT_CONCURRENCY_QUOTA} for this region (AWS also raises it with use), then deploy again`,
    );
  }
  return ok('operations', name, detail);
}

export async function operationsChecks(ctx: DoctorContext): Promise<Check[]> {
  const { region } = ctx;
  const checks: Check[] = [];
  const ssm = new SSMClient(cliAwsConfig(region));
  const sns = new SNSClient(cliAwsConfig(region));
  const sqs = new SQSClient(cliAwsConfig(region));
  const cloudWatch = new CloudWatchClient(cliAwsConfig(region));
  const lambda = new LambdaClient(cliAwsConfig(region));
  try {
    const parameter = ctx.outputs.get('failoverParameter');
    if (!parameter) checks.push(missingOutput('operations', 'failover parameter', 'failoverParameter'));
    else checks.push(failoverCheck(parameter, await new SsmFailoverFlag(ssm, parameter).read().catch((error: Error) => error)));

    const topicArn = ctx.outputs.get('alarmTopicArn');
    if (!topicArn) checks.push(missingOutput('operations', 'alarm subscriptions', 'alarmTopicArn'));
    else {
      try {
        const subscriptions: Subscription[] = [];
        let next: string | undefined;
        do {
          const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: next }));
          subscriptions.push(...(page.Subscriptions ?? []));
          next = page.NextToken;
        } while (next);
        checks.push(subscriptionCheck(topicArn, subscriptions));
      } catch (error) {
        checks.push(callFailed('operations', 'alarm subscriptions', 'sns:ListSubscriptionsByTopic', error));
      }
    }

    const queues = [...ctx.outputs.stacks.stateful, ...ctx.outputs.stacks.stateless].flatMap(([key, url]) => {
      const label = DEAD_LETTER_QUEUE_OUTPUT.exec(key)?.[1];
      return label ? [{ label, url }] : [];
    });
    if (queues.length === 0) {
      checks.push(
        warn(
          'operations',
          'dead-letter queues',
          'the stacks have no DeadLetterQueue<Label>Url outputs, so doctor cannot look into them',
          'deploy the current version of shadowmail',
        ),
      );
    }
    for (const { label, url } of queues) {
      try {
        const { Attributes: attributes } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
          }),
        );
        checks.push(deadLetterQueueCheck(label, url, attributes ?? {}));
      } catch (error) {
        checks.push(callFailed('operations', `dead-letter queue ${label}`, 'sqs:GetQueueAttributes', error));
      }
    }

    checks.push(...(await alarmChecks(cloudWatch, ctx)));

    try {
      checks.push(concurrencyCheck((await lambda.send(new GetAccountSettingsCommand({}))).AccountLimit));
    } catch (error) {
      checks.push(callFailed('operations', 'Lambda concurrency', 'lambda:GetAccountSettings', error));
    }
    return checks;
  } finally {
    for (const client of [ssm, sns, sqs, cloudWatch, lambda]) client.destroy();
  }
}

async function alarmChecks(cloudWatch: CloudWatchClient, ctx: DoctorContext): Promise<Check[]> {
  const alarms: MetricAlarm[] = [];
  try {
    let next: string | undefined;
    do {
      const page = await cloudWatch.send(
        new DescribeAlarmsCommand({ AlarmNamePrefix: `${ctx.stackId}-`, AlarmTypes: ['MetricAlarm'], NextToken: next }),
      );
      alarms.push(...(page.MetricAlarms ?? []));
      next = page.NextToken;
    } while (next);
  } catch (error) {
    return [callFailed('operations', 'alarms', 'cloudwatch:DescribeAlarms', error)];
  }
  const alarmName = `${ctx.stackId}-forward-backlog-age`;
  const alarm = alarms.find((candidate) => candidate.AlarmName === alarmName);
  let values: number[] = [];
  if (alarm?.MetricName && alarm.Namespace) {
    const periodSeconds = alarm.Period ?? 300;
    try {
      const data = await cloudWatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(ctx.now.getTime() - periodSeconds * (alarm.EvaluationPeriods ?? 1) * 1000),
          EndTime: ctx.now,
          MetricDataQueries: [
            {
              Id: 'backlog',
              MetricStat: {
                Metric: { Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: alarm.Dimensions },
                Period: periodSeconds,
                Stat: alarm.Statistic ?? alarm.ExtendedStatistic ?? 'Maximum',
              },
            },
          ],
        }),
      );
      values = data.MetricDataResults?.find((result) => result.Id === 'backlog')?.Values ?? [];
    } catch (error) {
      return [callFailed('operations', 'forward backlog', 'cloudwatch:GetMetricData', error), firingAlarmsCheck(alarms)];
    }
  }
  return [backlogCheck(alarm, alarmName, values), firingAlarmsCheck(alarms)];
}
