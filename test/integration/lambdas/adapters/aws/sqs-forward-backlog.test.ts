// SqsForwardBacklog with the real SDK client against the fake AWS server's SQS JSON
// protocol: the backlog's job count from one GetQueueAttributes call.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SqsForwardBacklog } from '../../../../../lambdas/adapters/aws/sqs-forward-backlog.ts';
import { fakeAwsForThisFile } from '../../../../support/fake-aws-suite.ts';

const fake = fakeAwsForThisFile();

describe('SqsForwardBacklog', () => {
  it('adds the visible, in-flight and delayed counts; without the metric client the age is unknown', async () => {
    // The SDK sends SQS calls to the queue URL's host: the fake's, as in the doctor tests.
    const url = `${fake().endpoint}/123456789012/shadowmail-forward`;
    fake().doctor.queueAttributes.set(url, {
      ApproximateNumberOfMessages: '3',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '8',
    });
    expect(await new SqsForwardBacklog(new SQSClient({}), url).read()).toEqual({ jobs: 12, oldestAgeSeconds: null });
  });

  it("ages the oldest job by the forward's newest ForwardBacklogAgeSeconds datapoint, and reports none for an empty queue", async () => {
    const url = `${fake().endpoint}/123456789012/shadowmail-forward-aged`;
    fake().doctor.queueAttributes.set(url, { ApproximateNumberOfMessages: '2' });
    // The fake answers every query with these datapoints, newest first, the newest stamped now.
    fake().doctor.metricValues = [600, 300];
    const backlog = new SqsForwardBacklog(new SQSClient({}), url, new CloudWatchClient({}));
    const state = await backlog.read(new Date());
    expect(state.jobs).toBe(2);
    expect(state.oldestAgeSeconds).toBeGreaterThanOrEqual(600);
    expect(state.oldestAgeSeconds).toBeLessThan(630);
    const query = fake()
      .requests.filter((call) => call.service === 'cloudwatch' && call.action === 'GetMetricData')
      .at(-1);
    expect(query?.params).toMatchObject({
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        {
          MetricStat: {
            Metric: {
              Namespace: 'shadowmail',
              MetricName: 'ForwardBacklogAgeSeconds',
              Dimensions: [{ Name: 'service', Value: 'shadowmail-forward' }],
            },
            Stat: 'Maximum',
          },
        },
      ],
    });
    fake().doctor.queueAttributes.set(url, { ApproximateNumberOfMessages: '0' });
    expect(await backlog.read(new Date())).toEqual({ jobs: 0, oldestAgeSeconds: null });
    fake().doctor.metricValues = [];
    fake().doctor.queueAttributes.set(url, { ApproximateNumberOfMessages: '1' });
    expect((await backlog.read(new Date())).oldestAgeSeconds).toBeNull();
  });
});
