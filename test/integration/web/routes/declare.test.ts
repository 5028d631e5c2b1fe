// /declare through app.request(): the backlog alarm link's page answers with the flag
// off and without a session; GET changes nothing (link scanners), POST switches
// failover on once as the link's admin and sets no cookie; every refusal looks alike;
// the token never reaches a log line, and the page loads nothing from elsewhere.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeclareDeps } from '../../../../lambdas/core/declare-outage.ts';
import { OUTAGE_LINK_VALIDITY_SECONDS, OutageLinkSigner } from '../../../../lambdas/core/outage-link.ts';
import { ALICE, type Harness, ORIGIN, SECRET, sessionCookie, startHarness } from '../../../support/app-under-test.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';
import { MemorySingleUse } from '../../../support/memory-single-use.ts';

const ADMIN = 'oncall@corp.test';
let h: Harness;
let audit: MemoryAuditLog;
let declare: DeclareDeps;
const signer = new OutageLinkSigner(SECRET);

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

beforeEach(async () => {
  await h.switchOff();
  h.logger.lines.length = 0;
  audit = new MemoryAuditLog();
  declare = {
    signer,
    singleUse: new MemorySingleUse(),
    admins: [ADMIN],
    flag: h.flag,
    backlog: { read: async () => ({ jobs: 17, oldestAgeSeconds: 45 * 60 }) },
    audit,
    clock: h.clock,
  };
});

const issue = (admin = ADMIN) => signer.issue({ admin, alarmAt: new Date(h.clock.now().getTime() - 60_000), now: h.clock.now() }).token;
const app = () => h.makeApp({ declare });
const look = (token: string) => app().request(`/declare?t=${encodeURIComponent(token)}`, { headers: { 'accept-language': 'en' } });
const confirm = (token: string, extra: Record<string, string> = {}, origin = ORIGIN) =>
  app().request('/declare', {
    method: 'POST',
    headers: { origin, 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' },
    body: new URLSearchParams({ t: token, ...extra }),
  });

describe('GET /declare?t=<token>', () => {
  it('shows who the link is for, the backlog, the flag and the form — with the flag off and no session', async () => {
    const token = issue();
    const response = await look(token);
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(html).toContain(ADMIN);
    expect(html).toContain('17 messages are waiting for Exchange.');
    expect(html).toContain('The oldest has been waiting for 45 minutes.');
    expect(html).toContain('Failover is off');
    expect(html).toMatch(/<form method="post" action="\/declare">/);
    expect(html).toContain(`<input type="hidden" name="t" value="${token}"/>`);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');
    // Nothing from another origin: no Referer can carry the page's address anywhere.
    expect(html).not.toMatch(/(src|href)="https?:\/\//);
  });

  it('changes nothing, however often it is fetched', async () => {
    const token = issue();
    for (let i = 0; i < 3; i += 1) expect((await look(token)).status).toBe(200);
    expect((await h.flag.read()).on).toBe(false);
    expect(audit.events).toHaveLength(0);
    expect(declare.singleUse instanceof MemorySingleUse && declare.singleUse.keys.size).toBe(0);
  });

  it('speaks German to a German browser', async () => {
    const response = await app().request(`/declare?t=${issue()}`, { headers: { 'accept-language': 'de' } });
    expect(await response.text()).toContain('Notbetrieb einschalten');
  });
});

describe('POST /declare', () => {
  it('switches failover on as the admin, once, and sets no cookie', async () => {
    const token = issue();
    const response = await confirm(token, { message: 'Exchange is down. Read mail here.' });
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(html).toContain('Failover is on');
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await h.flag.read()).toMatchObject({
      on: true,
      changedBy: ADMIN,
      reason: 'backlog alarm link',
      message: 'Exchange is down. Read mail here.',
    });
    expect(audit.events).toMatchObject([{ actor: ADMIN, action: 'failover.on', outcome: 'ok', details: { via: 'alarm-link' } }]);
    // The start page now offers sign-in: the normal way in, nothing granted by the link.
    const start = await (await h.makeApp().request('/', { headers: { 'accept-language': 'en' } })).text();
    expect(start).toContain('/auth/login');

    const again = await confirm(token);
    expect(again.status).toBe(404);
    expect(await again.text()).toContain('This link is not valid (any more).');
    expect((await look(token)).status).toBe(404);
  });

  it('gives the same answer for a used, expired, forged, foreign, truncated or cookie-shaped token and for a removed admin', async () => {
    const used = issue();
    await confirm(used);
    await h.switchOff();
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
    const cookieValue = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
    const foreign = new OutageLinkSigner('another-secret-of-at-least-32-characters!!').issue({
      admin: ADMIN,
      alarmAt: h.clock.now(),
      now: h.clock.now(),
    });
    const fresh = issue();
    const forged = fresh.slice(0, 20) + (fresh[20] === 'A' ? 'B' : 'A') + fresh.slice(21);
    const removed = issue('former@corp.test');
    const expired = issue();
    h.clock.advance(OUTAGE_LINK_VALIDITY_SECONDS * 1000);
    try {
      const bodies = new Set<string>();
      for (const token of [used, expired, forged, foreign.token, fresh.slice(0, 30), cookieValue, '']) {
        for (const response of [await look(token), await confirm(token)]) {
          expect(response.status).toBe(404);
          bodies.add(await response.text());
        }
      }
      expect(bodies.size).toBe(1);
      expect([...bodies][0]).toContain('This link is not valid (any more).');
      expect((await h.flag.read()).on).toBe(false);
    } finally {
      h.clock.advance(-OUTAGE_LINK_VALIDITY_SECONDS * 1000);
    }
    expect((await confirm(removed)).status).toBe(404);
    expect((await h.flag.read()).on).toBe(false);
  });

  it('refuses a POST from another origin and keeps the link', async () => {
    const token = issue();
    const response = await confirm(token, {}, 'https://evil.example');
    expect(response.status).toBe(403);
    expect((await h.flag.read()).on).toBe(false);
    expect((await confirm(token)).status).toBe(200);
  });

  it('shows the form again for a message that is too long, and keeps the link', async () => {
    const token = issue();
    const response = await confirm(token, { message: 'x'.repeat(1200) });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('longer than 1000 characters');
    expect((await confirm(token)).status).toBe(200);
  });

  it('never writes the token to the log', async () => {
    const token = issue();
    await look(token);
    await confirm(token);
    await confirm(token);
    await look('nonsense');
    const logged = JSON.stringify(h.logger.lines);
    expect(h.logger.lines.length).toBeGreaterThan(0);
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(token.slice(0, 40));
  });
});

describe('without declare deps', () => {
  it('has no /declare page: the gate answers as for any unknown path', async () => {
    const response = await h.makeApp().request(`/declare?t=${issue()}`);
    expect(response.status).toBe(403);
  });
});
