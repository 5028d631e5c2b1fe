// What every request carries through the middleware chain (Hono context variables),
// and the small accessors route handlers use: who is signed in, their CSRF token.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { FailoverState } from '../../lambdas/ports/failover-flag.ts';
import type { Identity } from '../../lambdas/ports/sign-in.ts';
import type { Lang, Translate } from '../i18n/index.ts';

/** The signed session cookie's content. */
export interface SessionData {
  sub: string;
  email: string;
  name: string;
  groups: string[];
  /** Per-session CSRF token, required in every state-changing request. */
  csrf: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** The server-side session (SessionStore) this cookie stands for, when the app has a store. */
  sid?: string;
}

/** What one response's CSP allows beyond the default. */
export interface CspAdditions {
  /** Origins the page's forms may post to (an upload form's S3 endpoint). */
  formAction?: string[];
  /** 'sha256-…' sources of the page's inline scripts (never 'unsafe-inline'). */
  scriptHashes?: string[];
}

export interface WebEnv {
  Variables: {
    lang: Lang;
    t: Translate;
    timeZone: string;
    /** The flag as the gate read it for this request (set only past the gate). */
    failover: FailoverState;
    session: SessionData | null;
    identity: Identity | null;
    csrfToken: string | null;
    isAdmin: boolean;
    /** What this response's CSP allows beyond the default (security.ts allowOnThisPage). */
    cspAdditions: CspAdditions | undefined;
  };
}

export type WebContext = Context<WebEnv>;

/** The signed-in user; routes behind requireSignIn always have one. */
export function identityOf(c: Context<WebEnv>): Identity {
  const identity = c.get('identity');
  if (!identity) throw new HTTPException(401, { message: 'not signed in' });
  return identity;
}

/** The session's CSRF token, for the hidden `_csrf` field of every form that changes something. */
export function csrfTokenOf(c: Context<WebEnv>): string {
  const token = c.get('csrfToken');
  if (!token) throw new HTTPException(401, { message: 'not signed in' });
  return token;
}
