// The start page while the failover is on: since when, the admin's message, sign-in
// (or the way to the mailbox for a signed-in user). With the flag off the gate answers.
import { Hono } from 'hono';
import type { WebEnv } from '../middleware/context.ts';
import { statusPage } from '../views/status.tsx';

export function statusRoutes(): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  routes.get('/', (c) => statusPage(c, c.get('failover'), 200));
  return routes;
}
