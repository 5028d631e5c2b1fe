// The forward queue in local mode: ForwardJobs as JSON on a local queue, with the
// delay clamped to what SQS allows (0..900 s), as the SQS adapter does.
import { RetryableError, ShadowmailError } from '../../core/errors.ts';
import type { ForwardJob } from '../../core/model.ts';
import type { ForwardQueue } from '../../ports/forward-queue.ts';
import { type LocalQueue, MAX_DELAY_SECONDS } from './local-queue.ts';

export class FileForwardQueue implements ForwardQueue {
  constructor(private readonly queue: Pick<LocalQueue, 'send'>) {}

  async enqueue(job: ForwardJob, delaySeconds: number): Promise<void> {
    try {
      await this.queue.send(JSON.stringify(job), clampDelay(delaySeconds));
    } catch (error) {
      if (error instanceof ShadowmailError) throw error;
      throw new RetryableError(`forward job for ${job.sesMessageId} not enqueued`, { cause: error });
    }
  }
}

export function clampDelay(delaySeconds: number): number {
  if (Number.isNaN(delaySeconds) || delaySeconds <= 0) return 0;
  return Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds));
}
