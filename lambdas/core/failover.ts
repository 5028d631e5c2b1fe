// The failover flag's use cases: reading it through a short cache (every page asks,
// so the SSM parameter or flag file is read at most once per cache period), switching
// it with a record of who did it and why, and parsing what a store returns.

import type { Clock } from '../ports/clock.ts';
import type { FailoverFlag, FailoverState } from '../ports/failover-flag.ts';
import { InvalidInputError } from './errors.ts';
import { plainTextLines } from './text.ts';

/** The limit: a flag switched off locks users out within this time. */
export const MAX_FAILOVER_CACHE_MS = 30_000;
export const MAX_FAILOVER_MESSAGE_LENGTH = 1000;
export const MAX_FAILOVER_REASON_LENGTH = 500;

const wallClock: Clock = { now: () => new Date() };

/**
 * Caches another flag's state for `maxAgeMs` (at most 30 s). Concurrent readers share
 * one store read; a failed read is not cached, so the next request tries again.
 */
export class CachedFailoverFlag implements FailoverFlag {
  private readonly maxAgeMs: number;
  private readonly clock: Clock;
  private cached: { state: FailoverState; readAt: number } | null = null;
  private inFlight: Promise<FailoverState> | null = null;

  constructor(
    private readonly inner: FailoverFlag,
    options: { maxAgeMs?: number; clock?: Clock } = {},
  ) {
    const maxAgeMs = options.maxAgeMs ?? MAX_FAILOVER_CACHE_MS;
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0 || maxAgeMs > MAX_FAILOVER_CACHE_MS) {
      throw new InvalidInputError(`failover cache age must be 0 to ${MAX_FAILOVER_CACHE_MS} ms, not ${maxAgeMs}`);
    }
    this.maxAgeMs = maxAgeMs;
    this.clock = options.clock ?? wallClock;
  }

  async read(): Promise<FailoverState> {
    const now = this.clock.now().getTime();
    // A clock that went backwards must not extend the cache beyond maxAge.
    if (this.cached && now - this.cached.readAt < this.maxAgeMs && now >= this.cached.readAt) return this.cached.state;
    this.inFlight ??= this.inner.read().then(
      (state) => {
        this.cached = { state, readAt: now };
        this.inFlight = null;
        return state;
      },
      (error: unknown) => {
        this.inFlight = null;
        throw error;
      },
    );
    return this.inFlight;
  }

  async write(state: FailoverState): Promise<void> {
    await this.inner.write(state);
    this.cached = { state, readAt: this.clock.now().getTime() };
  }
}

export interface FailoverSwitch {
  on: boolean;
  /** Shown to users on the status page; kept when omitted and the flag stays on. */
  message?: string;
  /** Who switches: an admin's address or `cli:<user>`. */
  actor: string;
  reason?: string;
}

/**
 * Switches the flag and records who did it, when and why. `since` is the moment of the
 * last change between on and off: switching on again only updates message and reason.
 */
export async function switchFailover(flag: FailoverFlag, change: FailoverSwitch, clock: Clock): Promise<FailoverState> {
  const actor = singleLine(change.actor, 200, 'actor');
  if (actor === '') throw new InvalidInputError('the failover switch needs an actor');
  const message = change.message === undefined ? undefined : text(change.message, MAX_FAILOVER_MESSAGE_LENGTH, 'message');
  const reason = change.reason === undefined ? null : singleLine(change.reason, MAX_FAILOVER_REASON_LENGTH, 'reason') || null;
  // A damaged or unreadable value must never stop an admin from switching: it is replaced.
  const previous = await flag.read().catch(() => null);
  const unchanged = previous !== null && previous.on === change.on && previous.since !== null;
  const next: FailoverState = {
    on: change.on,
    since: unchanged ? previous.since : clock.now().toISOString(),
    message: change.on ? (message ?? (unchanged ? previous.message : '')) : (message ?? ''),
    changedBy: actor,
    reason,
  };
  await flag.write(next);
  return next;
}

/** Validates a stored flag value (JSON already parsed); anything else is an InvalidInputError. */
export function parseFailoverState(value: unknown): FailoverState {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidInputError('failover state must be a JSON object');
  const record = value as Record<string, unknown>;
  if (typeof record.on !== 'boolean') throw new InvalidInputError('failover state: "on" must be true or false');
  const since = optionalString(record.since, 'since');
  if (since !== null && Number.isNaN(Date.parse(since))) throw new InvalidInputError('failover state: "since" must be an ISO 8601 time');
  const message = record.message === undefined || record.message === null ? '' : record.message;
  if (typeof message !== 'string') throw new InvalidInputError('failover state: "message" must be a string');
  return {
    on: record.on,
    since,
    message: text(message, MAX_FAILOVER_MESSAGE_LENGTH, 'message'),
    changedBy: optionalString(record.changedBy, 'changedBy'),
    reason: optionalString(record.reason, 'reason'),
  };
}

function optionalString(value: unknown, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidInputError(`failover state: "${name}" must be a string`);
  return value;
}

/** Multi-line text without control characters other than line breaks and tabs. */
function text(value: string, max: number, name: string): string {
  const cleaned = plainTextLines(value).trim();
  if (cleaned.length > max) throw new InvalidInputError(`the failover ${name} is longer than ${max} characters`);
  return cleaned;
}

function singleLine(value: string, max: number, name: string): string {
  return text(value.replace(/\s+/g, ' '), max, name);
}
