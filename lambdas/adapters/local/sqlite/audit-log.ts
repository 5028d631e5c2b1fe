// The audit log in the embedded store: one row per event, keyed by its position
// (`<at>#<id>`, core/audit.ts), never expiring. Append-only twice over: the class has
// append and list only, and triggers refuse any UPDATE or DELETE of a row, so nothing
// that opens the file through SQLite's API changes an entry by mistake.
// list reads newest first straight from the key order, filters in SQL, and re-checks
// every row with the shared predicate, like the DynamoDB adapter.
import { auditCursor, auditCursorPosition, auditPosition, matchesAuditFilter } from '../../../core/audit.ts';
import { InvalidInputError } from '../../../core/errors.ts';
import { checkPageLimit } from '../../../core/mailbox.ts';
import type { AuditEvent, AuditFilter, AuditLog, AuditPage } from '../../../ports/audit-log.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';

export const AUDIT_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS audit_event (
    position TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL CHECK (json_type(details) = 'object')
  ) WITHOUT ROWID`,
  'CREATE INDEX IF NOT EXISTS audit_event_by_actor ON audit_event (actor, position)',
  'CREATE INDEX IF NOT EXISTS audit_event_by_action ON audit_event (action, position)',
  `CREATE TRIGGER IF NOT EXISTS audit_event_never_changed BEFORE UPDATE ON audit_event
   BEGIN SELECT RAISE(ABORT, 'audit events are never changed'); END`,
  `CREATE TRIGGER IF NOT EXISTS audit_event_never_deleted BEFORE DELETE ON audit_event
   BEGIN SELECT RAISE(ABORT, 'audit events are never deleted'); END`,
] as const;

interface EventRow {
  position: string;
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  details: string;
}

interface ListParameters {
  since: string;
  until: string;
  before: string | null;
  actor: string | null;
  action: string | null;
  take: number;
}

export class SqliteAuditLog implements AuditLog {
  private readonly insert;
  private readonly select;

  constructor(db: LocalDatabase) {
    ensureSchema(db, AUDIT_SCHEMA);
    this.insert = db.prepare(
      `INSERT INTO audit_event (position, id, at, actor, action, target, outcome, details)
       VALUES (@position, @id, @at, @actor, @action, @target, @outcome, @details) ON CONFLICT (position) DO NOTHING`,
    );
    // position >= since holds for every event at or after since (the position starts with `at`).
    this.select = db.prepare<ListParameters, EventRow>(
      `SELECT * FROM audit_event
       WHERE position >= @since AND (@before IS NULL OR position < @before) AND at >= @since AND at < @until
         AND (@actor IS NULL OR actor = @actor) AND (@action IS NULL OR action = @action)
       ORDER BY position DESC LIMIT @take`,
    );
  }

  async append(event: AuditEvent): Promise<void> {
    const written = this.insert.run({
      position: auditPosition(event),
      id: event.id,
      at: event.at,
      actor: event.actor,
      action: event.action,
      target: event.target,
      outcome: event.outcome,
      details: JSON.stringify(event.details),
    });
    if (written.changes === 0) throw new InvalidInputError(`audit event ${event.id} exists and is never overwritten`);
  }

  async list(filter: AuditFilter): Promise<AuditPage> {
    checkPageLimit(filter.limit);
    const rows = this.select.all({
      since: filter.since,
      until: filter.until,
      before: auditCursorPosition(filter.cursor),
      actor: filter.actor ?? null,
      action: filter.action ?? null,
      take: filter.limit + 1,
    });
    const events = rows
      .slice(0, filter.limit)
      .map(toEvent)
      .filter((event) => matchesAuditFilter(event, filter));
    const last = rows.length > filter.limit ? rows[filter.limit - 1] : undefined;
    return { events, nextCursor: last ? auditCursor(last.position) : null };
  }
}

function toEvent(row: EventRow): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action as AuditEvent['action'],
    target: row.target,
    outcome: row.outcome as AuditEvent['outcome'],
    details: JSON.parse(row.details) as AuditEvent['details'],
  };
}
