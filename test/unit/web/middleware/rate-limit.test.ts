// The per-client limit in the web chain: keyed by the verified user, else by the
// connection's address; a forged cookie buys no fresh budget; a refusal is 429 with
// Retry-After; the health probe is never limited.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ClientRateLimit } from '../../../../lambdas/core/client-rate-limit.ts';
import type { WebEnv } from '../../../../web/middleware/context.ts';
import { clientRateLimit } from '../../../../web/middleware/rate-limit.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';

/** A tiny app behind the middleware: `x-test-peer` stands for the connection's address, `x-test-user` for a verified session. */
function appWith(burst: number) {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const app = new Hono<WebEnv>();
  app.use(
    '*',
    clientRateLimit({
      limit: new ClientRateLimit({ ratePerSecond: 1, burst, clock }),
      clientAddress: (c) => c.req.header('x-test-peer'),
      signedInUser: async (c) => c.req.header('x-test-user') ?? null,
      exempt: ['/healthz'],
      onLimited: (c, seconds) => c.text(`wait ${seconds}`, 429),
    }),
  );
  app.get('*', (c) => c.text('ok'));
  const get = (path: string, headers: Record<string, string>) => app.request(path, { headers });
  return { get, clock };
}

describe('clientRateLimit', () => {
  it('refuses a flooding address with 429 and Retry-After while another address and a signed-in user behind the same address still read', async () => {
    // Arrange
    const { get } = appWith(5);

    // Act
    const flood = await Promise.all(Array.from({ length: 50 }, () => get('/mail', { 'x-test-peer': '192.0.2.66' })));
    const other = await get('/mail', { 'x-test-peer': '192.0.2.7' });
    const colleague = await get('/mail', { 'x-test-peer': '192.0.2.66', 'x-test-user': 'sub-alice' });

    // Assess
    expect(flood.filter((r) => r.status === 200)).toHaveLength(5);
    const refused = flood.find((r) => r.status === 429)!;
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.text()).toBe('wait 1');
    expect(other.status).toBe(200);
    expect(colleague.status).toBe(200);
  });

  it('holds a signed-in user to one budget whatever address they come from', async () => {
    // Arrange
    const { get } = appWith(3);

    // Act
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await get('/mail', { 'x-test-peer': `192.0.2.${i}`, 'x-test-user': 'sub-bob' })).status);

    // Assess
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it('never limits the health probe, and lets the address in again once it waited', async () => {
    // Arrange
    const { get, clock } = appWith(1);
    await get('/', { 'x-test-peer': '192.0.2.66' });

    // Act
    const limited = await get('/', { 'x-test-peer': '192.0.2.66' });
    const health = await Promise.all(Array.from({ length: 5 }, () => get('/healthz', { 'x-test-peer': '192.0.2.66' })));
    clock.advance(1000);
    const later = await get('/', { 'x-test-peer': '192.0.2.66' });

    // Assess
    expect(limited.status).toBe(429);
    expect(health.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(later.status).toBe(200);
  });
});
