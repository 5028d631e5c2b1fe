// Sign-in, session and sign-out through app.request(), against the real local OIDC
// provider: the code flow sets an HttpOnly SameSite=Lax session cookie (Secure and
// __Host- except on plain-http localhost); a tampered, foreign or expired cookie is
// no session; sign-out clears it and goes to the provider's logout.

import type { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDirectoryUser, syncDirectory } from '../../../../lambdas/core/directory.ts';
import type { WebEnv } from '../../../../web/middleware/context.ts';
import {
  ALICE,
  CLIENT_ID,
  type Harness,
  ORIGIN,
  sessionCookie,
  setCookies,
  startHarness,
  tamperPayload,
} from '../../../support/app-under-test.ts';
import { MemoryDirectoryStore } from '../../../support/memory-directory-store.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';
import { CookieJar, signInAtProvider } from '../../../support/oidc-fetch-flow.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.switchOn());

/** GET /auth/login on `base`, the provider round trip, and the callback; returns the callback's response. */
async function signInThroughApp(
  app: Hono<WebEnv>,
  credentials: { email: string; password: string },
  options: { base?: string; returnTo?: string } = {},
) {
  const base = options.base ?? ORIGIN;
  const login = await app.request(`${base}/auth/login${options.returnTo ? `?returnTo=${encodeURIComponent(options.returnTo)}` : ''}`);
  const pendingCookie = login.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  const round = await signInAtProvider(login.headers.get('location')!, h.provider.url, credentials, new CookieJar());
  if (!round.callbackUrl) throw new Error('the provider refused the credentials');
  const callback = await app.request(`${base}/auth/callback${round.callbackUrl.search}`, { headers: { cookie: pendingCookie } });
  return { login, pendingCookie, callback, callbackUrl: round.callbackUrl };
}

describe('sign-in while the flag is off, and its audit entry (issue 16)', () => {
  it('ends on a page that says why there is nothing to see: normal operation, use Outlook', async () => {
    // Prepare
    await h.switchOff();
    const app = h.makeApp();
    // Act
    const { callback } = await signInThroughApp(app, { email: 'alice@corp.test', password: 'alice' });
    const de = await signInThroughApp(app, { email: 'alice@corp.test', password: 'alice' }).then(async () => {
      const login = await app.request(`${ORIGIN}/auth/login`, { headers: { 'accept-language': 'de' } });
      const round = await signInAtProvider(
        login.headers.get('location')!,
        h.provider.url,
        { email: 'alice@corp.test', password: 'alice' },
        new CookieJar(),
      );
      return app.request(`${ORIGIN}/auth/callback${round.callbackUrl!.search}`, {
        headers: { cookie: login.headers.getSetCookie()[0]!.split(';')[0]!, 'accept-language': 'de' },
      });
    });
    // Assess
    expect(callback.status).toBe(200);
    const page = await callback.text();
    expect(page).toContain('Normal operation: use Outlook');
    expect(page).toContain('Exchange is working');
    expect(setCookies(callback).get('shadowmail_session')).toBeDefined();
    expect(await de.text()).toContain('Normalbetrieb: Outlook verwenden');
  });

  it('still takes an admin to the console while the flag is off', async () => {
    // Prepare
    await h.switchOff();
    const app = h.makeApp();
    // Act
    const plain = await signInThroughApp(app, { email: 'admin@corp.test', password: 'admin' });
    const toConsole = await signInThroughApp(app, { email: 'admin@corp.test', password: 'admin' }, { returnTo: '/admin/trace' });
    // Assess
    expect(plain.callback.status).toBe(200);
    expect(await plain.callback.text()).toContain('href="/admin"');
    expect(toConsole.callback.status).toBe(303);
    expect(toConsole.callback.headers.get('location')).toBe('/admin/trace');
  });

  it('records each sign-in in the audit log (the console counts who signed in during a failover)', async () => {
    // Prepare
    const audit = new MemoryAuditLog();
    const app = h.makeApp({ audit });
    // Act
    await signInThroughApp(app, { email: 'alice@corp.test', password: 'alice' });
    // Assess
    expect(audit.events).toMatchObject([{ actor: 'alice@corp.test', action: 'signin', outcome: 'ok' }]);
  });
});

describe('sign-in', () => {
  it('runs the code flow and starts a session that reaches the mailbox', async () => {
    // Prepare
    const app = h.makeApp();
    // Act
    const { login, callback, callbackUrl } = await signInThroughApp(
      app,
      { email: 'alice@corp.test', password: 'alice' },
      { returnTo: '/mail?folder=inbox' },
    );
    const session = setCookies(callback).get('shadowmail_session')!;
    const mail = await app.request('/mail', { headers: { cookie: session.split(';')[0]! } });
    // Assess
    expect(login.status).toBe(302);
    expect(new URL(login.headers.get('location')!).origin).toBe(h.provider.url);
    expect(callbackUrl.origin + callbackUrl.pathname).toBe(`${ORIGIN}/auth/callback`);
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toBe('/mail?folder=inbox');
    expect(mail.status).toBe(200);
    expect(await mail.text()).toContain('Signed in as alice@corp.test.');
    expect(h.logger.lines.some((line) => line.message === 'signed in' && line.details?.email === 'alice@corp.test')).toBe(true);
  });

  it('sets the session cookie HttpOnly, SameSite=Lax, path /, 8 hours, without Secure only on plain-http localhost', async () => {
    // Prepare
    const app = h.makeApp();
    const deployedApp = h.makeApp({ publicOrigin: 'https://mail.corp.test' });
    // Act
    const local = await signInThroughApp(app, { email: 'bob@corp.test', password: 'bob' });
    const deployed = await signInThroughApp(deployedApp, { email: 'bob@corp.test', password: 'bob' }, { base: 'https://mail.corp.test' });
    // Assess
    const plain = setCookies(local.callback).get('shadowmail_session')!;
    expect(plain).toMatch(/; HttpOnly/);
    expect(plain).toMatch(/; SameSite=Lax/);
    expect(plain).toMatch(/; Path=\//);
    expect(plain).toMatch(/; Max-Age=28800/);
    expect(plain).not.toMatch(/; Secure/);
    const secure = setCookies(deployed.callback).get('__Host-shadowmail_session')!;
    expect(secure).toMatch(/; Secure/);
    expect(secure).toMatch(/; HttpOnly/);
    expect(secure).toMatch(/; SameSite=Lax/);
    expect(secure).not.toMatch(/; Domain=/);
    expect(setCookies(deployed.login).get('__Host-shadowmail_signin')).toMatch(/; Secure/);
    expect(setCookies(deployed.login).get('__Host-shadowmail_signin')).toMatch(/; HttpOnly/);
    expect(setCookies(local.login).get('shadowmail_signin')).toMatch(/; Max-Age=600/);
  });

  it("refuses a callback without the pending sign-in cookie, or with another sign-in's", async () => {
    // Prepare
    const app = h.makeApp();
    const first = await app.request('/auth/login');
    const otherPending = first.headers.getSetCookie()[0]!.split(';')[0]!;
    const second = await app.request('/auth/login');
    const round = await signInAtProvider(second.headers.get('location')!, h.provider.url, { email: 'alice@corp.test', password: 'alice' });
    // Act
    const withoutCookie = await app.request(`/auth/callback${round.callbackUrl!.search}`);
    const withOther = await app.request(`/auth/callback${round.callbackUrl!.search}`, { headers: { cookie: otherPending } });
    // Assess
    for (const response of [withoutCookie, withOther]) {
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('Sign-in failed');
      expect(setCookies(response).has('shadowmail_session')).toBe(false);
    }
  });

  it('shows a failed sign-in when the provider answers with an error', async () => {
    // Prepare
    const app = h.makeApp();
    const login = await app.request('/auth/login');
    const pending = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const state = new URL(login.headers.get('location')!).searchParams.get('state')!;
    // Act
    const response = await app.request(`/auth/callback?error=access_denied&state=${state}`, { headers: { cookie: pending } });
    // Assess
    expect(response.status).toBe(400);
    expect(setCookies(response).has('shadowmail_session')).toBe(false);
  });

  it('starts sign-in on the public origin, where the provider will send the browser back', async () => {
    // Prepare
    const app = h.makeApp();
    // Act
    const response = await app.request('http://127.0.0.1:8787/auth/login?returnTo=%2Fmail');
    // Assess
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${ORIGIN}/auth/login?returnTo=%2Fmail`);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it('never returns to another site after sign-in', async () => {
    // Prepare
    const app = h.makeApp();
    const targets = ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)'];
    // Act
    const pendings = await Promise.all(
      targets.map(async (returnTo) => {
        const login = await app.request(`/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
        const round = await signInAtProvider(login.headers.get('location')!, h.provider.url, {
          email: 'alice@corp.test',
          password: 'alice',
        });
        const callback = await app.request(`/auth/callback${round.callbackUrl!.search}`, {
          headers: { cookie: login.headers.getSetCookie()[0]!.split(';')[0]! },
        });
        return callback.headers.get('location');
      }),
    );
    // Assess
    expect(pendings).toEqual(targets.map(() => '/mail'));
  });
});

describe('session cookie', () => {
  it('is no session when its payload was changed, its signature broken, signed with another key, or expired', async () => {
    // Prepare
    const app = h.makeApp();
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
    const spoiled = [
      tamperPayload(cookie, (session) => ({ ...session, email: 'ceo@corp.test' })),
      tamperPayload(cookie, (session) => ({ ...session, groups: ['shadowmail-admins'] })),
      tamperPayload(cookie, (session) => ({ ...session, exp: session.exp + 365 * 86400 })),
      cookie.replace(/.{6}$/, 'AAAAAA'),
      (await sessionCookie(ALICE, { clock: h.clock, secret: 'another-secret-another-secret-another-secret' })).cookie,
      (await sessionCookie(ALICE, { clock: h.clock, expiresInSeconds: -1 })).cookie,
      'shadowmail_session=bm90LWpzb24.AAAA',
    ];
    // Act
    const responses = await Promise.all(spoiled.map((value) => app.request('/mail', { headers: { cookie: value } })));
    // Assess
    for (const [position, response] of responses.entries()) {
      expect(response.status, spoiled[position]).toBe(303);
      expect(response.headers.get('location')).toMatch(/^\/auth\/login\?/);
    }
  });

  it('ends after 8 hours', async () => {
    // Prepare
    const app = h.makeApp();
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock, expiresInSeconds: 8 * 3600 });
    // Act
    const fresh = await app.request('/mail', { headers: { cookie } });
    h.clock.advance(8 * 3600 * 1000);
    const expired = await app.request('/mail', { headers: { cookie } });
    // Assess
    expect(fresh.status).toBe(200);
    expect(expired.status).toBe(303);
  });
});

describe('sign-out', () => {
  it('clears the session and goes to the provider logout', async () => {
    // Prepare
    const app = h.makeApp();
    const { cookie, session } = await sessionCookie(ALICE, { clock: h.clock });
    // Act
    const response = await app.request('/auth/logout', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN },
      body: new URLSearchParams({ _csrf: session.csrf }),
    });
    // Assess
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(h.provider.endSessionUrl);
    expect(location.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(setCookies(response).get('shadowmail_session')).toMatch(/^shadowmail_session=; Max-Age=0/);
    expect(response.headers.get('content-security-policy')).toContain(`form-action 'self' ${h.provider.url}`);
  });
});

describe('sign-in and the directory', () => {
  async function directoryWith(users: Parameters<typeof makeDirectoryUser>[0][]) {
    const store = new MemoryDirectoryStore();
    await syncDirectory({ description: 'test', readAll: async () => ({ users: users.map(makeDirectoryUser), warnings: [] }) }, store, {
      owner: 't',
      now: () => new Date(),
    });
    return store;
  }

  it('refuses an account the directory marks disabled, and starts no session', async () => {
    // Prepare
    const directory = await directoryWith([{ id: 'b', mailbox: 'bob@corp.test', disabled: true }]);
    const app = h.makeApp({ directory });
    // Act
    const { callback } = await signInThroughApp(app, { email: 'bob@corp.test', password: 'bob' });
    // Assess
    expect(callback.status).toBe(403);
    expect(await callback.text()).toContain('Sign-in not possible');
    expect(setCookies(callback).get('shadowmail_session') ?? '').not.toMatch(/shadowmail_session=[^;]+\./);
  });

  it('makes a directory admin an admin although the token carries no admin group', async () => {
    // Prepare
    const directory = await directoryWith([{ id: 'b', mailbox: 'bob@corp.test', admin: true }]);
    const app = h.makeApp({ directory });
    // Act
    const { callback } = await signInThroughApp(app, { email: 'bob@corp.test', password: 'bob' });
    // Assess
    expect(callback.status).toBe(303);
    const value = setCookies(callback).get('shadowmail_session')!.split(';')[0]!.split('=')[1]!;
    const payload = JSON.parse(Buffer.from(decodeURIComponent(value).split('.')[0]!, 'base64url').toString('utf8'));
    expect(payload.groups).toContain('shadowmail-admins');
  });

  it('gives a federated identity (the company sign-in) nothing for an address the break-glass admin list names', async () => {
    // Prepare: bob is named, but signs in through the IdP, whose token carries `identities`.
    const app = h.makeApp({
      directory: await directoryWith([{ id: 'a', mailbox: 'alice@corp.test' }]),
      breakGlassAdmins: ['bob@corp.test'],
    });
    // Act
    const { callback } = await signInThroughApp(app, { email: 'bob@corp.test', password: 'bob' });
    // Assess: not in the directory, and no break-glass admin either.
    expect(callback.status).toBe(403);
    expect(setCookies(callback).get('shadowmail_session') ?? '').not.toMatch(/shadowmail_session=[^;]+\./);
  });

  it('lets in a user the directory does not know yet (no sync has run): their own address is their mailbox', async () => {
    const app = h.makeApp({ directory: new MemoryDirectoryStore() });

    const { callback } = await signInThroughApp(app, { email: 'alice@corp.test', password: 'alice' });

    expect(callback.status).toBe(303);
  });

  it('refuses an identity the directory does not know once a sync has run (removed from AD), and starts no session', async () => {
    const app = h.makeApp({ directory: await directoryWith([{ id: 'a', mailbox: 'alice@corp.test' }]) });

    const { callback } = await signInThroughApp(app, { email: 'bob@corp.test', password: 'bob' });

    expect(callback.status).toBe(403);
    expect(setCookies(callback).get('shadowmail_session') ?? '').not.toMatch(/shadowmail_session=[^;]+\./);
  });
});
