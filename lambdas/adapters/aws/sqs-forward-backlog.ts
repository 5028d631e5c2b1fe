// The forward backlog in AWS, for the /declare page: the forward queue's approximate
// message counts (visible, in flight, delayed for a retry) from one GetQueueAttributes
// call. The age of the oldest job is not a queue attribute (SQS's own
// ApproximateAgeOfOldestMessage is a CloudWatch metric, and restarts at every re-queue),
// so it stays unknown here; the page shows when the alarm fired instead.
// Attributes: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ForwardBacklog, ForwardBacklogState } from '../../ports/forward-backlog.ts';

const COUNTS = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;

export class SqsForwardBacklog implements ForwardBacklog {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async read(): Promise<ForwardBacklogState> {
    const { Attributes = {} } = await this.client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: [...COUNTS] }),
    );
    const jobs = COUNTS.reduce((sum, name) => sum + (Number(Attributes[name] ?? 0) || 0), 0);
    return { jobs, oldestAgeSeconds: null };
  }
}
