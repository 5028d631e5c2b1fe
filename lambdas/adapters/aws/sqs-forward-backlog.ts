// The forward backlog in AWS, for the /declare page and the admin console: the forward
// queue's approximate message counts (visible, in flight, delayed for a retry) from one
// GetQueueAttributes call, and the age of the oldest job from the forward's own
// ForwardBacklogAgeSeconds metric (the one the backlog alarm watches). SQS's
// ApproximateAgeOfOldestMessage would restart at every re-queue, so it is not used.
// Attributes: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
// GetMetricData: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { METRIC, METRICS_NAMESPACE, SERVICE } from '../../contract/metrics.ts';
import type { ForwardBacklog, ForwardBacklogState } from '../../ports/forward-backlog.ts';

const COUNTS = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;

/**
 * How far back a datapoint of the age metric still counts. The forward reports it on every
 * attempt, and a waiting job is retried at most every retryMaxDelaySeconds (15 min by default).
 */
const AGE_LOOKBACK_SECONDS = 20 * 60;

export class SqsForwardBacklog implements ForwardBacklog {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    /** Where the forward's age metric is read; without it the age is unknown. */
    private readonly metrics?: CloudWatchClient,
  ) {}

  async read(now: Date = new Date()): Promise<ForwardBacklogState> {
    const [{ Attributes = {} }, age] = await Promise.all([
      this.client.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: [...COUNTS] })),
      this.latestAge(now),
    ]);
    const jobs = COUNTS.reduce((sum, name) => sum + (Number(Attributes[name] ?? 0) || 0), 0);
    return { jobs, oldestAgeSeconds: jobs === 0 ? null : age };
  }

  /** The newest datapoint of the age metric, aged by the time since it was reported; null: none in the lookback. */
  private async latestAge(now: Date): Promise<number | null> {
    if (!this.metrics) return null;
    const output = await this.metrics.send(
      new GetMetricDataCommand({
        StartTime: new Date(now.getTime() - AGE_LOOKBACK_SECONDS * 1000),
        EndTime: now,
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [
          {
            Id: 'age',
            MetricStat: {
              Metric: {
                Namespace: METRICS_NAMESPACE,
                MetricName: METRIC.forwardBacklogAgeSeconds,
                Dimensions: [{ Name: 'service', Value: SERVICE.forward }],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          },
        ],
      }),
    );
    const result = output.MetricDataResults?.find((entry) => entry.Id === 'age');
    const value = result?.Values?.[0];
    const at = result?.Timestamps?.[0];
    if (value === undefined || at === undefined) return null;
    return Math.max(0, Math.round(value + (now.getTime() - at.getTime()) / 1000));
  }
}
