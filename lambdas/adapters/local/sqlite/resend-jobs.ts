// Resend jobs in the embedded store: one row per job (the job as JSON, with its list
// position and expiry as columns) and one row per task mark (counted with its retry, or
// begun). Every change reads the job, changes it and writes it back inside an immediate
// transaction: SQLite takes the write lock first, so two workers on the file (the running
// stack and a CLI command) change a job one after the other and no increment is lost —
// what the DynamoDB adapter gets from conditional UpdateItems (docs/design.md §10.1).
import { InvalidInputError } from '../../../core/errors.ts';
import { checkPageLimit, decodeCursor, encodeCursor } from '../../../core/mailbox.ts';
import { RESEND_COUNTER_NAMES } from '../../../core/resend.ts';
import { isLive } from '../../../core/retention.ts';
import type { ResendJob, ResendJobPage, ResendJobStore, ResendTaskMarks, ResendTaskOutcome } from '../../../ports/resend-jobs.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { epochSeconds } from './expiry.ts';

export const RESEND_JOB_SCHEMA = [
  // position: `<createdAt>#<id>`, the newest-first list order.
  `CREATE TABLE IF NOT EXISTS resend_job (
    id TEXT PRIMARY KEY,
    position TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    job TEXT NOT NULL CHECK (json_type(job) = 'object')
  ) WITHOUT ROWID`,
  'CREATE INDEX IF NOT EXISTS resend_job_by_expiry ON resend_job (expires_at)',
  // applied: the retry (JSON array) once the task's outcome is in the counters; started_at: a relay begun and not recorded.
  `CREATE TABLE IF NOT EXISTS resend_task (
    job_id TEXT NOT NULL REFERENCES resend_job (id) ON DELETE CASCADE,
    task_key TEXT NOT NULL,
    applied TEXT CHECK (applied IS NULL OR json_type(applied) = 'array'),
    started_at TEXT,
    PRIMARY KEY (job_id, task_key)
  ) WITHOUT ROWID`,
] as const;

/** How long a failed job's error may be (as in DynamoDB). */
const MAX_ERROR_LENGTH = 2000;

interface TaskRow {
  applied: string | null;
  started_at: string | null;
}

const isActive = (job: ResendJob): boolean => job.state === 'queued' || job.state === 'running';

export class SqliteResendJobs implements ResendJobStore {
  private readonly db: LocalDatabase;
  private readonly statements;

  constructor(db: LocalDatabase) {
    ensureSchema(db, RESEND_JOB_SCHEMA);
    this.db = db;
    this.statements = {
      insert: db.prepare(
        'INSERT INTO resend_job (id, position, expires_at, job) VALUES (@id, @position, @expiresAt, @job) ON CONFLICT DO NOTHING',
      ),
      select: db.prepare<[string], { job: string }>('SELECT job FROM resend_job WHERE id = ?'),
      write: db.prepare('UPDATE resend_job SET job = ? WHERE id = ?'),
      page: db.prepare<{ now: number; before: string | null; take: number }, { position: string; job: string }>(
        `SELECT position, job FROM resend_job WHERE expires_at > @now AND (@before IS NULL OR position < @before)
         ORDER BY position DESC LIMIT @take`,
      ),
      task: db.prepare<[string, string], TaskRow>('SELECT applied, started_at FROM resend_task WHERE job_id = ? AND task_key = ?'),
      start: db.prepare(
        `INSERT INTO resend_task (job_id, task_key, started_at) VALUES (?, ?, ?)
         ON CONFLICT (job_id, task_key) DO UPDATE SET started_at = excluded.started_at`,
      ),
      apply: db.prepare(
        `INSERT INTO resend_task (job_id, task_key, applied) VALUES (?, ?, ?)
         ON CONFLICT (job_id, task_key) DO UPDATE SET applied = excluded.applied, started_at = NULL`,
      ),
      forget: db.prepare('DELETE FROM resend_task WHERE job_id = ? AND task_key = ?'),
      purge: db.prepare('DELETE FROM resend_job WHERE expires_at <= ?'),
    } as const;
  }

  async create(job: ResendJob): Promise<void> {
    const written = this.statements.insert.run({
      id: job.id,
      position: positionOf(job),
      expiresAt: job.expiresAt,
      job: JSON.stringify(job),
    });
    if (written.changes === 0) throw new InvalidInputError(`resend job ${job.id} exists`);
  }

  async get(id: string, now: Date): Promise<ResendJob | null> {
    const job = this.read(id);
    return job && isLive(job, now) ? job : null;
  }

  async list(query: { limit: number; cursor?: string | null }, now: Date): Promise<ResendJobPage> {
    checkPageLimit(query.limit);
    const rows = this.statements.page.all({ now: epochSeconds(now), before: decodeCursor(query.cursor), take: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      jobs: page.map((row) => JSON.parse(row.job) as ResendJob),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.position) : null,
    };
  }

  async markRunning(id: string, at: string): Promise<void> {
    this.change(id, (job) => {
      if (job.state !== 'queued') return false;
      job.state = 'running';
      job.startedAt ??= at;
      job.updatedAt = at;
      return true;
    });
  }

  async checkpoint(
    id: string,
    page: { seq: number; cursor: string | null; added: number; enumerated: boolean; at: string },
  ): Promise<ResendJob | null> {
    return this.change(id, (job) => {
      if (job.enumSeq !== page.seq) return false;
      job.enumSeq = page.seq + 1;
      job.cursor = page.cursor;
      job.counters.total += page.added;
      job.enumerated = page.enumerated;
      job.updatedAt = page.at;
      return true;
    });
  }

  async stopEnumerating(id: string, at: string): Promise<void> {
    this.change(id, (job) => {
      job.enumerated = true;
      job.updatedAt = at;
      return true;
    });
  }

  async getTask(id: string, taskKey: string, now: Date): Promise<ResendTaskMarks | null> {
    // One read transaction: the job and its marks as of one moment.
    return this.db.transaction(() => {
      const job = this.read(id);
      if (!job || !isLive(job, now)) return null;
      const task = this.statements.task.get(id, taskKey);
      return {
        job,
        applied: task?.applied ? { retry: JSON.parse(task.applied) as string[] } : null,
        started: typeof task?.started_at === 'string',
      };
    })();
  }

  async markStarted(id: string, taskKey: string, at: string): Promise<void> {
    this.change(id, (job) => {
      this.statements.start.run(id, taskKey, at);
      job.updatedAt = at;
      return true;
    });
  }

  async applyTask(id: string, taskKey: string, outcome: ResendTaskOutcome, at: string): Promise<ResendJob | null> {
    return this.change(id, (job) => {
      if (this.statements.task.get(id, taskKey)?.applied) return false;
      for (const name of RESEND_COUNTER_NAMES) job.counters[name] += outcome.counters[name] ?? 0;
      if (outcome.skipped) job.skippedBy[outcome.skipped] += 1;
      job.updatedAt = at;
      this.statements.apply.run(id, taskKey, JSON.stringify(outcome.retry ?? []));
      return true;
    });
  }

  async forgetTask(id: string, taskKey: string): Promise<void> {
    this.statements.forget.run(id, taskKey);
  }

  async cancel(id: string, actor: string, at: string): Promise<ResendJob | null> {
    return this.db
      .transaction(() => {
        const job = this.read(id);
        if (!job || !isActive(job)) return job;
        job.state = 'cancelled';
        job.cancelledAt = at;
        job.cancelledBy = actor;
        job.updatedAt = at;
        this.statements.write.run(JSON.stringify(job), id);
        return job;
      })
      .immediate();
  }

  async fail(id: string, error: string, at: string): Promise<void> {
    this.change(id, (job) => {
      if (!isActive(job)) return false;
      job.state = 'failed';
      job.error = error.slice(0, MAX_ERROR_LENGTH);
      job.updatedAt = at;
      return true;
    });
  }

  async finish(id: string, at: string): Promise<ResendJob | null> {
    return this.change(id, (job) => {
      const settled = job.enumerated && job.counters.done >= job.counters.total && job.counters.deferred === 0;
      if (job.finishedAt !== null || !settled) return false;
      job.finishedAt = at;
      // A cancelled or failed job keeps its state and only notes when its last message settled.
      if (isActive(job)) job.state = 'done';
      job.updatedAt = at;
      return true;
    });
  }

  /** Deletes the jobs past their retention, with their task marks; how many jobs. */
  purgeExpired(now: Date): number {
    return this.statements.purge.run(epochSeconds(now)).changes;
  }

  private read(id: string): ResendJob | null {
    const row = this.statements.select.get(id);
    return row ? (JSON.parse(row.job) as ResendJob) : null;
  }

  /**
   * Reads the job, lets `apply` change it (false: it does not apply, nothing written) and
   * writes it back, under the write lock; the job afterwards, or null when unknown or not applied.
   */
  private change(id: string, apply: (job: ResendJob) => boolean): ResendJob | null {
    return this.db
      .transaction(() => {
        const job = this.read(id);
        if (!job || !apply(job)) return null;
        this.statements.write.run(JSON.stringify(job), id);
        return job;
      })
      .immediate();
  }
}

function positionOf(job: Pick<ResendJob, 'createdAt' | 'id'>): string {
  return `${job.createdAt}#${job.id}`;
}
