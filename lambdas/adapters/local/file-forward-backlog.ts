// The forward backlog in local mode: the forward file queue's jobs, whatever their state,
// the recipients they still have to deliver, and the oldest job's receivedAt — the age the forward function reports in AWS as
// ForwardBacklogAgeSeconds (a deferred job is re-queued, so the queue's own message age
// would restart at every retry).
import type { ForwardJob } from '../../core/model.ts';
import type { ForwardBacklog, ForwardBacklogState } from '../../ports/forward-backlog.ts';
import type { FileQueue } from './file-queue.ts';

export class FileForwardBacklog implements ForwardBacklog {
  constructor(private readonly queue: FileQueue) {}

  async read(now: Date): Promise<ForwardBacklogState> {
    const bodies = await this.queue.bodies();
    let oldest: number | null = null;
    let recipients: number | null = 0;
    for (const body of bodies) {
      const job = jobOf(body);
      const receivedAt = typeof job?.receivedAt === 'string' ? Date.parse(job.receivedAt) : Number.NaN;
      if (!Number.isNaN(receivedAt) && (oldest === null || receivedAt < oldest)) oldest = receivedAt;
      // One job that does not say (queued by an older version, or unreadable) makes the sum unknown.
      recipients = recipients !== null && Number.isInteger(job?.recipients) ? recipients + job!.recipients! : null;
    }
    return {
      jobs: bodies.length,
      recipients,
      oldestAgeSeconds: oldest === null ? null : Math.max(0, Math.floor((now.getTime() - oldest) / 1000)),
    };
  }
}

function jobOf(body: string): Partial<ForwardJob> | null {
  try {
    const job: unknown = JSON.parse(body);
    return typeof job === 'object' && job !== null ? (job as Partial<ForwardJob>) : null;
  } catch {
    return null;
  }
}
