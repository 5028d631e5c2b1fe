// The resend queue in local mode: resend steps as JSON on a FileQueue (under
// <dataDir>/queues/resend), the delay clamped to what SQS allows, as in AWS.
import { RetryableError, ShadowmailError } from '../../core/errors.ts';
import type { ResendQueue, ResendStep } from '../../ports/resend-jobs.ts';
import { clampDelay } from './file-forward-queue.ts';
import type { FileQueue } from './file-queue.ts';

/** Sends at a time: each is an fsynced file, so a page of steps goes out in parallel. */
const PARALLEL_SENDS = 16;

export class FileResendQueue implements ResendQueue {
  constructor(private readonly queue: FileQueue) {}

  async enqueue(steps: ResendStep[], delaySeconds: number): Promise<void> {
    const delay = clampDelay(delaySeconds);
    let next = 0;
    const send = async (): Promise<void> => {
      while (next < steps.length) {
        const step = steps[next++]!;
        await this.queue.send(JSON.stringify(step), delay);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARALLEL_SENDS, steps.length) }, send));
    } catch (error) {
      if (error instanceof ShadowmailError) throw error;
      throw new RetryableError(`resend steps not enqueued`, { cause: error });
    }
  }
}
