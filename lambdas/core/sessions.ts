// Whether a session is still good, decided on every request: the session item says
// signed out or expired, the (synced) directory says disabled, removed or no longer admin, the
// failover flag was switched off.
// The answer is cached briefly so a page view does not cost a store and a directory read.
import type { Clock } from '../ports/clock.ts';
import type { DirectoryLookup } from '../ports/directory.ts';
import type { FailoverState } from '../ports/failover-flag.ts';
import type { SessionStore, StoredSession } from '../ports/session-store.ts';
import { isBreakGlassAdmin } from './break-glass.ts';
import { canSignIn } from './directory.ts';
import type { DirectoryUser } from './model.ts';

/** The bound: a revocation reaches every instance within a minute. */
export const SESSION_CHECK_CACHE_MS = 60_000;
/**
 * An admin session opens every mailbox's raw messages and the failover switch, so a
 * stolen or forgotten admin cookie is worth far more than a user's; the few admins
 * sign in again after an hour (users keep 8 hours).
 */
export const ADMIN_SESSION_MAX_AGE_SECONDS = 3600;

const GUID_TEXT = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;
const BASE64_16_BYTES = /^[A-Za-z0-9+/]{22}==$/;

/**
 * One form for a directory id, however the token carries it: the sync stores AD's
 * objectGUID as the hex of its bytes; a SAML claim carries it in base64 (AD FS, the
 * ImmutableID form) or as GUID text, whose first three groups are the bytes reversed.
 * Anything else (a CSV's id) is compared as it is.
 */
export function directoryIdKey(value: string): string {
  const id = value.trim().replace(/^\{(.*)\}$/, '$1');
  const guid = GUID_TEXT.exec(id);
  if (guid) {
    const swap = (hex: string) => hex.match(/../g)!.reverse().join('');
    return `${swap(guid[1]!)}${swap(guid[2]!)}${swap(guid[3]!)}${guid[4]}${guid[5]}`.toLowerCase();
  }
  if (/^[0-9a-f]{32}$/i.test(id)) return id.toLowerCase();
  if (BASE64_16_BYTES.test(id)) return Buffer.from(id, 'base64').toString('hex');
  return id;
}

/**
 * The token names the same directory user as the address found: a token without an id,
 * or a user the sync knows no immutable id of (`dn:` fallback), is mapped by address alone.
 */
export function sameDirectoryId(tokenId: string | undefined, user: DirectoryUser): boolean {
  if (tokenId === undefined || user.id.startsWith('dn:')) return true;
  return directoryIdKey(tokenId) === directoryIdKey(user.id);
}

export type SessionStanding = { good: true; admin: boolean; createdAt: number } | { good: false; reason: string };

/** The rule itself, pure: the stored session and what the directory says of its address now. */
export function judgeSession(
  stored: StoredSession | null,
  directory: { consulted: false } | { consulted: true; user: DirectoryUser | null; synced: boolean },
  now: Date,
  breakGlassAdmins: readonly string[] = [],
): SessionStanding {
  if (!stored) return { good: false, reason: 'unknown or expired session' };
  if (stored.signedOut) return { good: false, reason: 'signed out' };
  if (stored.expiresAt <= now.getTime() / 1000) return { good: false, reason: 'expired' };
  if (stored.breakGlassAdmin) {
    // Not a directory user: the configured list alone keeps the account an admin, and an
    // admin is all it is (no mailbox of its own to fall back to when the hour is over).
    if (!isBreakGlassAdmin({ email: stored.email, nativeAccount: true }, breakGlassAdmins))
      return { good: false, reason: 'no longer a break-glass admin' };
    if (now.getTime() - stored.createdAt >= ADMIN_SESSION_MAX_AGE_SECONDS * 1000) return { good: false, reason: 'expired' };
    return { good: true, admin: true, createdAt: stored.createdAt };
  }
  let admin = stored.tokenAdmin;
  if (directory.consulted && !directory.user && directory.synced) return { good: false, reason: 'not in the directory' };
  if (directory.consulted && directory.user) {
    if (!canSignIn(directory.user)) return { good: false, reason: 'disabled in the directory' };
    if (!sameDirectoryId(stored.directoryId, directory.user)) return { good: false, reason: 'another directory user has the address' };
    // A directory that knows the user decides: a demotion there must end admin rights,
    // whatever group the token was issued with.
    admin = directory.user.admin;
  }
  // Admin rights end with the admin age even if the session was started as a user's.
  if (now.getTime() - stored.createdAt >= ADMIN_SESSION_MAX_AGE_SECONDS * 1000) admin = false;
  return { good: true, admin, createdAt: stored.createdAt };
}

/**
 * Switching failover off ends users' sessions: while the flag is off no user session
 * counts, and one started before the flag's last change (an off and on again) stays
 * ended. Admin sessions survive, since admins work while the flag is off. Checked on
 * every request against the flag the gate read (itself cached ≤ 30 s), not cached here.
 */
export function outlivedFailover(standing: { admin: boolean; createdAt: number }, flag: FailoverState | undefined): boolean {
  if (standing.admin) return false;
  if (!flag?.on) return true;
  return flag.since !== null && Date.parse(flag.since) > standing.createdAt;
}

export interface SessionGuardDeps {
  store: SessionStore;
  directory?: DirectoryLookup;
  clock: Clock;
  cacheMs?: number;
  /** Usernames of the break-glass admin accounts (config breakGlass.admins). */
  breakGlassAdmins?: readonly string[];
}

/** judgeSession with its inputs read through a per-instance cache of at most cacheMs. */
export class SessionGuard {
  private readonly cache = new Map<string, { at: number; standing: Promise<SessionStanding> }>();
  private readonly cacheMs: number;

  constructor(private readonly deps: SessionGuardDeps) {
    this.cacheMs = Math.min(deps.cacheMs ?? SESSION_CHECK_CACHE_MS, SESSION_CHECK_CACHE_MS);
  }

  async check(id: string): Promise<SessionStanding> {
    const now = this.deps.clock.now().getTime();
    const cached = this.cache.get(id);
    if (cached && now - cached.at < this.cacheMs) return cached.standing;
    this.evictOlderThan(now);
    const standing = this.read(id);
    this.cache.set(id, { at: now, standing });
    // A failed read is not cached: the next request asks again.
    standing.catch(() => this.cache.delete(id));
    return standing;
  }

  /** Sign-out on this instance takes effect at once; others see it within cacheMs. */
  forget(id: string): void {
    this.cache.delete(id);
  }

  private async read(id: string): Promise<SessionStanding> {
    const now = this.deps.clock.now();
    const stored = await this.deps.store.get(id, now);
    const admins = this.deps.breakGlassAdmins ?? [];
    if (!stored || !this.deps.directory || stored.breakGlassAdmin) return judgeSession(stored, { consulted: false }, now, admins);
    const [user, synced] = await Promise.all([this.deps.directory.userForAddress(stored.email), this.deps.directory.hasSynced()]);
    return judgeSession(stored, { consulted: true, user, synced }, now, admins);
  }

  private evictOlderThan(now: number): void {
    if (this.cache.size < 1000) return;
    for (const [key, entry] of this.cache) if (now - entry.at >= this.cacheMs) this.cache.delete(key);
  }
}
