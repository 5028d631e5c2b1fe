// The API Gateway routes that carry their own throttle (lib/webmail-rate-limits.ts
// ROUTE_KEYS) name paths of the web app: a path renamed in web/routes without its route
// key would silently fall back to the read budget of $default. Checked against the app's
// own route table, with the mail, admin and /declare groups mounted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeclareDeps } from '../../../lambdas/core/declare-outage.ts';
import { ROUTE_KEYS } from '../../../lib/webmail-rate-limits.ts';
import type { AdminDeps } from '../../../web/routes/admin.ts';
import { mailRouteGroups } from '../../../web/routes/mail.ts';
import type { MailRouteDeps } from '../../../web/routes/mail-deps.ts';
import { type Harness, SECRET, startHarness } from '../../support/app-under-test.ts';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => {
  await harness?.close();
});

/** API Gateway's `{name}` and greedy `{proxy+}` as Hono spells them. */
const honoPath = (path: string) => path.replace(/\{proxy\+\}/, '*').replace(/\{(\w+)\}/g, ':$1');

describe('route keys with their own throttle', () => {
  it('name a method and path the web app serves', () => {
    // Arrange: route construction reads no dependency, so empty ones do.
    const app = harness.makeApp({
      userRoutes: mailRouteGroups({ signingSecret: SECRET, clock: harness.clock, sending: { config: {} } } as unknown as MailRouteDeps),
      admin: {} as AdminDeps,
      declare: {} as DeclareDeps,
    });
    const served = app.routes.map((route) => `${route.method} ${route.path}`);

    // Act
    const missing = Object.values(ROUTE_KEYS)
      .flat()
      .filter((key) => {
        const [method, path] = key.split(' ') as [string, string];
        const wanted = honoPath(path);
        if (wanted.endsWith('*')) return !served.some((entry) => entry.startsWith(`GET ${wanted.slice(0, -1)}`));
        return method === 'ANY'
          ? !served.some((entry) => entry.endsWith(` ${wanted}`) && !entry.startsWith('ALL '))
          : !served.includes(`${method} ${wanted}`);
      });

    // Assess
    expect(served.length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });
});
