// The admin console's first page: the situation at a glance, each figure from one query a
// port already offers. Every part is read on its own: one source that cannot be read
// (SQS throttled, the table busy) leaves its part "unavailable" and the others shown.

import type { AuditEvent, AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeadLetterRedrive, QueueDepth } from '../ports/dead-letter-redrive.ts';
import type { DirectoryStore } from '../ports/directory.ts';
import type { FailoverFlag, FailoverState } from '../ports/failover-flag.ts';
import type { ForwardBacklog, ForwardBacklogState } from '../ports/forward-backlog.ts';
import type { PendingRecipients } from '../ports/pending-recipients.ts';
import { listAudit } from './audit.ts';
import type { DeliveryAttempt } from './model.ts';
import { searchTrace, type TraceDeps } from './trace.ts';

/** The messages of this many recent hours are looked at for Exchange's state. */
export const EXCHANGE_WINDOW_HOURS = 24;
/** At most this many of them (one page of the trace search, newest first). */
export const EXCHANGE_SAMPLE = 50;
/** The last audit entries shown. */
export const LATEST_AUDIT_ENTRIES = 10;
/** Sign-ins counted at most (the page says "at least" beyond). */
export const MAX_SIGN_INS_COUNTED = 2_000;

export interface ConsoleDeps extends TraceDeps {
  /** The trace's reads, and the recipients the forward still has to deliver. */
  index: TraceDeps['index'] & Pick<PendingRecipients, 'countPendingRecipients'>;
  audit: AuditLog;
  clock: Clock;
  flag: FailoverFlag;
  /** The forward queue's backlog; absent: not shown. */
  backlog?: ForwardBacklog | null;
  /** The dead-letter queues by name (AWS); absent or empty: not shown. */
  deadLetters?: readonly { name: string; queue: Pick<DeadLetterRedrive, 'depth'> }[];
  /** The synced directory; absent: not shown. */
  directory?: Pick<DirectoryStore, 'readState'> | null;
}

/** A part of the page: its value, or that it could not be read. */
export type Part<T> = { ok: true; value: T } | { ok: false; error: string };

export interface ExchangeState {
  /** True: the newest attempt was accepted; false: refused or no answer; null: no attempt in the sample. */
  answering: boolean | null;
  /** The oldest attempt of the newest run of the same outcome: answering (or not) since then at the latest. */
  since: string | null;
  lastAccepted: DeliveryAttempt | null;
  lastRefused: DeliveryAttempt | null;
  /** Recipients waiting for a retry, and failed for good, among the sample. */
  deferred: number;
  failed: number;
  /** How many messages were looked at. */
  sampled: number;
}

export interface SignIns {
  /** Distinct people who signed in since the failover went on. */
  people: number;
  /** More sign-ins than were counted: `people` is a lower bound. */
  more: boolean;
}

export interface DirectorySummary {
  users: number;
  disabled: number;
  /** The last directory.sync entry of the audit log (within its 30 days), or null. */
  lastSync: AuditEvent | null;
}

export interface ConsoleOverview {
  exchange: Part<ExchangeState>;
  backlog: Part<ForwardBacklogState> | null;
  /** Recipients of the backlog's messages that still wait (every message's latest count). */
  pendingRecipients: Part<number>;
  deadLetters: { name: string; depth: Part<QueueDepth> }[];
  failover: Part<FailoverState>;
  /** Only while the failover is on. */
  signIns: Part<SignIns> | null;
  directory: Part<DirectorySummary> | null;
  latestAudit: Part<AuditEvent[]>;
}

export async function readConsoleOverview(deps: ConsoleDeps): Promise<ConsoleOverview> {
  const now = deps.clock.now();
  const failover = await part(() => deps.flag.read());
  const [exchange, backlog, pendingRecipients, deadLetters, signIns, directory, latestAudit] = await Promise.all([
    part(() => exchangeState(deps, now)),
    deps.backlog ? part(() => deps.backlog!.read(now)) : null,
    part(() => deps.index.countPendingRecipients(now)),
    Promise.all((deps.deadLetters ?? []).map(async ({ name, queue }) => ({ name, depth: await part(() => queue.depth()) }))),
    failover.ok && failover.value.on ? part(() => countSignIns(deps, failover.value.since)) : null,
    deps.directory ? part(() => directorySummary(deps)) : null,
    part(() => newestAudit({}, LATEST_AUDIT_ENTRIES, deps)),
  ]);
  return { exchange, backlog, pendingRecipients, deadLetters, failover, signIns, directory, latestAudit };
}

async function part<T>(read: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** What forward's delivery log knows about Exchange: the attempts on the newest messages. */
async function exchangeState(deps: TraceDeps, now: Date): Promise<ExchangeState> {
  const since = new Date(now.getTime() - EXCHANGE_WINDOW_HOURS * 3_600_000);
  const page = await searchTrace({ since, limit: EXCHANGE_SAMPLE }, deps);
  const deliveries = page.messages.flatMap((traced) => traced.deliveries);
  return {
    ...exchangeFromAttempts(deliveries.flatMap((delivery) => delivery.attempts)),
    deferred: deliveries.filter((delivery) => delivery.state === 'deferred').length,
    failed: deliveries.filter((delivery) => delivery.state === 'failed').length,
    sampled: page.messages.length,
  };
}

/** Answering or not, since when, from attempts in any order. */
export function exchangeFromAttempts(
  attempts: readonly DeliveryAttempt[],
): Pick<ExchangeState, 'answering' | 'since' | 'lastAccepted' | 'lastRefused'> {
  // Lines about senders' non-delivery reports are no attempt at Exchange.
  const newestFirst = attempts.filter((attempt) => attempt.kind !== 'report').sort((a, b) => b.at.localeCompare(a.at));
  const accepted = (attempt: DeliveryAttempt) => attempt.outcome === 'delivered';
  // A permanent refusal of one recipient (550 5.1.1) is Exchange up and judging mail; a
  // refusal of our own login or TLS (a configuration fault) is not mail getting through.
  const answered = (attempt: DeliveryAttempt) =>
    accepted(attempt) || (attempt.outcome === 'failed' && attempt.code >= 500 && !attempt.configurationFault);
  const newest = newestFirst[0];
  if (!newest) return { answering: null, since: null, lastAccepted: null, lastRefused: null };
  const answering = answered(newest);
  const runEnd = newestFirst.findIndex((attempt) => answered(attempt) !== answering);
  const run = runEnd < 0 ? newestFirst : newestFirst.slice(0, runEnd);
  return {
    answering,
    since: run.at(-1)?.at ?? newest.at,
    lastAccepted: newestFirst.find(accepted) ?? null,
    lastRefused: newestFirst.find((attempt) => !accepted(attempt)) ?? null,
  };
}

/** Distinct people with a sign-in (`signin`, or `signin.code` by SMS) since the failover went on. */
async function countSignIns(deps: { audit: AuditLog; clock: Clock }, since: string | null): Promise<SignIns> {
  const people = new Set<string>();
  let counted = 0;
  for (const action of ['signin', 'signin.code'] as const) {
    let cursor: string | null = null;
    do {
      const page = await listAudit({ action, ...(since && { since }), cursor, limit: 500 }, deps);
      for (const event of page.events) people.add(event.actor);
      counted += page.events.length;
      cursor = page.nextCursor;
    } while (cursor && counted < MAX_SIGN_INS_COUNTED);
    if (cursor) return { people: people.size, more: true };
  }
  return { people: people.size, more: false };
}

async function directorySummary(deps: ConsoleDeps): Promise<DirectorySummary> {
  const [state, syncs] = await Promise.all([deps.directory!.readState(), newestAudit({ action: 'directory.sync' }, 1, deps)]);
  return {
    users: state.users.length,
    disabled: state.users.filter((user) => user.disabled).length,
    lastSync: syncs[0] ?? null,
  };
}

/** Pages a store reads per call before giving up on filling `count` (a page may be short and still go on). */
const MAX_AUDIT_PAGES = 40;

/** The newest `count` entries of the audit log's default window (30 days), following short pages. */
async function newestAudit(filter: { action?: string }, count: number, deps: { audit: AuditLog; clock: Clock }): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < MAX_AUDIT_PAGES && events.length < count; pages++) {
    const page = await listAudit({ ...filter, cursor, limit: count - events.length }, deps);
    events.push(...page.events);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return events.slice(0, count);
}
