// CSRF protection for every state-changing request: the browser's Origin (or
// Sec-Fetch-Site) must be ours (hono/csrf), and the request must carry the session's
// token — hidden form field `_csrf` or header `X-CSRF-Token`. Either failing → 403 page.
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { messagePage } from '../views/layout.tsx';
import type { WebEnv } from './context.ts';

export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

export function csrfProtection(options: { origin: string }): MiddlewareHandler<WebEnv> {
  const originCheck = csrf({ origin: options.origin });
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const refuse = () => {
      const t = c.get('t');
      return messagePage(c, { title: t('error.csrf.title'), text: t('error.csrf.body'), status: 403 });
    };
    try {
      await originCheck(c, async () => undefined);
    } catch (error) {
      if (error instanceof HTTPException && error.status === 403) return refuse();
      throw error;
    }
    const expected = c.get('csrfToken');
    let given: unknown = c.req.header(CSRF_HEADER);
    // The parsed form is cached on the request: handlers read it again without cost.
    if (given === undefined && FORM_TYPES.test(c.req.header('content-type') ?? '')) given = (await c.req.parseBody())[CSRF_FIELD];
    if (!expected || typeof given !== 'string' || !sameToken(given, expected)) return refuse();
    await next();
  };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
