// The webmail app as route tests use it: a real flag file, the real local OIDC
// provider and OidcSignIn adapter, a movable clock, and helpers that mint session
// cookies the way the app does (same secret, same signature) or spoil them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { generateSignedCookie } from 'hono/cookie';
import { DemoDirectory } from '../../lambdas/adapters/local/demo-directory.ts';
import { FileFailoverFlag } from '../../lambdas/adapters/local/file-failover-flag.ts';
import { type LocalOidcProvider, startLocalOidcProvider } from '../../lambdas/adapters/local/local-oidc-provider.ts';
import { OidcSignIn } from '../../lambdas/adapters/oidc/oidc-sign-in.ts';
import { switchFailover } from '../../lambdas/core/failover.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { FailoverFlag } from '../../lambdas/ports/failover-flag.ts';
import type { Identity } from '../../lambdas/ports/sign-in.ts';
import { createWebApp, type WebmailDeps } from '../../web/app.ts';
import type { SessionData, WebEnv } from '../../web/middleware/context.ts';
import type { WebLogger } from '../../web/middleware/logger.ts';

export const SECRET = 'route-test-session-secret-0123456789abcdef';
export const POOL = 'zz-local-1_routeTests';
export const CLIENT_ID = 'shadowmail-webmail';
/** app.request() URLs are http://localhost/…: the app's own origin in these tests. */
export const ORIGIN = 'http://localhost';
export const REDIRECT_URI = `${ORIGIN}/auth/callback`;
export const LOGOUT_REDIRECT = `${ORIGIN}/`;

export const ALICE: Identity = { subject: 'sub-alice', email: 'alice@corp.test', name: 'Alice Example', groups: [] };

export class TestClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export class MemoryLogger implements WebLogger {
  readonly lines: { level: string; message: string; details?: Record<string, unknown> }[] = [];
  info(message: string, details?: Record<string, unknown>) {
    this.lines.push({ level: 'info', message, ...(details && { details }) });
  }
  warn(message: string, details?: Record<string, unknown>) {
    this.lines.push({ level: 'warn', message, ...(details && { details }) });
  }
  error(message: string, details?: Record<string, unknown>) {
    this.lines.push({ level: 'error', message, ...(details && { details }) });
  }
}

export interface Harness {
  dir: string;
  flagFile: string;
  /** The store itself (no cache): what the CLI writes. */
  flag: FileFailoverFlag;
  clock: TestClock;
  provider: LocalOidcProvider;
  directory: DemoDirectory;
  logger: MemoryLogger;
  makeApp(overrides?: Partial<WebmailDeps> & { failover?: FailoverFlag }): Hono<WebEnv>;
  switchOn(message?: string): Promise<void>;
  switchOff(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'shadowmail-web-'));
  const flagFile = join(dir, 'failover.json');
  const flag = new FileFailoverFlag(flagFile);
  const clock = new TestClock(new Date('2030-03-03T13:05:00.000Z'));
  const directory = await DemoDirectory.open(join(dir, 'directory.json'), 'corp.test');
  const provider = await startLocalOidcProvider({
    port: 0,
    keysFile: join(dir, 'oidc-keys.json'),
    userPoolId: POOL,
    directory,
    client: { clientId: CLIENT_ID, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [LOGOUT_REDIRECT] },
  });
  const logger = new MemoryLogger();
  const signIn = new OidcSignIn({
    userPoolId: POOL,
    clientId: CLIENT_ID,
    clientSecret: provider.clientSecret,
    redirectUri: REDIRECT_URI,
    discoveryUrl: provider.discoveryUrl,
    logoutUrl: `${provider.endSessionUrl}?client_id=${CLIENT_ID}&post_logout_redirect_uri=${encodeURIComponent(LOGOUT_REDIRECT)}`,
  });
  return {
    dir,
    flagFile,
    flag,
    clock,
    provider,
    directory,
    logger,
    makeApp: (overrides = {}) =>
      createWebApp({
        health: async () => ({ ready: true, details: {} }),
        webmail: {
          failover: flag,
          signIn,
          sessionSecret: SECRET,
          publicOrigin: ORIGIN,
          adminGroup: 'shadowmail-admins',
          clock,
          timeZone: 'Europe/Berlin',
          logger,
          // Cookies minted by sessionCookie() are the session; session tests pass a store.
          sessions: null,
          ...overrides,
        },
      }),
    switchOn: async (message = 'Exchange is down since 14:00. We are on it. — IT') => {
      await switchFailover(flag, { on: true, message, actor: 'cli:test', reason: 'route test' }, clock);
    },
    switchOff: async () => {
      await switchFailover(flag, { on: false, actor: 'cli:test' }, clock);
    },
    close: async () => {
      await provider.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A `Cookie` header value with a session the app would have issued (or a spoiled one). */
export async function sessionCookie(
  identity: Identity,
  options: { clock: Clock; csrf?: string; expiresInSeconds?: number; secret?: string; name?: string },
): Promise<{ cookie: string; session: SessionData }> {
  const session: SessionData = {
    sub: identity.subject,
    email: identity.email,
    name: identity.name,
    groups: identity.groups,
    csrf: options.csrf ?? 'csrf-token-for-tests-0123456789abcdefghijkl',
    exp: Math.floor(options.clock.now().getTime() / 1000) + (options.expiresInSeconds ?? 3600),
  };
  const value = Buffer.from(JSON.stringify(session)).toString('base64url');
  const setCookie = await generateSignedCookie(options.name ?? 'shadowmail_session', value, options.secret ?? SECRET, { path: '/' });
  return { cookie: setCookie.split(';')[0]!, session };
}

/** Replaces the signed payload but keeps the old signature: what a tampering user can do. */
export function tamperPayload(cookie: string, change: (session: SessionData) => SessionData): string {
  const eq = cookie.indexOf('=');
  const [payload, signature] = decodeURIComponent(cookie.slice(eq + 1)).split('.');
  const session = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as SessionData;
  const forged = Buffer.from(JSON.stringify(change(session))).toString('base64url');
  return `${cookie.slice(0, eq)}=${encodeURIComponent(`${forged}.${signature}`)}`;
}

/** Every Set-Cookie of a response by cookie name, with its attribute line. */
export function setCookies(response: Response): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const line of response.headers.getSetCookie()) cookies.set(line.slice(0, line.indexOf('=')), line);
  return cookies;
}
