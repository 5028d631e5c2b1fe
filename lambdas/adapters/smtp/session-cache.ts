// Idle SMTP sessions to the primary kept for the next message, as Postfix's connection
// cache does (smtp_connection_cache_on_demand): after a transaction the server answered,
// the session waits here instead of QUIT, and the next relay takes it (most recently used
// first) after checking it with RSET. The bounds and their reasons: RELAY_SESSION_REUSE in
// lambdas/contract/pipeline-limits.ts; the relay's side of it: docs/design.md §2.

/** What the cache needs of a session. */
export interface CacheableSession {
  /** When the connection was opened (ms since the epoch). */
  readonly openedAt: number;
  /** Transactions started on it (MAIL FROM sent). */
  readonly transactions: number;
  /** Connected, not closing, no error seen. */
  readonly alive: boolean;
  /** Called once when the connection ends, whoever ends it. */
  onEnd(listener: () => void): void;
  /** Idle: the socket no longer keeps the process alive. */
  park(): void;
  /** Taken again: the socket keeps the process alive while in use. */
  unpark(): void;
  /** QUIT, waiting a bounded time for the 221. Never throws. */
  quit(): Promise<void>;
}

export interface SessionCacheLimits {
  /** An idle session is closed after this long (Postfix smtp_connection_cache_time_limit). */
  idleMs: number;
  /** A session is not used for another message once this old (Postfix smtp_connection_reuse_time_limit). */
  maxAgeMs: number;
  /** Transactions per session, then QUIT (Exchange MaxMessagesPerConnection). */
  transactionsPerSession: number;
  /**
   * Sessions open at once, busy and idle together, as far as this cache decides: a
   * finished session goes idle only while fewer are open. It does not make relays wait
   * (SessionBoundRelay does); it keeps idle sessions from adding to what the relays hold.
   */
  maxSessions: number;
}

interface Idle<S> {
  session: S;
  since: number;
  timer: NodeJS.Timeout;
}

export class SessionCache<S extends CacheableSession> {
  /** Oldest first; take() uses the end. */
  private readonly idle: Idle<S>[] = [];
  private busy = 0;
  private closed = false;
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly limits: SessionCacheLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Open sessions (busy + idle) as counted here. */
  get open(): number {
    return this.busy + this.idle.length;
  }

  /**
   * Starts a relay: takes the most recently used idle session that `fits` (same login)
   * and is still within its bounds, or undefined for a fresh one. Idle sessions that do not
   * fit or are past their bounds are closed on the way, and their QUIT is awaited before
   * a fresh session may be opened: the server never counts more sessions than the bound.
   * Each acquire() owes one release().
   */
  async acquire(fits: (session: S) => boolean): Promise<S | undefined> {
    this.busy += 1;
    const retired: Promise<void>[] = [];
    for (let entry = this.idle.pop(); entry; entry = this.idle.pop()) {
      clearTimeout(entry.timer);
      const { session } = entry;
      // the timer may not have run: a Lambda sandbox frozen since the last invocation
      const fresh = this.now() - entry.since < this.limits.idleMs;
      if (fresh && session.alive && fits(session) && this.withinBounds(session)) {
        session.unpark();
        return session;
      }
      retired.push(this.retire(session));
    }
    // A fresh session is about to be opened: without a bound above the cache, room for it
    // comes from the least recently used idle session (with a bound, none is idle here).
    while (this.idle.length > 0 && this.open > this.limits.maxSessions) {
      const oldest = this.idle.shift()!;
      clearTimeout(oldest.timer);
      retired.push(this.retire(oldest.session));
    }
    await Promise.all(retired);
    return undefined;
  }

  /** Ends a relay: the session it used (if any) goes idle when `reusable` and within bounds, else QUIT. */
  release(session: S | undefined, reusable: boolean): void {
    this.busy -= 1;
    if (!session) return;
    if (!reusable || this.closed || !session.alive || !this.withinBounds(session) || this.open + 1 > this.limits.maxSessions) {
      this.retire(session);
      return;
    }
    const expiresIn = Math.min(this.limits.idleMs, session.openedAt + this.limits.maxAgeMs - this.now());
    const entry: Idle<S> = {
      session,
      since: this.now(),
      // unref: an idle session never holds the process open (nor does its socket, see park())
      timer: setTimeout(() => this.expire(entry), Math.max(expiresIn, 0)).unref(),
    };
    session.park();
    session.onEnd(() => this.forget(entry));
    this.idle.push(entry);
  }

  /** Closes every idle session (a changed or refused login: none of them is used again). */
  drop(): void {
    for (const entry of this.idle.splice(0)) {
      clearTimeout(entry.timer);
      this.retire(entry.session);
    }
  }

  /** QUITs every idle session and keeps none from now on; sessions in use QUIT when their relay ends. */
  async close(): Promise<void> {
    this.closed = true;
    this.drop();
    await Promise.all([...this.closing]);
  }

  private withinBounds(session: S): boolean {
    return session.transactions < this.limits.transactionsPerSession && this.now() - session.openedAt < this.limits.maxAgeMs;
  }

  private expire(entry: Idle<S>): void {
    if (this.forget(entry)) this.retire(entry.session);
  }

  private forget(entry: Idle<S>): boolean {
    const at = this.idle.indexOf(entry);
    if (at < 0) return false;
    clearTimeout(entry.timer);
    this.idle.splice(at, 1);
    return true;
  }

  private retire(session: S): Promise<void> {
    const done: Promise<void> = session.quit().finally(() => this.closing.delete(done));
    this.closing.add(done);
    return done;
  }
}
