// Serves a Hono app on 127.0.0.1 (a free port) for Chromium, with the session cookie a
// test minted put into a browser context; close() also drops the browser's keep-alive connections.
import type { Server } from 'node:http';
import { type ServerType, serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { BrowserContext } from 'playwright-core';

export interface ServedApp {
  origin: string;
  /** Puts a `name=value` cookie (sessionCookie().cookie) into the context for this origin. */
  signIn(context: BrowserContext, cookie: string): Promise<void>;
  close(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: any Hono app, whatever its environment type
export async function serveApp(app: Hono<any>): Promise<ServedApp> {
  const server = await new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve({ server: started, port: info.port }));
    started.once('error', reject);
  });
  const origin = `http://127.0.0.1:${server.port}`;
  return {
    origin,
    signIn: async (context, cookie) => {
      const eq = cookie.indexOf('=');
      await context.addCookies([{ name: cookie.slice(0, eq), value: cookie.slice(eq + 1), url: origin }]);
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.server.close(() => resolve()));
      (server.server as Server).closeAllConnections?.();
      await closed;
    },
  };
}
