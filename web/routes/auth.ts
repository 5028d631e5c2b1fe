// Sign-in and sign-out. /auth/login starts the provider round trip (state, nonce and
// PKCE verifier kept in a signed short-lived cookie), /auth/callback finishes it and
// starts the session, POST /auth/logout (CSRF-checked) ends it and hands the browser
// to the provider's logout. All of it sits behind the failover gate.
import { Hono } from 'hono';
import { recordAudit } from '../../lambdas/core/audit.ts';
import { isBreakGlassAdmin } from '../../lambdas/core/break-glass.ts';
import { canSignIn } from '../../lambdas/core/directory.ts';
import type { DirectoryUser } from '../../lambdas/core/model.ts';
import { sameDirectoryId } from '../../lambdas/core/sessions.ts';
import { hasAsciiControls } from '../../lambdas/core/text.ts';
import type { AuditLog } from '../../lambdas/ports/audit-log.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { DirectoryLookup } from '../../lambdas/ports/directory.ts';
import type { Identity, SignInProvider } from '../../lambdas/ports/sign-in.ts';
import type { WebEnv } from '../middleware/context.ts';
import type { WebLogger } from '../middleware/logger.ts';
import {
  endSession,
  isSecureRequest,
  type SessionConfig,
  setPendingSignIn,
  startSession,
  takePendingSignIn,
} from '../middleware/session.ts';
import { messagePage } from '../views/layout.tsx';

export const DEFAULT_RETURN_TO = '/mail';

export interface AuthRouteDeps {
  signIn: SignInProvider;
  session: SessionConfig;
  logger: WebLogger;
  /** Our public origin: the provider returns there, so sign-in must start there (its cookie). */
  publicOrigin: string;
  /** The synced directory: disabled accounts and shared mailboxes may not sign in; its admins are admins. */
  directory?: DirectoryLookup;
  adminGroup: string;
  /** Usernames of the break-glass admin accounts: admins without the directory (core/break-glass.ts). */
  breakGlassAdmins?: readonly string[];
  /** Where each sign-in is recorded (`signin`): the console counts who signed in during a failover. */
  audit?: { log: AuditLog; clock: Clock };
}

export function authRoutes(deps: AuthRouteDeps): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();

  routes.get('/login', async (c) => {
    const url = new URL(c.req.url);
    // Local mode: http://localhost and http://127.0.0.1 are different cookie hosts, and the
    // provider returns to the public one. (Behind API Gateway or CloudFront the request URL
    // need not show the public host, so https requests are never redirected: no loops.)
    if (!isSecureRequest(c) && url.origin !== deps.publicOrigin) return c.redirect(`${deps.publicOrigin}${url.pathname}${url.search}`, 302);
    const returnTo = safeReturnTo(c.req.query('returnTo'));
    if (c.get('identity')) return c.redirect(returnTo, 303);
    let started: Awaited<ReturnType<SignInProvider['begin']>>;
    try {
      started = await deps.signIn.begin(returnTo);
    } catch (error) {
      deps.logger.error('sign-in could not start', { error: String(error), cause: String((error as Error).cause ?? '') });
      const t = c.get('t');
      return messagePage(c, { title: t('error.server.title'), text: t('error.server.body'), status: 503 });
    }
    await setPendingSignIn(c, started.pending, deps.session);
    return c.redirect(started.redirectTo, 302);
  });

  routes.get('/callback', async (c) => {
    const t = c.get('t');
    const failed = () =>
      messagePage(c, {
        title: t('auth.signInFailed.title'),
        text: t('auth.signInFailed.body'),
        status: 400,
        link: { href: '/auth/login', label: t('auth.signInFailed.retry') },
      });
    const pending = await takePendingSignIn(c, deps.session);
    if (!pending) return failed();
    const providerError = c.req.query('error');
    if (providerError) {
      deps.logger.warn('sign-in refused by the provider', { error: providerError.slice(0, 200) });
      return failed();
    }
    try {
      const signedIn = await deps.signIn.complete(new URL(c.req.url), pending);
      const access = await directoryAccess(signedIn, deps);
      if (access.refused) {
        deps.logger.warn('sign-in refused by the directory', { email: signedIn.email, reason: access.refused });
        return messagePage(c, { title: t('auth.accountRefused.title'), text: t('auth.accountRefused.body'), status: 403 });
      }
      const identity = access.identity;
      await startSession(
        c,
        identity,
        deps.session,
        signedIn.groups.includes(deps.adminGroup) || access.breakGlassAdmin,
        access.breakGlassAdmin,
      );
      deps.logger.info('signed in', { subject: identity.subject, email: identity.email, groups: identity.groups });
      if (deps.audit) {
        // A sign-in is never held back by its record.
        await recordAudit(deps.audit.log, deps.audit.clock, { actor: identity.email, action: 'signin', details: {} }).catch(
          (error: unknown) => deps.logger.warn('sign-in not audited', { email: identity.email, error: String(error) }),
        );
      }
      const returnTo = safeReturnTo(pending.returnTo);
      const flag = c.get('failover');
      // Normal operation: the mailbox is closed, so say why instead of ending on the bare status page.
      if (flag && !flag.on && !(returnTo === '/admin' || returnTo.startsWith('/admin/') || returnTo.startsWith('/admin?'))) {
        const admin = signedIn.groups.includes(deps.adminGroup) || access.breakGlassAdmin;
        return messagePage(c, {
          title: t('auth.normalOperation.title'),
          text: t('auth.normalOperation.body'),
          status: 200,
          ...(admin && { link: { href: '/admin', label: t('mail.nav.admin') } }),
        });
      }
      return c.redirect(returnTo, 303);
    } catch (error) {
      deps.logger.warn('sign-in failed', { error: String(error), cause: String((error as Error).cause ?? '') });
      return failed();
    }
  });

  routes.post('/logout', async (c) => {
    const identity = c.get('identity');
    await endSession(c, deps.session, c.get('session'));
    if (identity) deps.logger.info('signed out', { subject: identity.subject, email: identity.email });
    return c.redirect(deps.signIn.signOutUrl() ?? '/', 303);
  });

  return routes;
}

/** Only a path on this site: no scheme, no host, no `//` or `/\` that a browser reads as a host. */
export function safeReturnTo(value: string | undefined): string {
  if (!value || value.length > 2000) return DEFAULT_RETURN_TO;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || hasAsciiControls(value) || value.includes('\\'))
    return DEFAULT_RETURN_TO;
  return value;
}

/**
 * What the directory says about who signed in. Before the first sync, someone the
 * directory does not know signs in with the mailbox of their own address; once a sync
 * has run, they are refused (removed from AD, or never there); a disabled
 * account or a shared mailbox is refused; for a user it knows, the directory alone says
 * whether they are an admin. A break-glass admin (a native account the configuration
 * names) is an admin whatever the directory says, and has no directory user.
 */
async function directoryAccess(
  identity: Identity,
  deps: AuthRouteDeps,
): Promise<{ refused: string | null; identity: Identity; breakGlassAdmin: boolean }> {
  if (isBreakGlassAdmin(identity, deps.breakGlassAdmins ?? [])) {
    const others = identity.groups.filter((group) => group !== deps.adminGroup);
    return { refused: null, identity: { ...identity, groups: [...others, deps.adminGroup] }, breakGlassAdmin: true };
  }
  const access = await directoryUserAccess(identity, deps);
  return { ...access, breakGlassAdmin: false };
}

async function directoryUserAccess(identity: Identity, deps: AuthRouteDeps): Promise<{ refused: string | null; identity: Identity }> {
  if (!deps.directory) return { refused: null, identity };
  const user = await deps.directory.userForAddress(identity.email);
  // Before the first sync the token's address is all there is; after it, the directory is the list.
  if (user === null)
    return (await deps.directory.hasSynced()) ? { refused: 'not in the directory', identity } : { refused: null, identity };
  if (!canSignIn(user as DirectoryUser | null))
    return { refused: user.kind === 'shared' ? 'shared mailbox' : 'account disabled', identity };
  if (!sameDirectoryId(identity.directoryId, user)) return { refused: 'the directory id differs (another user has the address)', identity };
  // The directory decides who is an admin among the users it knows (as sessions do on every request).
  const others = identity.groups.filter((group) => group !== deps.adminGroup);
  const groups = user.admin ? [...others, deps.adminGroup] : others;
  return { refused: null, identity: { ...identity, groups } };
}
