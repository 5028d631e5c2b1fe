// CSRF protection through app.request(): every POST/PUT/DELETE needs the session's
// token (form field _csrf or X-CSRF-Token header) and our Origin; anything else is a
// 403 page and the handler never runs. A test route group stands in for the mailbox.
import { type Context, Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { csrfTokenOf, identityOf, type WebEnv } from '../../../../web/middleware/context.ts';
import { ALICE, type Harness, ORIGIN, sessionCookie, startHarness } from '../../../support/app-under-test.ts';

let h: Harness;
let handled: string[];

/** A mailbox-like route group that records which actions ran. */
function recordingRoutes(): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  routes.get('/', (c) => c.text(`token ${csrfTokenOf(c)}`));
  const record = async (c: Context<WebEnv>) => {
    const form = c.req.header('content-type')?.startsWith('application/json')
      ? await c.req.json<Record<string, string>>()
      : await c.req.parseBody();
    handled.push(`${c.req.method} ${identityOf(c).email} ${String(form.subject ?? '')}`);
    return c.text('done');
  };
  routes.post('/send', record);
  routes.put('/flags', record);
  routes.delete('/message', record);
  return routes;
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => {
  handled = [];
  await h.switchOn();
});

describe('CSRF protection', () => {
  it('lets a form with the session token from our origin through, and the handler can read the form again', async () => {
    // Prepare
    const app = h.makeApp({ userRoutes: [{ path: '/mail', routes: recordingRoutes() }] });
    const { cookie, session } = await sessionCookie(ALICE, { clock: h.clock });
    const multipart = new FormData();
    multipart.set('_csrf', session.csrf);
    multipart.set('subject', 'multipart');
    // Act
    const urlencoded = await app.request('/mail/send', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN },
      body: new URLSearchParams({ _csrf: session.csrf, subject: 'hello' }),
    });
    const formData = await app.request('/mail/send', { method: 'POST', headers: { cookie, origin: ORIGIN }, body: multipart });
    const header = await app.request('/mail/flags', {
      method: 'PUT',
      headers: { cookie, origin: ORIGIN, 'x-csrf-token': session.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'json' }),
    });
    // Assess
    expect([urlencoded.status, formData.status, header.status]).toEqual([200, 200, 200]);
    expect(handled).toEqual(['POST alice@corp.test hello', 'POST alice@corp.test multipart', 'PUT alice@corp.test json']);
  });

  it('refuses a missing, wrong or foreign token with a 403 page and runs nothing', async () => {
    // Prepare
    const app = h.makeApp({ userRoutes: [{ path: '/mail', routes: recordingRoutes() }] });
    const { cookie, session } = await sessionCookie(ALICE, { clock: h.clock });
    const other = await sessionCookie(ALICE, { clock: h.clock, csrf: 'another-sessions-token-0123456789abcdefghij' });
    const attempts: RequestInit[] = [
      { method: 'POST', body: new URLSearchParams({ subject: 'no token' }) },
      { method: 'POST', body: new URLSearchParams({ _csrf: '', subject: 'empty token' }) },
      { method: 'POST', body: new URLSearchParams({ _csrf: `${session.csrf}x`, subject: 'wrong token' }) },
      { method: 'POST', body: new URLSearchParams({ _csrf: other.session.csrf, subject: 'other session token' }) },
      { method: 'DELETE' },
      { method: 'PUT', headers: { 'x-csrf-token': 'nope', 'content-type': 'application/json' }, body: '{}' },
    ];
    // Act
    const responses = await Promise.all(
      attempts.map((init) =>
        app.request(init.method === 'DELETE' ? '/mail/message' : init.method === 'PUT' ? '/mail/flags' : '/mail/send', {
          ...init,
          headers: { cookie, origin: ORIGIN, ...(init.headers as Record<string, string>) },
        }),
      ),
    );
    // Assess
    for (const response of responses) {
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('Request refused');
    }
    expect(handled).toEqual([]);
  });

  it('refuses the right token from another origin, and a form without any Origin', async () => {
    // Prepare
    const app = h.makeApp({ userRoutes: [{ path: '/mail', routes: recordingRoutes() }] });
    const { cookie, session } = await sessionCookie(ALICE, { clock: h.clock });
    const body = () => new URLSearchParams({ _csrf: session.csrf, subject: 'cross-site' });
    // Act
    const crossSite = await app.request('/mail/send', {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example' },
      body: body(),
    });
    const crossSiteFetch = await app.request('/mail/send', {
      method: 'POST',
      headers: { cookie, origin: 'null', 'sec-fetch-site': 'cross-site' },
      body: body(),
    });
    const noOrigin = await app.request('/mail/send', { method: 'POST', headers: { cookie }, body: body() });
    // Assess
    expect([crossSite.status, crossSiteFetch.status, noOrigin.status]).toEqual([403, 403, 403]);
    expect(handled).toEqual([]);
  });

  it('refuses a state-changing request without a session (no token to match)', async () => {
    // Prepare
    const app = h.makeApp({ userRoutes: [{ path: '/mail', routes: recordingRoutes() }] });
    // Act
    const response = await app.request('/mail/send', {
      method: 'POST',
      headers: { origin: ORIGIN },
      body: new URLSearchParams({ _csrf: '', subject: 'anonymous' }),
    });
    // Assess
    expect(response.status).toBe(403);
    expect(handled).toEqual([]);
  });

  it('protects sign-out too', async () => {
    // Prepare
    const app = h.makeApp();
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
    // Act
    const response = await app.request('/auth/logout', {
      method: 'POST',
      headers: { cookie, origin: ORIGIN },
      body: new URLSearchParams({}),
    });
    // Assess
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it('puts the token into the sign-out form of every signed-in page', async () => {
    // Prepare
    const app = h.makeApp();
    const { cookie, session } = await sessionCookie(ALICE, { clock: h.clock });
    // Act
    const html = await (await app.request('/mail', { headers: { cookie } })).text();
    // Assess
    expect(html).toContain(`<form method="post" action="/auth/logout"><input type="hidden" name="_csrf" value="${session.csrf}"/>`);
  });
});
