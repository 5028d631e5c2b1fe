// Security headers on every response: a strict CSP for our own pages (no script but
// what a page names by its hash, styles and images only from us, no framing), no
// referrer, and no caching of anything personal. A route that needs another policy
// (the message body frame) sets its own headers; they are kept. A page that posts a
// form elsewhere (the upload form, to S3) or carries a small script of its own adds
// exactly that origin or that hash for its own response (allowOnThisPage).
import type { Context, MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { CspAdditions, WebEnv } from './context.ts';

export interface SecurityHeaderOptions {
  /** Origins a form may lead to besides ours: the provider's logout after sign-out. */
  formActionOrigins?: string[];
}

export function allowOnThisPage(c: Context<WebEnv>, additions: CspAdditions): void {
  const current = c.get('cspAdditions') ?? {};
  c.set('cspAdditions', {
    formAction: [...(current.formAction ?? []), ...(additions.formAction ?? [])],
    scriptHashes: [...(current.scriptHashes ?? []), ...(additions.scriptHashes ?? [])],
  });
}

export function contentSecurityPolicy(formActionOrigins: readonly string[], additions: CspAdditions = {}): string {
  const scripts = additions.scriptHashes ?? [];
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    // The sandboxed frame in which a message's HTML is shown comes from us.
    "frame-src 'self'",
    ...(scripts.length > 0 ? [`script-src ${scripts.map((hash) => `'${hash}'`).join(' ')}`] : []),
    // Chrome applies form-action to the redirect after a POST (sign-out → provider logout).
    `form-action ${["'self'", ...formActionOrigins, ...(additions.formAction ?? [])].join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function securityHeaders(options: SecurityHeaderOptions = {}): MiddlewareHandler<WebEnv> {
  const headers = secureHeaders({
    contentSecurityPolicy: undefined,
    referrerPolicy: 'no-referrer',
    xFrameOptions: 'DENY',
    strictTransportSecurity: 'max-age=31536000; includeSubDomains',
    permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [], usb: [] },
    overwrite: false,
  });
  const formActionOrigins = options.formActionOrigins ?? [];
  return async (c, next) => {
    await headers(c, async () => {
      await next();
      if (!c.res.headers.has('Content-Security-Policy')) {
        c.res.headers.set('Content-Security-Policy', contentSecurityPolicy(formActionOrigins, c.get('cspAdditions') ?? {}));
      }
      if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
    });
  };
}
