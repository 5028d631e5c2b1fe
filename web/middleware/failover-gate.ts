// The failover gate: in normal operation every user route answers with the status
// page — no session is even read, so no mailbox data can leak whatever the cookie
// holds. Only past this gate (flag on) do sign-in and the mailbox routes run.
// Two narrow exemptions, because admins must be able to switch the flag on and trace
// mail while it is off: /auth/* (sign-in) and /admin/* always pass; /admin/* is then
// held by requireAdmin (app.ts), and everything a non-admin reaches after signing in
// is still gated.
import type { MiddlewareHandler } from 'hono';
import type { FailoverFlag, FailoverState } from '../../lambdas/ports/failover-flag.ts';
import { statusPage } from '../views/status.tsx';
import type { WebEnv } from './context.ts';
import type { WebLogger } from './logger.ts';

/** Paths that pass the gate whatever the flag says. */
export function isGateExempt(path: string): boolean {
  return path === '/auth' || path.startsWith('/auth/') || path === '/admin' || path.startsWith('/admin/');
}

export function failoverGate(options: { flag: FailoverFlag; logger: WebLogger }): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    let state: FailoverState | null;
    try {
      state = await options.flag.read();
    } catch (error) {
      // Fail closed: an unreadable flag keeps users out rather than letting them in.
      options.logger.error('failover flag unreadable', { error: String(error), cause: String((error as Error).cause ?? '') });
      state = null;
    }
    if (isGateExempt(c.req.path)) {
      if (state) c.set('failover', state);
      return next();
    }
    // The start page is the status page itself; any other route is refused with it.
    if (!state?.on) return statusPage(c, state, state === null ? 503 : c.req.path === '/' ? 200 : 403);
    c.set('failover', state);
    await next();
  };
}
