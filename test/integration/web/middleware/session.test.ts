// Server-side sessions through app.request(), signed in through the real local OIDC
// provider: sign-out ends the session for good, and a session follows the directory
// (disable, removal, demotion) within the check's cache time, measured on the test clock.

import type { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDirectoryUser, syncDirectory } from '../../../../lambdas/core/directory.ts';
import { ADMIN_SESSION_MAX_AGE_SECONDS, SESSION_CHECK_CACHE_MS } from '../../../../lambdas/core/sessions.ts';
import type { Identity, SignInProvider } from '../../../../lambdas/ports/sign-in.ts';
import type { WebEnv } from '../../../../web/middleware/context.ts';
import { type Harness, ORIGIN, sessionCookie, setCookies, startHarness } from '../../../support/app-under-test.ts';
import { MemoryDirectoryStore } from '../../../support/memory-directory-store.ts';
import { MemorySessionStore } from '../../../support/memory-session-store.ts';
import { CookieJar, signInAtProvider } from '../../../support/oidc-fetch-flow.ts';

type UserInput = Parameters<typeof makeDirectoryUser>[0];

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.switchOn());

async function importDirectory(store: MemoryDirectoryStore, users: UserInput[]): Promise<void> {
  await syncDirectory({ description: 'test', readAll: async () => ({ users: users.map(makeDirectoryUser), warnings: [] }) }, store, {
    owner: 't',
    now: () => new Date(),
  });
}

async function signIn(app: Hono<WebEnv>, email: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const login = await app.request(`${ORIGIN}/auth/login`);
  const pendingCookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
  const round = await signInAtProvider(login.headers.get('location')!, h.provider.url, { email, password }, new CookieJar());
  const callback = await app.request(`${ORIGIN}/auth/callback${round.callbackUrl!.search}`, { headers: { cookie: pendingCookie } });
  expect(callback.status).toBe(303);
  const cookie = setCookies(callback).get('shadowmail_session')!.split(';')[0]!;
  const payload = JSON.parse(Buffer.from(decodeURIComponent(cookie.split('=')[1]!).split('.')[0]!, 'base64url').toString('utf8'));
  return { cookie, csrf: payload.csrf };
}

async function setUp(users: UserInput[]) {
  const directory = new MemoryDirectoryStore();
  await importDirectory(directory, users);
  const sessions = new MemorySessionStore();
  const app = h.makeApp({ directory, sessions });
  return { app, directory, sessions };
}

const BOB: UserInput = { id: 'guid-bob', mailbox: 'bob@corp.test' };
const ADMIN: UserInput = { id: 'guid-admin', mailbox: 'admin@corp.test', admin: true };

describe('sign-out', () => {
  it('ends the session on the server: the old cookie is no session afterwards, on this instance at once', async () => {
    // Prepare
    const { app } = await setUp([BOB]);
    const { cookie, csrf } = await signIn(app, 'bob@corp.test', 'bob');
    expect((await app.request('/mail', { headers: { cookie } })).status).toBe(200);
    // Act
    const out = await app.request('/auth/logout', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    const replay = await app.request('/mail', { headers: { cookie } });
    // Assess
    expect(out.status).toBe(303);
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/auth/login?returnTo=%2Fmail');
  });

  it('ends it on another instance (same store) within the cache time, not later', async () => {
    // Prepare
    const { app, directory, sessions } = await setUp([BOB]);
    const other = h.makeApp({ directory, sessions });
    const { cookie, csrf } = await signIn(app, 'bob@corp.test', 'bob');
    expect((await other.request('/mail', { headers: { cookie } })).status).toBe(200);
    // Act
    await app.request('/auth/logout', { method: 'POST', headers: { cookie, origin: ORIGIN }, body: new URLSearchParams({ _csrf: csrf }) });
    h.clock.advance(SESSION_CHECK_CACHE_MS);
    const replay = await other.request('/mail', { headers: { cookie } });
    // Assess
    expect(replay.status).toBe(303);
  });

  it('refuses a validly signed cookie that names no server-side session (minted with the key, or before the store)', async () => {
    const { app } = await setUp([BOB]);
    const { cookie } = await sessionCookie({ subject: 's', email: 'bob@corp.test', name: 'Bob', groups: [] }, { clock: h.clock });

    const response = await app.request('/mail', { headers: { cookie } });

    expect(response.status).toBe(303);
  });
});

describe('a session follows the directory', () => {
  it('ends when a directory import disables the user: still good within the cache time, gone after it', async () => {
    // Prepare
    const { app, directory } = await setUp([BOB]);
    const { cookie } = await signIn(app, 'bob@corp.test', 'bob');
    expect((await app.request('/mail', { headers: { cookie } })).status).toBe(200);
    // Act
    await importDirectory(directory, [{ ...BOB, disabled: true }]);
    h.clock.advance(SESSION_CHECK_CACHE_MS - 1000);
    const within = await app.request('/mail', { headers: { cookie } });
    h.clock.advance(1000);
    const after = await app.request('/mail', { headers: { cookie } });
    // Assess
    expect(within.status).toBe(200);
    expect(after.status).toBe(303);
    expect(setCookies(after).get('shadowmail_session')).toMatch(/^shadowmail_session=; Max-Age=0/);
  });

  it('ends when a directory import removes the user, after the cache time', async () => {
    // Prepare
    const { app, directory } = await setUp([BOB, ADMIN]);
    const { cookie } = await signIn(app, 'bob@corp.test', 'bob');
    // Act
    await importDirectory(directory, [ADMIN]);
    h.clock.advance(SESSION_CHECK_CACHE_MS);
    const after = await app.request('/mail', { headers: { cookie } });
    // Assess
    expect(after.status).toBe(303);
  });

  it('takes /admin from a demoted admin after the cache time, and keeps the user session', async () => {
    // Prepare
    const { app, directory } = await setUp([BOB, ADMIN]);
    const { cookie } = await signIn(app, 'admin@corp.test', 'admin');
    const before = await app.request('/admin', { headers: { cookie } });
    // Act
    await importDirectory(directory, [BOB, { ...ADMIN, admin: false }]);
    h.clock.advance(SESSION_CHECK_CACHE_MS);
    const after = await app.request('/admin', { headers: { cookie } });
    const raw = await app.request('/admin/trace/msg-of-alice/raw', { headers: { cookie } });
    const mail = await app.request('/mail', { headers: { cookie } });
    // Assess
    expect(before.status).not.toBe(403);
    expect(after.status).toBe(403);
    expect(raw.status).toBe(403);
    expect(mail.status).toBe(200);
  });

  it('gives an admin session a short life: the cookie and the admin rights end after an hour', async () => {
    // Prepare
    const { app } = await setUp([BOB, ADMIN]);
    const login = await signIn(app, 'admin@corp.test', 'admin');
    // Act
    h.clock.advance(ADMIN_SESSION_MAX_AGE_SECONDS * 1000);
    const after = await app.request('/admin', { headers: { cookie: login.cookie } });
    // Assess
    expect(after.status).toBe(303);
  });
});

describe('a session follows the failover flag', () => {
  it('ends a user session when failover is switched off: the old cookie is no session once it is on again', async () => {
    // Prepare
    const { app } = await setUp([BOB]);
    const { cookie } = await signIn(app, 'bob@corp.test', 'bob');
    // Act
    h.clock.advance(1000);
    await h.switchOff();
    const whileOff = await app.request('/auth/login', { headers: { cookie } });
    h.clock.advance(1000);
    await h.switchOn();
    const replay = await app.request('/mail', { headers: { cookie } });
    // Assess: while off, /auth/login (open while off) sees no session and starts a sign-in
    expect(new URL(whileOff.headers.get('location')!).origin).toBe(h.provider.url);
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/auth/login?returnTo=%2Fmail');
  });

  it('keeps an admin session through failover off: admins trace and switch the flag while it is off', async () => {
    const { app } = await setUp([BOB, ADMIN]);
    const { cookie } = await signIn(app, 'admin@corp.test', 'admin');
    h.clock.advance(1000);
    await h.switchOff();

    const admin = await app.request('/admin', { headers: { cookie } });

    expect(admin.status).not.toBe(403);
    expect(admin.status).not.toBe(303);
  });
});

describe('the directory id in the token', () => {
  const GUID_HEX = 'e004253f894fd3119a0c0305e82c3301';
  const GUID_BASE64 = '4AQlP4lP0xGaDAMF6CwzAQ==';

  /** The sign-in port answering with a fixed identity: what the IdP's token said (the claim rules: oidc-sign-in unit test). */
  function tokenSaying(identity: Identity): SignInProvider {
    return {
      begin: async (returnTo) => ({
        redirectTo: 'https://idp.test/authorize',
        pending: { state: 's', nonce: 'n', codeVerifier: 'v', returnTo },
      }),
      complete: async () => identity,
      signOutUrl: () => null,
    };
  }

  async function callbackAs(identity: Identity, users: UserInput[]) {
    const directory = new MemoryDirectoryStore();
    await importDirectory(directory, users);
    const app = h.makeApp({ directory, sessions: new MemorySessionStore(), signIn: tokenSaying(identity) });
    const login = await app.request(`${ORIGIN}/auth/login`);
    const callback = await app.request(`${ORIGIN}/auth/callback?code=c&state=s`, {
      headers: { cookie: login.headers.getSetCookie()[0]!.split(';')[0]! },
    });
    return { app, directory, callback };
  }

  const bobToken = (directoryId?: string): Identity => ({
    subject: 'sub-bob',
    email: 'bob@corp.test',
    name: 'Bob',
    groups: [],
    ...(directoryId && { directoryId }),
  });

  it("refuses a token whose objectGUID is not the directory's user of that address", async () => {
    const { callback } = await callbackAs(bobToken('aGVsbG8gd29ybGQgMTIzNA=='), [{ ...BOB, id: GUID_HEX }]);

    expect(callback.status).toBe(403);
  });

  it('signs in a token whose objectGUID (base64, as AD FS sends it) is the user of that address, and one without an id by address', async () => {
    const withId = await callbackAs(bobToken(GUID_BASE64), [{ ...BOB, id: GUID_HEX }]);
    const withoutId = await callbackAs(bobToken(), [{ ...BOB, id: GUID_HEX }]);

    expect(withId.callback.status).toBe(303);
    expect(withoutId.callback.status).toBe(303);
  });

  it('ends the session when the address passes to another directory user (another objectGUID)', async () => {
    // Prepare
    const { app, directory, callback } = await callbackAs(bobToken(GUID_BASE64), [{ ...BOB, id: GUID_HEX }]);
    const cookie = setCookies(callback).get('shadowmail_session')!.split(';')[0]!;
    expect((await app.request('/mail', { headers: { cookie } })).status).toBe(200);
    // Act: the old bob left, a new employee got bob@
    await importDirectory(directory, [{ ...BOB, id: '0123456789abcdef0123456789abcdef' }]);
    h.clock.advance(SESSION_CHECK_CACHE_MS);
    const after = await app.request('/mail', { headers: { cookie } });
    // Assess
    expect(after.status).toBe(303);
  });
});
