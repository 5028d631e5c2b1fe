// The HTTP application (Hono). The same app runs behind API Gateway in AWS and under
// @hono/node-server in local mode. For now it answers health checks; the webmail and
// admin routes mount here.
import { Hono } from 'hono';

export interface WebAppDeps {
  /** Whether the pipeline behind this app is up (local mode: all components started). */
  health: () => Promise<{ ready: boolean; details: Record<string, unknown> }>;
}

export function createWebApp(deps: WebAppDeps): Hono {
  const app = new Hono();
  app.route('/healthz', healthRoutes(deps));
  return app;
}

function healthRoutes(deps: WebAppDeps): Hono {
  const routes = new Hono();
  routes.get('/', async (c) => {
    const { ready, details } = await deps.health();
    return c.json({ status: ready ? 'ok' : 'starting', ...details }, ready ? 200 : 503);
  });
  return routes;
}
