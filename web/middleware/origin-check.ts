// Behind CloudFront + WAF (config webmail.waf) every request must carry the secret header
// CloudFront adds; one without it came straight to the execute-api endpoint, around the
// WAF's per-client limits, and is refused before anything else runs. Compared as HMACs
// of equal length in constant time, so the answer's timing tells nothing about the secret.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

export interface OriginCheckOptions {
  header: string;
  secret: string;
}

export function originCheck(options: OriginCheckOptions): MiddlewareHandler {
  // A per-process key: both sides are hashed to the same length before the comparison.
  const key = randomBytes(32);
  const digest = (value: string) => createHmac('sha256', key).update(value).digest();
  const expected = digest(options.secret);
  return async (c, next) => {
    const given = c.req.header(options.header);
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return next();
    return c.text('Forbidden: use the webmail address, not the API endpoint.', 403);
  };
}
