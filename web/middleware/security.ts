// Security headers on every response: a strict CSP for our own pages (no script at
// all, styles and images only from us, no framing), no referrer, and no caching of
// anything personal. A route that needs another policy (the message body frame) sets
// its own headers; they are kept (overwrite: false).
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

export interface SecurityHeaderOptions {
  /** Origins a form may lead to besides ours: the provider's logout after sign-out. */
  formActionOrigins?: string[];
}

export function securityHeaders(options: SecurityHeaderOptions = {}): MiddlewareHandler {
  const headers = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      // The sandboxed frame in which a message's HTML is shown comes from us.
      frameSrc: ["'self'"],
      // Chrome applies form-action to the redirect after a POST (sign-out → provider logout).
      formAction: ["'self'", ...(options.formActionOrigins ?? [])],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    referrerPolicy: 'no-referrer',
    xFrameOptions: 'DENY',
    strictTransportSecurity: 'max-age=31536000; includeSubDomains',
    permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [], usb: [] },
    overwrite: false,
  });
  return async (c, next) => {
    await headers(c, async () => {
      await next();
      if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
    });
  };
}
