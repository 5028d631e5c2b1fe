// The failover gate through app.request(): with the flag off every user route answers
// the status page and no mailbox data, whatever the session cookie holds; with it on
// the status page says since when, shows the admin's message and offers sign-in.
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CachedFailoverFlag } from '../../../../lambdas/core/failover.ts';
import { ALICE, type Harness, ORIGIN, sessionCookie, startHarness } from '../../../support/app-under-test.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

describe('flag off (normal operation)', () => {
  beforeEach(async () => h.switchOff());

  it('answers the start page with "use Outlook" and no way to sign in', async () => {
    // Prepare
    const app = h.makeApp();
    // Act
    const response = await app.request('/', { headers: { 'accept-language': 'en' } });
    const html = await response.text();
    // Assess
    expect(response.status).toBe(200);
    expect(html).toContain('Normal operation');
    expect(html).toContain('Use Outlook as usual');
    expect(html).not.toContain('/auth/login');
  });

  it('refuses every user route with the status page and no mailbox data, even with a valid session cookie', async () => {
    // Prepare
    const app = h.makeApp();
    const { cookie, session } = await sessionCookie(ALICE, { clock: h.clock });
    const requests: [string, RequestInit][] = [
      ['/mail', {}],
      ['/mail/inbox?page=2', {}],
      ['/no/such/page', {}],
      ['/mail/send', { method: 'POST', body: new URLSearchParams({ _csrf: session.csrf, to: 'x@y.test' }) }],
    ];
    // Act
    const responses = await Promise.all(
      requests.map(async ([path, init]) => {
        const response = await app.request(path, { ...init, headers: { cookie, origin: ORIGIN } });
        return { path, response, html: await response.text() };
      }),
    );
    // Assess
    for (const { path, response, html } of responses) {
      expect(response.status, path).toBe(403);
      expect(html, path).toContain('Normal operation');
      expect(html, path).not.toContain(ALICE.email);
      expect(html, path).not.toContain(ALICE.name);
      expect(html, path).not.toContain('/auth/logout');
      expect(response.headers.get('location'), path).toBeNull();
      expect(response.headers.getSetCookie(), path).toEqual([]);
    }
  });

  it('still answers health checks and the stylesheet', async () => {
    // Prepare
    const app = h.makeApp();
    const page = await (await app.request('/')).text();
    const stylesheet = /<link rel="stylesheet" href="([^"]+)"/.exec(page)?.[1];
    // Act
    const health = await app.request('/healthz');
    const css = await app.request(stylesheet!);
    // Assess
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toContain('immutable');
  });
});

describe('flag on (failover)', () => {
  beforeEach(async () => h.switchOn('Exchange is down since 14:00.\nWe are on it. <b>IT</b>'));

  it('shows since when, the admin message (escaped) and a sign-in button', async () => {
    // Prepare
    const app = h.makeApp();
    // Act
    const response = await app.request('/', { headers: { 'accept-language': 'en-GB,en;q=0.9' } });
    const html = await response.text();
    // Assess
    expect(response.status).toBe(200);
    expect(html).toContain('Emergency webmail is open');
    expect(html).toContain('Since 3 March 2030 at 14:05 CET');
    expect(html).toContain('datetime="2030-03-03T13:05:00.000Z"');
    expect(html).toContain('Exchange is down since 14:00.\nWe are on it. &lt;b&gt;IT&lt;/b&gt;');
    expect(html).toMatch(/<a class="button" href="\/auth\/login">Sign in<\/a>/);
  });

  it('shows the same in German for a German browser', async () => {
    // Prepare
    const app = h.makeApp();
    // Act
    const html = await (await app.request('/', { headers: { 'accept-language': 'de-DE,de;q=0.9,en;q=0.8' } })).text();
    // Assess
    expect(html).toContain('<html lang="de">');
    expect(html).toContain('Notfall-Webmail ist geöffnet');
    expect(html).toContain('Seit 3. März 2030 um 14:05 MEZ');
    expect(html).toContain('>Anmelden</a>');
  });

  it('lets a signed-in user through to the mailbox routes and offers them on the start page', async () => {
    // Prepare
    const app = h.makeApp();
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
    // Act
    const start = await (await app.request('/', { headers: { cookie } })).text();
    const mail = await app.request('/mail', { headers: { cookie } });
    // Assess
    expect(start).toContain('href="/mail"');
    expect(start).toContain('Signed in as Alice Example');
    expect(mail.status).toBe(200);
    expect(await mail.text()).toContain(`Signed in as ${ALICE.email}.`);
  });

  it('sends a visitor without a session from a mailbox page to sign-in, keeping the page to return to', async () => {
    // Prepare
    const app = h.makeApp();
    // Act
    const response = await app.request('/mail?folder=sent');
    // Assess
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/auth/login?returnTo=%2Fmail%3Ffolder%3Dsent');
  });
});

describe('reading the flag', () => {
  it('fails closed with a "status unavailable" page when the flag cannot be read', async () => {
    // Prepare
    await writeFile(h.flagFile, '{"on": "yes"');
    const app = h.makeApp();
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
    // Act
    const response = await app.request('/mail', { headers: { cookie } });
    const html = await response.text();
    // Assess
    expect(response.status).toBe(503);
    expect(html).toContain('Status unavailable');
    expect(html).not.toContain(ALICE.email);
    expect(h.logger.lines.some((line) => line.level === 'error' && line.message === 'failover flag unreadable')).toBe(true);
  });

  it('locks a signed-in user out within the cache time once the flag goes off', async () => {
    // Prepare
    await h.switchOn();
    const app = h.makeApp({ failover: new CachedFailoverFlag(h.flag, { maxAgeMs: 1000, clock: h.clock }) });
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock, expiresInSeconds: 8 * 3600 });
    const before = await app.request('/mail', { headers: { cookie } });
    // Act
    await h.switchOff();
    const withinCache = await app.request('/mail', { headers: { cookie } });
    h.clock.advance(1000);
    const afterCache = await app.request('/mail', { headers: { cookie } });
    // Assess
    expect(before.status).toBe(200);
    expect(withinCache.status).toBe(200);
    expect(afterCache.status).toBe(403);
    expect(await afterCache.text()).toContain('Normal operation');
  });
});
