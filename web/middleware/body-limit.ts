// The webmail's limit on request bodies, checked before anything parses one: by the
// declared Content-Length (the HTTP server holds a body to it), else by counting the bytes
// as they arrive (routes/bounded-body.ts), holding at most the limit in memory. A request
// without a session gets a far smaller limit than a signed-in one (core/payload-limits.ts).
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Context, MiddlewareHandler } from 'hono';
import { readBounded } from '../routes/bounded-body.ts';

export interface BodyLimitOptions {
  /** The most a request with a session may carry. */
  maxBytes: number;
  /** The most a request without one may carry. */
  withoutSessionMaxBytes: number;
  /** Whether the request carries a session (a signature check: no store, no body). */
  hasSession(c: Context): Promise<boolean>;
  onTooLarge(c: Context, limit: number): Response | Promise<Response>;
}

export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const limit = (await options.hasSession(c)) ? options.maxBytes : options.withoutSessionMaxBytes;
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(declared) <= limit ? next() : options.onTooLarge(c, limit);
    }
    const bounded = await readBounded(Readable.fromWeb(body as NodeReadableStream<Uint8Array>), limit);
    if ('overflow' in bounded) {
      // The rest flows to nowhere, so that the HTTP server's lingering close after the answer
      // (@hono/node-server: at most 64 MB or 500 ms) is not stalled by a paused stream and the
      // client reads the 413 instead of a reset. Memory stays at the limit.
      bounded.overflow.on('error', () => undefined).resume();
      return options.onTooLarge(c, limit);
    }
    c.req.raw = new Request(c.req.raw, { body: bounded.whole });
    return next();
  };
}
