// The failover gate: in normal operation every user route answers with the status
// page — no session is even read, so no mailbox data can leak whatever the cookie
// holds. Only past this gate (flag on) do sign-in and the mailbox routes run.
import type { MiddlewareHandler } from 'hono';
import type { FailoverFlag, FailoverState } from '../../lambdas/ports/failover-flag.ts';
import { statusPage } from '../views/status.tsx';
import type { WebEnv } from './context.ts';
import type { WebLogger } from './logger.ts';

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
    // The start page is the status page itself; any other route is refused with it.
    if (!state?.on) return statusPage(c, state, state === null ? 503 : c.req.path === '/' ? 200 : 403);
    c.set('failover', state);
    await next();
  };
}
