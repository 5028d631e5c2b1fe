// In-memory stand-ins for the resend and audit ports, with the semantics of the
// DynamoDB adapters (the adapter tests run the same contract against both): a job
// store, an append-only audit log, and a queue that tests drain step by step.

import { auditCursor, auditCursorPosition, auditPosition, matchesAuditFilter } from '../../lambdas/core/audit.ts';
import { InvalidInputError } from '../../lambdas/core/errors.ts';
import { checkPageLimit, decodeCursor, encodeCursor } from '../../lambdas/core/mailbox.ts';
import { isLive } from '../../lambdas/core/retention.ts';
import type { AuditEvent, AuditFilter, AuditLog, AuditPage } from '../../lambdas/ports/audit-log.ts';
import type {
  ResendCounters,
  ResendJob,
  ResendJobPage,
  ResendJobStore,
  ResendQueue,
  ResendStep,
  ResendTaskMarks,
  ResendTaskOutcome,
} from '../../lambdas/ports/resend-jobs.ts';

interface StoredJob {
  job: ResendJob;
  /** Task key → the retry its outcome asked for. */
  applied: Map<string, string[]>;
  started: Set<string>;
}

export class MemoryResendJobs implements ResendJobStore {
  readonly jobs = new Map<string, StoredJob>();
  /** Writes that changed a job, for tests that count them. */
  writes = 0;

  async create(job: ResendJob): Promise<void> {
    if (this.jobs.has(job.id)) throw new InvalidInputError(`resend job ${job.id} exists`);
    this.jobs.set(job.id, { job: structuredClone(job), applied: new Map(), started: new Set() });
    this.writes += 1;
  }

  async get(id: string, now: Date): Promise<ResendJob | null> {
    const stored = this.jobs.get(id);
    return stored && isLive(stored.job, now) ? structuredClone(stored.job) : null;
  }

  async list(query: { limit: number; cursor?: string | null }, now: Date): Promise<ResendJobPage> {
    checkPageLimit(query.limit);
    const before = decodeCursor(query.cursor);
    const position = (job: ResendJob) => `${job.createdAt}#${job.id}`;
    const matching = [...this.jobs.values()]
      .map((stored) => stored.job)
      .filter((job) => isLive(job, now) && (before === null || position(job) < before))
      .sort((a, b) => (position(a) < position(b) ? 1 : -1));
    const jobs = matching.slice(0, query.limit).map((job) => structuredClone(job));
    const last = jobs.at(-1);
    return { jobs, nextCursor: matching.length > query.limit && last ? encodeCursor(position(last)) : null };
  }

  async markRunning(id: string, at: string): Promise<void> {
    const stored = this.jobs.get(id);
    if (stored?.job.state !== 'queued') return;
    stored.job.state = 'running';
    stored.job.startedAt ??= at;
    stored.job.updatedAt = at;
    this.writes += 1;
  }

  async checkpoint(
    id: string,
    page: { seq: number; cursor: string | null; added: number; enumerated: boolean; at: string },
  ): Promise<ResendJob | null> {
    const stored = this.jobs.get(id);
    if (!stored || stored.job.enumSeq !== page.seq) return null;
    const job = stored.job;
    job.enumSeq = page.seq + 1;
    job.cursor = page.cursor;
    job.counters.total += page.added;
    job.enumerated = page.enumerated;
    job.updatedAt = page.at;
    this.writes += 1;
    return structuredClone(job);
  }

  async stopEnumerating(id: string, at: string): Promise<void> {
    const stored = this.jobs.get(id);
    if (!stored) return;
    stored.job.enumerated = true;
    stored.job.updatedAt = at;
    this.writes += 1;
  }

  async getTask(id: string, taskKey: string, now: Date): Promise<ResendTaskMarks | null> {
    const stored = this.jobs.get(id);
    if (!stored || !isLive(stored.job, now)) return null;
    const retry = stored.applied.get(taskKey);
    return {
      job: structuredClone(stored.job),
      applied: retry === undefined ? null : { retry: [...retry] },
      started: stored.started.has(taskKey),
    };
  }

  async markStarted(id: string, taskKey: string, at: string): Promise<void> {
    const stored = this.jobs.get(id);
    if (!stored) return;
    stored.started.add(taskKey);
    stored.job.updatedAt = at;
    this.writes += 1;
  }

  async applyTask(id: string, taskKey: string, outcome: ResendTaskOutcome, at: string): Promise<ResendJob | null> {
    const stored = this.jobs.get(id);
    if (!stored || stored.applied.has(taskKey)) return null;
    for (const [name, delta] of Object.entries(outcome.counters) as Array<[keyof ResendCounters, number]>)
      stored.job.counters[name] += delta;
    if (outcome.skipped) stored.job.skippedBy[outcome.skipped] += 1;
    stored.applied.set(taskKey, [...(outcome.retry ?? [])]);
    stored.started.delete(taskKey);
    stored.job.updatedAt = at;
    this.writes += 1;
    return structuredClone(stored.job);
  }

  async forgetTask(id: string, taskKey: string): Promise<void> {
    const stored = this.jobs.get(id);
    if (!stored) return;
    stored.applied.delete(taskKey);
    stored.started.delete(taskKey);
    this.writes += 1;
  }

  async cancel(id: string, actor: string, at: string): Promise<ResendJob | null> {
    const stored = this.jobs.get(id);
    if (!stored) return null;
    const job = stored.job;
    if (job.state === 'queued' || job.state === 'running') {
      job.state = 'cancelled';
      job.cancelledAt = at;
      job.cancelledBy = actor;
      job.updatedAt = at;
      this.writes += 1;
    }
    return structuredClone(job);
  }

  async fail(id: string, error: string, at: string): Promise<void> {
    const stored = this.jobs.get(id);
    if (!stored || (stored.job.state !== 'queued' && stored.job.state !== 'running')) return;
    stored.job.state = 'failed';
    stored.job.error = error;
    stored.job.updatedAt = at;
    this.writes += 1;
  }

  async finish(id: string, at: string): Promise<ResendJob | null> {
    const stored = this.jobs.get(id);
    if (!stored) return null;
    const job = stored.job;
    if (job.finishedAt !== null || !job.enumerated || job.counters.done < job.counters.total || job.counters.deferred !== 0) return null;
    job.finishedAt = at;
    if (job.state === 'queued' || job.state === 'running') job.state = 'done';
    job.updatedAt = at;
    this.writes += 1;
    return structuredClone(job);
  }

  /** Task marks still held (test helper). */
  marks(id: string): { applied: string[]; started: string[] } {
    const stored = this.jobs.get(id);
    return { applied: [...(stored?.applied.keys() ?? [])], started: [...(stored?.started ?? [])] };
  }
}

export class MemoryAuditLog implements AuditLog {
  readonly events: AuditEvent[] = [];
  failNext = 0;

  async append(event: AuditEvent): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('audit store unavailable');
    }
    if (this.events.some((stored) => stored.id === event.id && stored.at === event.at))
      throw new InvalidInputError(`audit event ${event.id} exists`);
    this.events.push(structuredClone(event));
  }

  async list(filter: AuditFilter): Promise<AuditPage> {
    checkPageLimit(filter.limit);
    const before = auditCursorPosition(filter.cursor);
    const matching = this.events
      .filter((event) => matchesAuditFilter(event, filter) && (before === null || auditPosition(event) < before))
      .sort((a, b) => (auditPosition(a) < auditPosition(b) ? 1 : -1));
    const events = matching.slice(0, filter.limit).map((event) => structuredClone(event));
    const last = events.at(-1);
    return { events, nextCursor: matching.length > filter.limit && last ? auditCursor(auditPosition(last)) : null };
  }
}

/** Records steps with the time they become due; tests take them off in due order. */
export class MemoryResendQueue implements ResendQueue {
  readonly pending: Array<{ step: ResendStep; dueAt: number; seq: number; receives: number }> = [];
  private seq = 0;
  failNext = false;

  constructor(private readonly now: () => number) {}

  async enqueue(steps: ResendStep[], delaySeconds: number): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('queue unavailable');
    }
    for (const step of steps) {
      this.pending.push({
        step: structuredClone(step),
        dueAt: this.now() + Math.max(0, Math.min(900, delaySeconds)) * 1000,
        seq: this.seq++,
        receives: 0,
      });
    }
  }

  /** The next due step (earliest due, then oldest), removed; undefined when none is due. */
  takeDue(): { step: ResendStep; receives: number } | undefined {
    const due = this.pending.filter((entry) => entry.dueAt <= this.now()).sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)[0];
    if (!due) return undefined;
    this.pending.splice(this.pending.indexOf(due), 1);
    due.receives += 1;
    return due;
  }

  /** Puts a step back as a failed receive would (visible again at once here). */
  putBack(entry: { step: ResendStep; receives: number }): void {
    this.pending.push({ step: entry.step, dueAt: this.now(), seq: this.seq++, receives: entry.receives });
  }

  /** When the next step becomes due, or null when the queue is empty. */
  nextDueAt(): number | null {
    return this.pending.length === 0 ? null : Math.min(...this.pending.map((entry) => entry.dueAt));
  }
}
