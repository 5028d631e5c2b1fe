// What every page carries, through app.request(): security headers (strict CSP with no
// script, no framing, no referrer, no caching), the layout's accessibility frame (lang,
// skip link, landmarks, viewport) and no script or external resource anywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, type Harness, sessionCookie, startHarness } from '../../../support/app-under-test.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

async function pages(): Promise<{ name: string; response: Response; html: string }[]> {
  const app = h.makeApp();
  const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
  const result = [];
  await h.switchOff();
  for (const [name, path, headers] of [
    ['status (off)', '/', {}],
    ['refused route (off)', '/mail', { cookie }],
  ] as const) {
    const response = await app.request(path, { headers });
    result.push({ name, response, html: await response.text() });
  }
  await h.switchOn();
  for (const [name, path, headers] of [
    ['status (on)', '/', {}],
    ['mailbox placeholder', '/mail', { cookie }],
    ['not found', '/nothing-here', { cookie }],
    ['failed sign-in', '/auth/callback?code=x&state=y', {}],
  ] as const) {
    const response = await app.request(path, { headers });
    result.push({ name, response, html: await response.text() });
  }
  return result;
}

describe('every page', () => {
  it('carries a strict CSP without script, and the other security headers', async () => {
    // Prepare + Act
    const all = await pages();
    // Assess
    for (const { name, response } of all) {
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, name).toContain("default-src 'none'");
      expect(csp, name).toContain("style-src 'self'");
      expect(csp, name).toContain("frame-ancestors 'none'");
      expect(csp, name).toContain("base-uri 'none'");
      expect(csp, name).not.toMatch(/script-src|unsafe-inline|unsafe-eval/);
      expect(response.headers.get('referrer-policy'), name).toBe('no-referrer');
      expect(response.headers.get('x-frame-options'), name).toBe('DENY');
      expect(response.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(response.headers.get('cache-control'), name).toBe('no-store');
      expect(response.headers.get('vary'), name).toContain('Accept-Language');
      expect(response.headers.get('content-type'), name).toBe('text/html; charset=UTF-8');
    }
  });

  it('has the accessible frame: lang, title, viewport, skip link to main, no script, nothing external', async () => {
    // Prepare + Act
    const all = await pages();
    // Assess
    expect(all.map(({ name, response }) => `${name} ${response.status}`)).toEqual([
      'status (off) 200',
      'refused route (off) 403',
      'status (on) 200',
      'mailbox placeholder 200',
      'not found 404',
      'failed sign-in 400',
    ]);
    for (const { name, html } of all) {
      expect(html, name).toMatch(/^<!doctype html><html lang="(en|de)">/);
      expect(html, name).toMatch(/<title>[^<]+ – Shadowmail<\/title>/);
      expect(html, name).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
      expect(html, name).toContain('<a class="skip-link" href="#main">Skip to content</a>');
      expect(html, name).toContain('<main id="main" tabindex="-1"');
      expect(html, name).toMatch(/<h1[^>]*>/);
      expect(html, name).not.toMatch(/<script|\son[a-z]+=|style="/i);
      expect(html, name).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
  });
});

describe('errors in a route', () => {
  it('become pages: NotFoundError → 404, ForbiddenError → 403, anything else → 500 (logged, no details shown)', async () => {
    // Prepare
    const { Hono } = await import('hono');
    const { ForbiddenError, NotFoundError } = await import('../../../../lambdas/core/errors.ts');
    const routes = new Hono<import('../../../../web/middleware/context.ts').WebEnv>();
    routes.get('/other-mailbox', () => {
      throw new NotFoundError('message abc not in mailbox bob@corp.test');
    });
    routes.get('/admin-only', () => {
      throw new ForbiddenError();
    });
    routes.get('/broken', () => {
      throw new Error('database password is hunter2');
    });
    await h.switchOn();
    const app = h.makeApp({ userRoutes: [{ path: '/mail', routes }] });
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
    // Act
    const [notFound, forbidden, broken] = (await Promise.all(
      ['/mail/other-mailbox', '/mail/admin-only', '/mail/broken'].map(async (path) => {
        const response = await app.request(path, { headers: { cookie } });
        return { status: response.status, html: await response.text() };
      }),
    )) as [{ status: number; html: string }, { status: number; html: string }, { status: number; html: string }];
    // Assess
    expect(notFound.status).toBe(404);
    expect(notFound.html).toContain('Not found');
    expect(notFound.html).not.toContain('bob@corp.test');
    expect(forbidden.status).toBe(403);
    expect(broken.status).toBe(500);
    expect(broken.html).toContain('Something went wrong');
    expect(broken.html).not.toContain('hunter2');
    expect(h.logger.lines.some((line) => line.level === 'error' && String(line.details?.error).includes('hunter2'))).toBe(true);
  });
});
