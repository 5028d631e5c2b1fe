// Serves message frame documents to real Chromium and records everything that
// happens: a Hono app (under @hono/node-server on 127.0.0.1) serves parent pages
// with sandboxed iframes, the frame documents with their headers and cid: parts;
// a second server on another port stands in for "the internet" and counts every
// request that reaches it. A context watcher collects dialogs, calls of the
// window.__pwned() binding, console output, requests and popups.
// Used by test/system/web/message-frame.test.ts and test/corpus/xss-corpus.test.ts.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { BrowserContext } from 'playwright-core';
import type { MessageRenderer } from '../../lambdas/ports/message-renderer.ts';
import {
  MESSAGE_FRAME_REFERRER_POLICY,
  MESSAGE_FRAME_SANDBOX,
  messageFrameDocument,
  messageFrameHeaders,
} from '../../web/message-frame.ts';

/** A 4×3 red PNG, served for every cid: part. */
export const CID_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAEElEQVR4nGM4IScHRww4OQD1xwwxB+utmQAAAABJRU5ErkJggg==',
  'base64',
);

export interface RemoteRequest {
  path: string;
  referer: string | undefined;
}

export interface FrameHarness {
  /** http://127.0.0.1:<port> of the webmail stand-in. */
  appOrigin: string;
  /** http://127.0.0.1:<port> of the "remote" server: a request here is content fetched from outside. */
  remoteOrigin: string;
  remoteRequests: RemoteRequest[];
  /** Every request for a cid: part, with the Cookie header it carried. */
  cidRequests: Array<{ contentId: string; cookie: string | undefined }>;
  /** Registers a frame document; returns the path that serves it. */
  addFrame(document: string, headers: Record<string, string>): string;
  /** A parent page embedding the frames (sandboxed unless `sandbox: false`). */
  pageUrl(framePaths: string[], options?: { sandbox?: boolean }): string;
  /** Registers any response (downloads); returns its path. */
  addResponse(body: string | Buffer, headers: Record<string, string>): string;
  close(): Promise<void>;
}

export async function startFrameHarness(): Promise<FrameHarness> {
  const frames = new Map<string, { body: string | Buffer; headers: Record<string, string> }>();
  const remoteRequests: RemoteRequest[] = [];
  const cidRequests: FrameHarness['cidRequests'] = [];
  let next = 0;

  const remote: Server = createServer((request: IncomingMessage, response) => {
    remoteRequests.push({ path: request.url ?? '', referer: request.headers.referer });
    request.resume();
    if ((request.url ?? '').endsWith('.png')) {
      response.writeHead(200, { 'Content-Type': 'image/png' }).end(CID_PNG);
    } else {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!DOCTYPE html><title>remote</title><p>remote page</p>');
    }
  });
  await new Promise<void>((resolve, reject) => {
    remote.once('error', reject);
    remote.listen(0, '127.0.0.1', () => resolve());
  });
  const remoteOrigin = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;

  const app = new Hono();
  app.get('/page', (c) => {
    const paths = (c.req.query('frames') ?? '').split(',').filter((path) => frames.has(path));
    const sandboxed = c.req.query('sandbox') !== 'off';
    const iframes = paths
      .map(
        (path, index) =>
          `<iframe title="message ${index}" src="${path}" width="320" height="120"` +
          (sandboxed ? ` sandbox="${MESSAGE_FRAME_SANDBOX}" referrerpolicy="${MESSAGE_FRAME_REFERRER_POLICY}"` : '') +
          '></iframe>',
      )
      .join('\n');
    // A session cookie like the webmail's, to see which requests carry it.
    c.header('Set-Cookie', 'session=harness; HttpOnly; SameSite=Lax; Path=/');
    return c.html(
      `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>parent</title></head><body><p id="canary">intact</p>\n${iframes}\n</body></html>`,
    );
  });
  app.get('/f/:id', (c) => {
    const frame = frames.get(c.req.path);
    if (frame === undefined) return c.notFound();
    return c.body(typeof frame.body === 'string' ? frame.body : new Uint8Array(frame.body), 200, frame.headers);
  });
  app.get('/cid/:id', (c) => {
    cidRequests.push({ contentId: decodeURIComponent(c.req.param('id')), cookie: c.req.header('cookie') });
    return c.body(new Uint8Array(CID_PNG), 200, { 'Content-Type': 'image/png', 'X-Content-Type-Options': 'nosniff' });
  });
  const server = await new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve({ server: started, port: info.port }));
    started.once('error', reject);
  });
  const appOrigin = `http://127.0.0.1:${server.port}`;

  const add = (body: string | Buffer, headers: Record<string, string>): string => {
    const path = `/f/${next++}`;
    frames.set(path, { body, headers });
    return path;
  };

  return {
    appOrigin,
    remoteOrigin,
    remoteRequests,
    cidRequests,
    addFrame: add,
    addResponse: add,
    pageUrl: (framePaths, options = {}) =>
      `${appOrigin}/page?frames=${encodeURIComponent(framePaths.join(','))}${options.sandbox === false ? '&sandbox=off' : ''}`,
    close: async () => {
      // Keep-alive connections of a browser would otherwise hold close() open.
      const closing = [
        new Promise<void>((resolve) => server.server.close(() => resolve())),
        new Promise<void>((resolve) => remote.close(() => resolve())),
      ];
      (server.server as Server).closeAllConnections?.();
      remote.closeAllConnections();
      await Promise.all(closing);
    },
  };
}

export interface ContextWatch {
  dialogs: string[];
  /** Arguments of every window.__pwned() call, from any frame. */
  pwned: string[];
  console: string[];
  /** Every request URL the browser started, from any page of the context. */
  requests: string[];
  /** The same requests with Playwright's resource type (image, stylesheet, document, ...). */
  requestTypes: Array<{ url: string; type: string }>;
  popups: string[];
}

/** Starts recording; call before the first navigation of the context. */
export async function watchContext(context: BrowserContext): Promise<ContextWatch> {
  const watch: ContextWatch = { dialogs: [], pwned: [], console: [], requests: [], requestTypes: [], popups: [] };
  await context.exposeBinding('__pwned', (_source, ...args: unknown[]) => {
    watch.pwned.push(args.map(String).join(' '));
  });
  context.on('request', (request) => {
    watch.requests.push(request.url());
    watch.requestTypes.push({ url: request.url(), type: request.resourceType() });
  });
  const watchPage = (page: import('playwright-core').Page): void => {
    page.on('dialog', (dialog) => {
      watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
    page.on('console', (message) => {
      watch.console.push(`${message.type()}: ${message.text()}`);
    });
  };
  context.on('page', (page) => {
    // The first page is opened by the test; any later one is a popup.
    if (context.pages().length > 1) watch.popups.push(page.url());
    watchPage(page);
  });
  return watch;
}

/** Requests that went anywhere but the app under test. */
export function foreignRequests(watch: ContextWatch, appOrigin: string): string[] {
  return watch.requests.filter((url) => {
    if (url.startsWith('data:') || url === 'about:blank') return false;
    return !(url === appOrigin || url.startsWith(`${appOrigin}/`));
  });
}

/**
 * A message whose HTML part is `html` (base64, so every byte arrives as written)
 * plus an inline PNG with Content-ID <logo@x>, as a stream for the renderer.
 */
export function htmlMessage(html: string, subject = 'hostile message'): Readable {
  const encoded = Buffer.from(html, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
  const image = CID_PNG.toString('base64');
  return Readable.from([
    Buffer.from(
      [
        'From: Attacker <attacker@remote.invalid>',
        'To: max@corp.test',
        `Subject: ${subject}`,
        'Date: Mon, 10 Mar 2025 10:00:00 +0000',
        'Message-ID: <hostile@remote.invalid>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/related; boundary="hostile-boundary"',
        '',
        '--hostile-boundary',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        encoded,
        '--hostile-boundary',
        'Content-Type: image/png',
        'Content-ID: <logo@x>',
        'Content-Transfer-Encoding: base64',
        '',
        image,
        '--hostile-boundary--',
        '',
      ].join('\r\n'),
    ),
  ]);
}

export const cidUrl = (contentId: string): string => `/cid/${encodeURIComponent(contentId)}`;

/** Renders a raw message the way the webmail does and registers its frame document. */
export async function addRenderedFrame(
  harness: FrameHarness,
  renderer: MessageRenderer,
  raw: Readable,
  allowRemote: boolean,
): Promise<{ path: string; remoteContentBlocked: boolean }> {
  const rendered = await renderer.render(raw, { allowRemote, cidUrl });
  const document = messageFrameDocument(rendered, { allowRemote, lang: 'en' });
  return { path: harness.addFrame(document, messageFrameHeaders(allowRemote)), remoteContentBlocked: rendered.remoteContentBlocked };
}
