// The visibility of a received message on SQS: ChangeMessageVisibility on the queue the
// function consumes. The new timeout counts from the call and applies to this receive
// only; SQS refuses values outside 0 to 43,200 s (SQS API reference, ChangeMessageVisibility).
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { RetryableError } from '../../core/errors.ts';
import type { MessageVisibility } from '../../ports/message-visibility.ts';

export class SqsMessageVisibility implements MessageVisibility {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async retryAfter(receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }),
      );
    } catch (error) {
      throw new RetryableError(`visibility of a message on ${this.queueUrl} not changed`, { cause: error });
    }
  }
}
