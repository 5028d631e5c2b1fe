// Port: the durable queue of forward jobs (SQS in AWS, a file queue locally).
import type { ForwardJob } from '../core/model.ts';

export interface ForwardQueue {
  /** delaySeconds is capped by the adapter at what the queue supports (SQS: 900). */
  enqueue(job: ForwardJob, delaySeconds: number): Promise<void>;
}
