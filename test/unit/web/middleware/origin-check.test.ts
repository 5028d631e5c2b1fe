// Behind CloudFront + WAF: a request without CloudFront's secret header (straight to the
// execute-api endpoint) or with a wrong or truncated one is refused before any route runs.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ORIGIN_SECRET_HEADER } from '../../../../lambdas/contract/edge.ts';
import { originCheck } from '../../../../web/middleware/origin-check.ts';

const SECRET = 'origin-secret-0123456789abcdefghijklmnopqrstuv';

function app() {
  const reached: string[] = [];
  const hono = new Hono();
  hono.use('*', originCheck({ header: ORIGIN_SECRET_HEADER, secret: SECRET }));
  hono.all('*', (c) => {
    reached.push(c.req.path);
    return c.text('ok');
  });
  return { hono, reached };
}

describe('originCheck', () => {
  it('lets a request with the secret through', async () => {
    const { hono, reached } = app();
    const response = await hono.request('/mail', { headers: { [ORIGIN_SECRET_HEADER]: SECRET } });
    expect(response.status).toBe(200);
    expect(reached).toEqual(['/mail']);
  });

  it.each([
    ['no header', {}],
    ['an empty header', { [ORIGIN_SECRET_HEADER]: '' }],
    ['a prefix of the secret', { [ORIGIN_SECRET_HEADER]: SECRET.slice(0, -1) }],
    ['the secret and more', { [ORIGIN_SECRET_HEADER]: `${SECRET}x` }],
    ['the secret in another header', { 'x-origin-secret': SECRET }],
  ])('refuses %s with 403 before any route runs', async (_what, headers: Record<string, string>) => {
    const { hono, reached } = app();
    const response = await hono.request('/auth/login', { method: 'POST', headers });
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/webmail address/);
    expect(reached).toEqual([]);
  });
});
