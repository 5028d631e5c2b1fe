// /declare: the page a backlog alarm link opens, outside the failover gate and without
// a session (the flag is off when it is needed, and the admin's phone has no session).
// GET only looks (mail clients' link scanners fetch links; nothing may change), POST
// with the token in the body uses the link up and switches failover on. The token is
// the only authorization: no cookie is read or set, and the answer leads to the normal
// sign-in. Refusals are logged with their reason, never the token.
import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { type DeclareDeps, declareOutage, viewOutageLink } from '../../lambdas/core/declare-outage.ts';
import { InvalidInputError } from '../../lambdas/core/errors.ts';
import { OUTAGE_LINK_PARAMETER } from '../../lambdas/core/outage-link.ts';
import type { WebContext, WebEnv } from '../middleware/context.ts';
import { language } from '../middleware/language.ts';
import type { WebLogger } from '../middleware/logger.ts';
import { declaredPage, declarePage, invalidLinkPage } from '../views/declare.tsx';
import { messagePage } from '../views/layout.tsx';

export interface DeclareRouteOptions {
  deps: DeclareDeps;
  /** Our origin: a POST from any other page is refused (the token would be enough, but it costs nothing). */
  publicOrigin: string;
  timeZone: string;
  logger: WebLogger;
}

export function declareRoutes(options: DeclareRouteOptions): Hono<WebEnv> {
  const { deps, logger } = options;
  const routes = new Hono<WebEnv>();
  routes.use('*', language({ timeZone: options.timeZone }));
  const originCheck = csrf({ origin: options.publicOrigin });

  routes.get('/', async (c) => {
    const token = c.req.query(OUTAGE_LINK_PARAMETER) ?? '';
    const view = await viewOutageLink(token, deps);
    if (!view.ok) return refused(c, view.reason, logger);
    return declarePage(c, { token, link: view.link, flag: view.flag, backlog: view.backlog });
  });

  routes.post('/', async (c) => {
    try {
      await originCheck(c, async () => undefined);
    } catch {
      const t = c.get('t');
      return messagePage(c, { title: t('error.csrf.title'), text: t('error.csrf.body'), status: 403 });
    }
    const body = await c.req.parseBody();
    const token = typeof body[OUTAGE_LINK_PARAMETER] === 'string' ? body[OUTAGE_LINK_PARAMETER] : '';
    const message = typeof body.message === 'string' ? body.message : undefined;
    try {
      const result = await declareOutage(token, message, deps);
      if (!result.ok) return refused(c, result.reason, logger);
      logger.info('failover switched on with a backlog alarm link', { admin: result.link.admin, link: result.link.id });
      return declaredPage(c);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      // The message was refused before the link was used: show the form again with the problem.
      const view = await viewOutageLink(token, deps);
      if (!view.ok) return refused(c, view.reason, logger);
      return declarePage(
        c,
        { token, link: view.link, flag: view.flag, backlog: view.backlog, message: message ?? '', error: error.message },
        400,
      );
    }
  });

  return routes;
}

function refused(c: WebContext, reason: string, logger: WebLogger): Promise<Response> {
  logger.info('backlog alarm link refused', { reason });
  return invalidLinkPage(c);
}
