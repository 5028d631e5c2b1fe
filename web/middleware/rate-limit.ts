// Per-client request limit (local mode; in AWS a WAF rate-based rule does this before the
// function, docs/deploy.md §9.3). A request counts against the signed-in user when its
// session cookie verifies (a forged or random cookie does not: it would buy a fresh
// bucket per request), else against the client's address, which the composition root
// reads from the connection — never from a header a client could set. Over the limit:
// 429 with Retry-After and a short page in the user's language. Runs before anything
// reads a body, so a flood costs a signature check and a bucket per request.
import type { Context, MiddlewareHandler } from 'hono';
import type { ClientRateLimit } from '../../lambdas/core/client-rate-limit.ts';
import type { WebEnv } from './context.ts';

export interface RateLimitOptions {
  limit: ClientRateLimit;
  /** The peer address of the connection; undefined when unknown (then all such clients share one bucket). */
  clientAddress(c: Context): string | undefined;
  /** The verified session's user, or null. */
  signedInUser(c: Context): Promise<string | null>;
  /** Paths never limited (the health probe must answer during a flood). */
  exempt?: readonly string[];
  onLimited(c: Context<WebEnv>, retryAfterSeconds: number): Response | Promise<Response>;
}

export function clientRateLimit(options: RateLimitOptions): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    if (options.exempt?.includes(c.req.path)) return next();
    const user = await options.signedInUser(c);
    const client = user !== null ? `user:${user}` : `address:${options.clientAddress(c) ?? 'unknown'}`;
    const admission = options.limit.admit(client);
    if (admission.allowed) return next();
    c.header('Retry-After', String(admission.retryAfterSeconds));
    return options.onLimited(c, admission.retryAfterSeconds);
  };
}
