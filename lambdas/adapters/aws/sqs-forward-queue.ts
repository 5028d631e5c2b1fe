// The forward queue on SQS: one message per ForwardJob, JSON body, delayed by
// the backoff the forward use case asks for (SQS allows at most 15 minutes;
// longer waits come back around through further delays).
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { RetryableError } from '../../core/errors.ts';
import type { ForwardJob } from '../../core/model.ts';
import type { ForwardQueue } from '../../ports/forward-queue.ts';

export const MAX_SQS_DELAY_SECONDS = 900;

export class SqsForwardQueue implements ForwardQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(job: ForwardJob, delaySeconds: number): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: JSON.stringify(job),
          DelaySeconds: clampDelay(delaySeconds),
        }),
      );
    } catch (error) {
      throw new RetryableError(`forward job for ${job.sesMessageId} not enqueued`, { cause: error });
    }
  }
}

export function clampDelay(delaySeconds: number): number {
  if (Number.isNaN(delaySeconds) || delaySeconds <= 0) return 0;
  return Math.min(MAX_SQS_DELAY_SECONDS, Math.ceil(delaySeconds));
}
