// The audit log's use cases: `audited` wraps an admin action so that it cannot run
// without leaving an entry (who, when, what, and whether it worked), and listAudit reads
// the log for the admin page with checked filters. Entries are bounded and cleaned here,
// so what an actor typed cannot forge lines in a log view or blow up an item. When the
// entry is written and how it is kept: docs/design.md §6.
import { randomUUID } from 'node:crypto';
import type { AuditAction, AuditDetailValue, AuditEvent, AuditFilter, AuditLog, AuditPage } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import { AUDIT_ACTIONS } from './audit-actions.ts';
import { ForbiddenError, InvalidInputError, RetryableError, ShadowmailError } from './errors.ts';
import { decodeCursor, encodeCursor } from './mailbox.ts';
import { oneLine } from './text.ts';
import { parseTime } from './time-input.ts';

export const MAX_ACTOR_CHARS = 200;
export const MAX_TARGET_CHARS = 500;
export const MAX_DETAIL_KEYS = 30;
export const MAX_DETAIL_CHARS = 1000;
export const MAX_DETAIL_LIST = 50;
export const DEFAULT_AUDIT_WINDOW_DAYS = 30;
export const MAX_AUDIT_WINDOW_DAYS = 3660;
export const MAX_AUDIT_PAGE = 500;
const APPEND_TRIES = 3;

export const AUDIT_ACTION_SET: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

/** The entry could not be written; the action it was about may have happened. */
export class AuditWriteError extends RetryableError {
  constructor(
    readonly event: AuditEvent,
    options?: { cause?: unknown },
  ) {
    super(`audit entry for ${event.action} by ${event.actor} could not be written`, options);
  }
}

export interface AuditContext {
  actor: string;
  action: AuditAction;
  target?: string | null;
  details?: Record<string, AuditDetailValue>;
}

/** A clean, bounded event (throws InvalidInputError for a missing actor or an unknown action). */
export function auditEvent(context: AuditContext, at: Date, outcome: AuditEvent['outcome'] = 'ok'): AuditEvent {
  const actor = normalizeActor(context.actor);
  if (actor === '') throw new InvalidInputError('an audit entry needs an actor');
  if (!AUDIT_ACTION_SET.has(context.action)) throw new InvalidInputError(`unknown audit action ${JSON.stringify(context.action)}`);
  const target = context.target === undefined || context.target === null ? null : singleLine(context.target, MAX_TARGET_CHARS) || null;
  return {
    id: randomUUID(),
    at: at.toISOString(),
    actor,
    action: context.action,
    target,
    outcome,
    details: cleanDetails(context.details ?? {}),
  };
}

/**
 * Runs `action` and records it: `ok` with the details plus `resultDetails(result)`,
 * or `error`/`denied` with the error's code and message (the error is rethrown).
 */
export async function audited<T>(
  log: AuditLog,
  clock: Clock,
  context: AuditContext,
  action: () => Promise<T>,
  resultDetails?: (result: T) => Record<string, AuditDetailValue>,
): Promise<T> {
  // Validated before the action, so a bad actor or action never runs unrecorded.
  auditEvent(context, clock.now());
  let result: T;
  try {
    result = await action();
  } catch (error) {
    const outcome = error instanceof ForbiddenError ? 'denied' : 'error';
    const why = error instanceof ShadowmailError ? `${error.code}: ${error.message}` : 'internal error';
    await appendWithRetry(log, auditEvent({ ...context, details: { ...context.details, error: why } }, clock.now(), outcome)).catch(
      () => undefined,
    );
    throw error;
  }
  const extra = resultDetails ? resultDetails(result) : {};
  await appendWithRetry(log, auditEvent({ ...context, details: { ...context.details, ...extra } }, clock.now(), 'ok'));
  return result;
}

/** Records something that is not wrapped as an action (a sign-in, a refusal). */
export async function recordAudit(
  log: AuditLog,
  clock: Clock,
  context: AuditContext,
  outcome: AuditEvent['outcome'] = 'ok',
): Promise<AuditEvent> {
  const event = auditEvent(context, clock.now(), outcome);
  await appendWithRetry(log, event);
  return event;
}

async function appendWithRetry(log: AuditLog, event: AuditEvent): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < APPEND_TRIES; attempt += 1) {
    try {
      await log.append(event);
      return;
    } catch (error) {
      lastError = error;
      if (error instanceof InvalidInputError) break;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
  throw new AuditWriteError(event, { cause: lastError });
}

export interface AuditQueryInput {
  since?: string | Date;
  until?: string | Date;
  actor?: string;
  action?: string;
  cursor?: string | null;
  limit?: number;
}

/** One page of the log, newest first; the window defaults to the last 30 days. */
export async function listAudit(
  input: AuditQueryInput,
  deps: { audit: AuditLog; clock: Clock },
): Promise<AuditPage & { filter: AuditFilter }> {
  const now = deps.clock.now();
  const until = input.until === undefined ? new Date(now.getTime() + 60_000) : parseTime(input.until, 'until');
  const since =
    input.since === undefined ? new Date(until.getTime() - DEFAULT_AUDIT_WINDOW_DAYS * 86_400_000) : parseTime(input.since, 'since');
  if (since.getTime() >= until.getTime()) throw new InvalidInputError('since must be before until');
  if (until.getTime() - since.getTime() > MAX_AUDIT_WINDOW_DAYS * 86_400_000)
    throw new InvalidInputError(`at most ${MAX_AUDIT_WINDOW_DAYS} days at a time`);
  const limit = input.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE)
    throw new InvalidInputError(`limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}`);
  if (input.action !== undefined && input.action !== '' && !AUDIT_ACTION_SET.has(input.action)) {
    throw new InvalidInputError(`unknown action ${JSON.stringify(input.action)}`);
  }
  decodeCursor(input.cursor);
  const actor = input.actor === undefined ? '' : normalizeActor(input.actor);
  const filter: AuditFilter = {
    since: since.toISOString(),
    until: until.toISOString(),
    limit,
    cursor: input.cursor ?? null,
    ...(actor !== '' && { actor }),
    ...(input.action !== undefined && input.action !== '' && { action: input.action as AuditAction }),
  };
  return { ...(await deps.audit.list(filter)), filter };
}

// ---- semantics shared by the audit log adapters ------------------------------------

/** Where an event sits: newest first is descending order of this string. */
export function auditPosition(event: Pick<AuditEvent, 'at' | 'id'>): string {
  return `${event.at}#${event.id}`;
}

export const auditCursor = (position: string): string => encodeCursor(position);
export const auditCursorPosition = (cursor: string | null | undefined): string | null => decodeCursor(cursor);

/** Whether an event belongs to a filter's result (everything but the cursor). */
export function matchesAuditFilter(event: AuditEvent, filter: AuditFilter): boolean {
  return (
    event.at >= filter.since &&
    event.at < filter.until &&
    (filter.actor === undefined || event.actor === filter.actor) &&
    (filter.action === undefined || event.action === filter.action)
  );
}

/** The comparison form of an actor: trimmed, single line, lower case, bounded. */
export function normalizeActor(actor: string): string {
  return singleLine(actor, MAX_ACTOR_CHARS).toLowerCase();
}

function cleanDetails(details: Record<string, AuditDetailValue>): Record<string, AuditDetailValue> {
  const cleaned: Record<string, AuditDetailValue> = {};
  for (const [key, value] of Object.entries(details).slice(0, MAX_DETAIL_KEYS)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key) || value === undefined) continue;
    if (typeof value === 'string') cleaned[key] = singleLine(value, MAX_DETAIL_CHARS);
    else if (Array.isArray(value)) cleaned[key] = value.slice(0, MAX_DETAIL_LIST).map((item) => singleLine(String(item), MAX_DETAIL_CHARS));
    else if (typeof value === 'number') cleaned[key] = Number.isFinite(value) ? value : null;
    else cleaned[key] = value;
  }
  return cleaned;
}

/** Control characters (line breaks included) become spaces; runs of blanks one space. */
function singleLine(value: string, max: number): string {
  return oneLine(value).slice(0, max);
}
