// The forward backlog in local mode: the forward file queue's jobs, whatever their state,
// and the oldest job's receivedAt — the age the forward function reports in AWS as
// ForwardBacklogAgeSeconds (a deferred job is re-queued, so the queue's own message age
// would restart at every retry).
import type { ForwardJob } from '../../core/model.ts';
import type { ForwardBacklog, ForwardBacklogState } from '../../ports/forward-backlog.ts';
import type { LocalQueue } from './local-queue.ts';

export class FileForwardBacklog implements ForwardBacklog {
  constructor(private readonly queue: LocalQueue) {}

  async read(now: Date): Promise<ForwardBacklogState> {
    const bodies = await this.queue.bodies();
    let oldest: number | null = null;
    for (const body of bodies) {
      const receivedAt = receivedAtOf(body);
      if (receivedAt !== null && (oldest === null || receivedAt < oldest)) oldest = receivedAt;
    }
    return {
      jobs: bodies.length,
      oldestAgeSeconds: oldest === null ? null : Math.max(0, Math.floor((now.getTime() - oldest) / 1000)),
    };
  }
}

function receivedAtOf(body: string): number | null {
  try {
    const job = JSON.parse(body) as Partial<ForwardJob>;
    const at = typeof job.receivedAt === 'string' ? Date.parse(job.receivedAt) : Number.NaN;
    return Number.isNaN(at) ? null : at;
  } catch {
    return null;
  }
}
