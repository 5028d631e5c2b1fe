// The HTTP application (Hono). The same app runs behind API Gateway in AWS and under
// @hono/node-server in local mode. Order of the chain, for every user route:
//   security headers → language → failover gate → session → CSRF → routes.
// /healthz and /static answer before the gate; everything else shows only the status
// page while the flag is off, except sign-in (/auth) and the admin console (/admin,
// admins only), so admins can trace mail and switch the flag while it is off.
import { type Context, Hono } from 'hono';
import { html } from 'hono/html';
import { HTTPException } from 'hono/http-exception';
import type { ClientRateLimit } from '../lambdas/core/client-rate-limit.ts';
import type { DeclareDeps } from '../lambdas/core/declare-outage.ts';
import { ForbiddenError, NotFoundError } from '../lambdas/core/errors.ts';
import { OUTAGE_LINK_PATH } from '../lambdas/core/outage-link.ts';
import { MAX_BODY_WITHOUT_SESSION_BYTES, MAX_WEB_BODY_BYTES } from '../lambdas/core/payload-limits.ts';
import { SessionGuard } from '../lambdas/core/sessions.ts';
import type { AuditLog } from '../lambdas/ports/audit-log.ts';
import type { Clock } from '../lambdas/ports/clock.ts';
import type { DirectoryLookup } from '../lambdas/ports/directory.ts';
import type { FailoverFlag } from '../lambdas/ports/failover-flag.ts';
import type { SessionStore } from '../lambdas/ports/session-store.ts';
import type { SignInProvider } from '../lambdas/ports/sign-in.ts';
import { pickLanguage, type Translate, translator } from './i18n/index.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { identityOf, type WebContext, type WebEnv } from './middleware/context.ts';
import { csrfProtection } from './middleware/csrf.ts';
import { failoverGate } from './middleware/failover-gate.ts';
import { language } from './middleware/language.ts';
import { consoleLogger, type WebLogger } from './middleware/logger.ts';
import { type OriginCheckOptions, originCheck } from './middleware/origin-check.ts';
import { clientRateLimit } from './middleware/rate-limit.ts';
import { securityHeaders } from './middleware/security.ts';
import { MIN_SESSION_SECRET_LENGTH, readSession, requireSignIn, type SessionConfig, sessionMiddleware } from './middleware/session.ts';
import { type AdminDeps, adminRoutes, requireAdmin } from './routes/admin.ts';
import { authRoutes } from './routes/auth.ts';
import { declareRoutes } from './routes/declare.ts';
import { statusRoutes } from './routes/status.ts';
import { messagePage, renderPage } from './views/layout.tsx';
import { STYLESHEET, STYLESHEET_PATH } from './views/styles.ts';

export interface WebAppDeps {
  /** Whether the pipeline behind this app is up (local mode: all components started). */
  health: () => Promise<{ ready: boolean; details: Record<string, unknown> }>;
  /** The webmail; without it the app answers /healthz only (local mode's first moments). */
  webmail?: WebmailDeps;
  /**
   * A request limit per client (local mode; in AWS, WAF and API Gateway limit before the
   * function). The address comes from the connection, which only the composition root knows.
   */
  clientLimit?: { limit: ClientRateLimit; clientAddress: (c: Context) => string | undefined };
  /** Behind CloudFront + WAF: the header and secret every request must carry (else 403, before anything else). */
  originCheck?: OriginCheckOptions | undefined;
}

export interface WebmailDeps {
  /** Read on every user request: pass a CachedFailoverFlag (≤ 30 s). */
  failover: FailoverFlag;
  signIn: SignInProvider;
  /** The synced directory (AD or CSV): who may sign in, who is an admin. */
  directory?: DirectoryLookup;
  /** HMAC key of the session cookie, at least 32 characters. */
  sessionSecret: string;
  /** Our public origin (https://mail.corp.example; http://127.0.0.1:8787 locally): the CSRF origin check. */
  publicOrigin: string;
  /** Members of this group (cognito:groups) are admins. */
  adminGroup: string;
  /** Usernames of the break-glass admin accounts (native accounts, admins without the directory). */
  breakGlassAdmins?: readonly string[];
  clock: Clock;
  /** Time zone for the dates on pages (IANA name). */
  timeZone: string;
  sessionMaxAgeSeconds?: number;
  /**
   * Server-side sessions: sign-out ends a session for good, and each request is checked against
   * the store and the directory (cached ≤ 60 s). Required so that no composition root forgets it;
   * null (route tests that mint cookies) makes the signed cookie alone the session.
   */
  sessions: SessionStore | null;
  logger?: WebLogger;
  /**
   * Route groups behind the gate and (unless selfAuthorized) sign-in, mounted at `path`. When none are given a
   * placeholder /mail shows who is signed in (the mailbox pages replace it).
   */
  userRoutes?: UserRouteGroup[];
  /** Where sign-ins are recorded (`signin`; the console counts them during a failover); absent: not recorded. */
  audit?: AuditLog;
  /** The admin console at /admin (admins only, open also while the flag is off); absent: no console. */
  admin?: AdminDeps;
  /** The backlog alarm link's page at /declare (outside the gate, no session); absent: no such page. */
  declare?: DeclareDeps;
}

export interface UserRouteGroup {
  path: string;
  routes: Hono<WebEnv>;
  /**
   * The routes check every request themselves (signed short-lived URLs) instead of the
   * session: the cid: images of the sandboxed message frame, which the browser requests
   * from an opaque origin and so without the SameSite session cookie. Still behind the gate.
   */
  selfAuthorized?: boolean;
}

export function createWebApp(deps: WebAppDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  if (deps.originCheck) app.use('*', originCheck(deps.originCheck));
  const signOutUrl = deps.webmail?.signIn.signOutUrl();
  app.use('*', securityHeaders({ formActionOrigins: signOutUrl ? [new URL(signOutUrl).origin] : [] }));
  // What API Gateway and Lambda would not deliver (core/payload-limits.ts) is refused
  // here too, before anything reads the body: local mode sees the same limit as AWS.
  // Without a session (a valid signed cookie) only a small form is taken.
  const web = deps.webmail;
  const sessionOf = async (c: Context) =>
    web === undefined ? null : await readSession(c, { secret: web.sessionSecret, clock: web.clock, adminGroup: web.adminGroup });
  if (deps.clientLimit) {
    app.use(
      '*',
      clientRateLimit({
        ...deps.clientLimit,
        signedInUser: async (c) => (await sessionOf(c))?.sub ?? null,
        exempt: ['/healthz'],
        onLimited: (c, seconds) => {
          const t = ensureLanguage(c);
          return messagePage(c, { title: t('request.tooMany.title'), text: t('request.tooMany.body', { seconds }), status: 429 });
        },
      }),
    );
  }
  app.use(
    '*',
    bodyLimit({
      maxBytes: MAX_WEB_BODY_BYTES,
      withoutSessionMaxBytes: MAX_BODY_WITHOUT_SESSION_BYTES,
      hasSession: async (c) => (await sessionOf(c)) !== null,
      onTooLarge: (c, limit) => tooLargePage(c as WebContext, limit),
    }),
  );
  app.route('/healthz', healthRoutes(deps));
  app.get(STYLESHEET_PATH, (c) => {
    c.header('Content-Type', 'text/css; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    return c.body(STYLESHEET);
  });
  if (deps.webmail) mountWebmail(app, deps.webmail);
  return app;
}

function mountWebmail(app: Hono<WebEnv>, deps: WebmailDeps): void {
  if (deps.sessionSecret.length < MIN_SESSION_SECRET_LENGTH)
    throw new Error(`the session secret must have at least ${MIN_SESSION_SECRET_LENGTH} characters`);
  const logger = deps.logger ?? consoleLogger;
  const session: SessionConfig = {
    secret: deps.sessionSecret,
    clock: deps.clock,
    adminGroup: deps.adminGroup,
    ...(deps.sessionMaxAgeSeconds !== undefined && { maxAgeSeconds: deps.sessionMaxAgeSeconds }),
    ...(deps.sessions && {
      server: {
        store: deps.sessions,
        guard: new SessionGuard({
          store: deps.sessions,
          clock: deps.clock,
          ...(deps.directory && { directory: deps.directory }),
          ...(deps.breakGlassAdmins && { breakGlassAdmins: deps.breakGlassAdmins }),
        }),
      },
    }),
  };

  // Before the gate and the session: the link is its own authorization and the flag is off when it is used.
  if (deps.declare) {
    app.route(OUTAGE_LINK_PATH, declareRoutes({ deps: deps.declare, publicOrigin: deps.publicOrigin, timeZone: deps.timeZone, logger }));
  }
  app.use('*', language({ timeZone: deps.timeZone }));
  app.use('*', failoverGate({ flag: deps.failover, logger }));
  app.use('*', sessionMiddleware(session));
  app.use('*', csrfProtection({ origin: deps.publicOrigin }));

  app.route('/', statusRoutes());
  app.route(
    '/auth',
    authRoutes({
      signIn: deps.signIn,
      session,
      logger,
      publicOrigin: new URL(deps.publicOrigin).origin,
      adminGroup: deps.adminGroup,
      ...(deps.directory && { directory: deps.directory }),
      ...(deps.breakGlassAdmins && { breakGlassAdmins: deps.breakGlassAdmins }),
      ...(deps.audit && { audit: { log: deps.audit, clock: deps.clock } }),
    }),
  );
  for (const { path, routes, selfAuthorized } of deps.userRoutes ?? [{ path: '/mail', routes: placeholderMailRoutes() }]) {
    if (!selfAuthorized) {
      app.use(path, requireSignIn());
      app.use(`${path}/*`, requireSignIn());
    }
    app.route(path, routes);
  }
  // Not behind the gate (see failover-gate.ts): requireAdmin is what keeps others out.
  app.use('/admin', requireAdmin());
  app.use('/admin/*', requireAdmin());
  if (deps.admin) app.route('/admin', adminRoutes(deps.admin));

  app.notFound((c) => {
    const t = ensureLanguage(c);
    return messagePage(c, { title: t('error.notFound.title'), text: t('error.notFound.body'), status: 404 });
  });
  app.onError((error, c) => errorPage(c, error, logger));
}

function tooLargePage(c: WebContext, limit: number): Promise<Response> {
  const t = ensureLanguage(c);
  return messagePage(c, {
    title: t('request.tooLarge.title'),
    text:
      limit < MAX_WEB_BODY_BYTES
        ? t('request.tooLarge.signedOut', { kb: Math.floor(limit / 1024) })
        : t('request.tooLarge.body', { mb: Math.floor(limit / (1024 * 1024)) }),
    status: 413,
  });
}

/** Errors can arise before the language middleware ran: pick the language here then. */
function ensureLanguage(c: WebContext): Translate {
  if (!c.get('t')) {
    const lang = pickLanguage(c.req.header('accept-language'));
    c.set('lang', lang);
    c.set('t', translator(lang));
  }
  return c.get('t');
}

async function errorPage(c: WebContext, error: unknown, logger: WebLogger): Promise<Response> {
  const t = ensureLanguage(c);
  if (error instanceof NotFoundError)
    return messagePage(c, { title: t('error.notFound.title'), text: t('error.notFound.body'), status: 404 });
  if (error instanceof ForbiddenError)
    return messagePage(c, { title: t('error.forbidden.title'), text: t('error.forbidden.body'), status: 403 });
  if (error instanceof HTTPException && error.status === 401) {
    return messagePage(c, {
      title: t('auth.signInRequired.title'),
      text: t('auth.signInRequired.body'),
      status: 401,
      link: { href: '/auth/login', label: t('status.failover.signIn') },
    });
  }
  if (error instanceof HTTPException && error.status < 500)
    return messagePage(c, { title: t('error.server.title'), text: error.message, status: error.status });
  logger.error('request failed', { path: c.req.path, method: c.req.method, error: (error as Error)?.stack ?? String(error) });
  return messagePage(c, { title: t('error.server.title'), text: t('error.server.body'), status: 500 });
}

/** Stands in for the mailbox pages: proves the way through gate and sign-in. */
function placeholderMailRoutes(): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  routes.get('/', (c) => {
    const t = c.get('t');
    const identity = identityOf(c);
    // html`` escapes its values like JSX does (this file is .ts, the views are .tsx).
    const body = html`<h1>${t('mail.placeholder.title')}</h1><p id="signed-in-as">${t('mail.placeholder.body', { email: identity.email })}</p>`;
    return renderPage(c, { title: t('mail.placeholder.title'), body });
  });
  return routes;
}

function healthRoutes(deps: WebAppDeps): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  routes.get('/', async (c) => {
    const { ready, details } = await deps.health();
    return c.json({ status: ready ? 'ok' : 'starting', ...details }, ready ? 200 : 503);
  });
  return routes;
}
