// The resend queue on SQS: one message per resend step, sent ten at a time with
// SendMessageBatch, delayed as asked (SQS allows at most 15 minutes). A partly failed
// batch is retried for the failed entries; what still fails is a RetryableError, so
// the step that was queueing runs again (its copies are dropped by the steps' gates).
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { RetryableError } from '../../core/errors.ts';
import type { ResendQueue, ResendStep } from '../../ports/resend-jobs.ts';
import { clampDelay } from './sqs-forward-queue.ts';

const BATCH = 10;
const ROUNDS = 3;

export class SqsResendQueue implements ResendQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(steps: ResendStep[], delaySeconds: number): Promise<void> {
    const delay = clampDelay(delaySeconds);
    for (let offset = 0; offset < steps.length; offset += BATCH) {
      let entries = steps
        .slice(offset, offset + BATCH)
        .map((step, index) => ({ Id: String(index), MessageBody: JSON.stringify(step), DelaySeconds: delay }));
      for (let round = 0; entries.length > 0; round += 1) {
        if (round >= ROUNDS) throw new RetryableError(`${entries.length} resend steps not enqueued`);
        try {
          const result = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
          const failed = new Set((result.Failed ?? []).map((failure) => failure.Id));
          entries = entries.filter((entry) => failed.has(entry.Id));
        } catch (error) {
          if (round + 1 >= ROUNDS) throw new RetryableError('resend steps not enqueued', { cause: error });
        }
      }
    }
  }
}
