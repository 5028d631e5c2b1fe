// Local mode's ChangeMessageVisibility: the file queue's lease of a received message
// moved to the new time (FileQueue.changeVisibility), as SQS would in AWS.
import type { MessageVisibility } from '../../ports/message-visibility.ts';
import type { LocalQueue } from './local-queue.ts';

export class FileMessageVisibility implements MessageVisibility {
  constructor(private readonly queue: LocalQueue) {}

  retryAfter(receiptHandle: string, seconds: number): Promise<void> {
    return this.queue.changeVisibility(receiptHandle, seconds);
  }
}
