// The session: who signed in, in an HMAC-signed cookie (HttpOnly, SameSite=Lax, Secure
// except on plain-http localhost), valid 8 hours (admins 1 hour). With a session store
// the cookie also names a server-side session, checked on every request (core/sessions.ts):
// sign-out and directory changes end it before the cookie expires. Also the short-lived
// cookie that carries state, nonce and PKCE verifier through the round trip to the provider.
import { randomBytes } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';
import { SECURE_SESSION_COOKIE } from '../../lambdas/contract/edge.ts';
import { ADMIN_SESSION_MAX_AGE_SECONDS, outlivedFailover, type SessionGuard } from '../../lambdas/core/sessions.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { SessionStore } from '../../lambdas/ports/session-store.ts';
import type { Identity, PendingSignIn } from '../../lambdas/ports/sign-in.ts';
import { messagePage } from '../views/layout.tsx';
import type { SessionData, WebEnv } from './context.ts';

export const SESSION_MAX_AGE_SECONDS = 8 * 3600;
export const PENDING_SIGN_IN_MAX_AGE_SECONDS = 600;
export const MIN_SESSION_SECRET_LENGTH = 32;

export interface SessionConfig {
  /** HMAC key for the cookies; at least 32 characters. */
  secret: string;
  clock: Clock;
  maxAgeSeconds?: number;
  adminGroup: string;
  /** Server-side sessions and their per-request check; without them the cookie alone is the session. */
  server?: { store: SessionStore; guard: SessionGuard };
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Secure cookies everywhere except a plain-http request to this machine (local mode). */
export function isSecureRequest(c: Context): boolean {
  const url = new URL(c.req.url);
  return !(url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}

/** `__Host-` binds the cookie to our host and path / — possible only with Secure. */
export function sessionCookieName(c: Context): string {
  return isSecureRequest(c) ? SECURE_SESSION_COOKIE : 'shadowmail_session';
}

export function pendingCookieName(c: Context): string {
  return isSecureRequest(c) ? '__Host-shadowmail_signin' : 'shadowmail_signin';
}

function cookieOptions(c: Context, maxAge: number): CookieOptions {
  return { path: '/', httpOnly: true, sameSite: 'Lax', secure: isSecureRequest(c), maxAge };
}

export function identityFromSession(session: SessionData): Identity {
  return { subject: session.sub, email: session.email, name: session.name, groups: session.groups };
}

/**
 * Starts a new session (fresh CSRF token) for `identity` and sets its cookie. `tokenAdmin`:
 * the token itself carried the admin group (not only the directory), which a directory
 * demotion cannot take away. `breakGlassAdmin`: a configured break-glass admin account,
 * judged by the configured list instead of the directory on every request.
 */
export async function startSession(
  c: Context<WebEnv>,
  identity: Identity,
  config: SessionConfig,
  tokenAdmin = identity.groups.includes(config.adminGroup),
  breakGlassAdmin = false,
): Promise<SessionData> {
  const isAdmin = identity.groups.includes(config.adminGroup);
  const configured = config.maxAgeSeconds ?? SESSION_MAX_AGE_SECONDS;
  const maxAge = isAdmin ? Math.min(configured, ADMIN_SESSION_MAX_AGE_SECONDS) : configured;
  const now = config.clock.now();
  const sid = config.server ? randomBytes(32).toString('base64url') : undefined;
  const exp = Math.floor(now.getTime() / 1000) + maxAge;
  if (config.server && sid)
    await config.server.store.create({
      id: sid,
      email: identity.email,
      ...(identity.directoryId !== undefined && { directoryId: identity.directoryId }),
      tokenAdmin,
      ...(breakGlassAdmin && { breakGlassAdmin: true }),
      createdAt: now.getTime(),
      expiresAt: exp,
      signedOut: false,
    });
  const session: SessionData = {
    sub: identity.subject,
    email: identity.email,
    name: identity.name,
    groups: identity.groups,
    csrf: randomBytes(32).toString('base64url'),
    exp,
    ...(sid && { sid }),
  };
  await setSignedCookie(c, sessionCookieName(c), encode(session), config.secret, cookieOptions(c, maxAge));
  return session;
}

/** The session the request's cookie proves, or null: absent, tampered, malformed or expired. */
export async function readSession(c: Context, config: SessionConfig): Promise<SessionData | null> {
  const value = await getSignedCookie(c, config.secret, sessionCookieName(c));
  if (typeof value !== 'string') return null;
  const session = decode(value, isSessionData);
  if (!session || session.exp <= config.clock.now().getTime() / 1000) return null;
  return session;
}

/** Clears the cookie and, with a store, ends the server-side session so the old cookie stays dead. */
export async function endSession(c: Context, config: SessionConfig, session: SessionData | null): Promise<void> {
  deleteCookie(c, sessionCookieName(c), { path: '/', secure: isSecureRequest(c) });
  if (config.server && session?.sid) {
    await config.server.store.signOut(session.sid);
    config.server.guard.forget(session.sid);
  }
}

/** Puts the session (if any) on the context: session, identity, csrfToken, isAdmin. */
export function sessionMiddleware(config: SessionConfig): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const session = await readSession(c, config);
    if (session) {
      let isAdmin = session.groups.includes(config.adminGroup);
      let good = true;
      if (config.server) {
        // A cookie without a server-side session (minted before the store, or forged with the key) is none.
        const standing = session.sid ? await config.server.guard.check(session.sid) : { good: false as const, reason: 'no session id' };
        if (standing.good && !outlivedFailover(standing, c.get('failover'))) isAdmin = standing.admin;
        else {
          good = false;
          deleteCookie(c, sessionCookieName(c), { path: '/', secure: isSecureRequest(c) });
        }
      }
      if (good) {
        const groups = session.groups.filter((group) => group !== config.adminGroup);
        c.set('session', session);
        c.set('identity', { ...identityFromSession(session), groups: isAdmin ? [...groups, config.adminGroup] : groups });
        c.set('csrfToken', session.csrf);
        c.set('isAdmin', isAdmin);
      }
    }
    await next();
  };
}

/** Guards the mailbox routes: a page asks the browser to sign in, anything else is refused. */
export function requireSignIn(): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    if (c.get('identity')) return next();
    if (c.req.method === 'GET' || c.req.method === 'HEAD') {
      const url = new URL(c.req.url);
      return c.redirect(`/auth/login?returnTo=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    const t = c.get('t');
    return messagePage(c, { title: t('auth.signInRequired.title'), text: t('auth.signInRequired.body'), status: 401 });
  };
}

export async function setPendingSignIn(c: Context, pending: PendingSignIn, config: SessionConfig): Promise<void> {
  const exp = Math.floor(config.clock.now().getTime() / 1000) + PENDING_SIGN_IN_MAX_AGE_SECONDS;
  await setSignedCookie(
    c,
    pendingCookieName(c),
    encode({ ...pending, exp }),
    config.secret,
    cookieOptions(c, PENDING_SIGN_IN_MAX_AGE_SECONDS),
  );
}

export async function takePendingSignIn(c: Context, config: SessionConfig): Promise<PendingSignIn | null> {
  const value = await getSignedCookie(c, config.secret, pendingCookieName(c));
  deleteCookie(c, pendingCookieName(c), { path: '/', secure: isSecureRequest(c) });
  if (typeof value !== 'string') return null;
  const pending = decode(value, isPendingSignIn);
  if (!pending || pending.exp <= config.clock.now().getTime() / 1000) return null;
  return { state: pending.state, nonce: pending.nonce, codeVerifier: pending.codeVerifier, returnTo: pending.returnTo };
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decode<T>(value: string, guard: (candidate: unknown) => candidate is T): T | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    return guard(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

const isString = (value: unknown): value is string => typeof value === 'string';

function isSessionData(value: unknown): value is SessionData {
  const v = value as Partial<SessionData> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    isString(v.sub) &&
    isString(v.email) &&
    isString(v.name) &&
    isString(v.csrf) &&
    v.csrf.length >= 32 &&
    typeof v.exp === 'number' &&
    (v.sid === undefined || isString(v.sid)) &&
    Array.isArray(v.groups) &&
    v.groups.every(isString)
  );
}

function isPendingSignIn(value: unknown): value is PendingSignIn & { exp: number } {
  const v = value as Partial<PendingSignIn & { exp: number }> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    isString(v.state) &&
    isString(v.nonce) &&
    isString(v.codeVerifier) &&
    isString(v.returnTo) &&
    typeof v.exp === 'number'
  );
}
