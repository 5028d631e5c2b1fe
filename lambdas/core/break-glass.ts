// Break-glass sign-in by SMS code, for the day AD FS is down with Exchange: who may ask
// for a code. One rule for Cognito's trigger (AWS) and local mode's provider: the flag
// must be on, and the directory must know the address as an enabled personal account
// with a mobile number. Everything else is refused before a code is sent, so a code
// path that is closed costs no SMS and tells an attacker nothing new.
import type { DirectoryLookup } from '../ports/directory.ts';
import type { FailoverFlag } from '../ports/failover-flag.ts';
import type { Identity } from '../ports/sign-in.ts';
import { normalizeAddress } from './addresses.ts';
import { canSignIn } from './directory.ts';
import type { DirectoryUser } from './model.ts';

export type CodeSignInRefusal = 'failover-off' | 'unknown-user' | 'disabled' | 'shared-mailbox' | 'no-mobile';

export type CodeSignInDecision =
  | { allowed: true; user: DirectoryUser & { mobile: string } }
  | { allowed: false; reason: CodeSignInRefusal };

export interface CodeSignInDeps {
  flag: Pick<FailoverFlag, 'read'>;
  directory: Pick<DirectoryLookup, 'userForAddress'>;
}

export async function decideCodeSignIn(address: string, deps: CodeSignInDeps): Promise<CodeSignInDecision> {
  if (!(await deps.flag.read()).on) return { allowed: false, reason: 'failover-off' };
  const user = await deps.directory.userForAddress(normalizeAddress(address));
  if (user === null) return { allowed: false, reason: 'unknown-user' };
  if (user.kind === 'shared') return { allowed: false, reason: 'shared-mailbox' };
  if (!canSignIn(user)) return { allowed: false, reason: 'disabled' };
  if (!user.mobile) return { allowed: false, reason: 'no-mobile' };
  return { allowed: true, user: { ...user, mobile: user.mobile } };
}

/**
 * A break-glass admin: one of the configured admin usernames, signed in as the pool's
 * own account (never a federated user whose IdP claims that address: an IdP user who
 * can set their own mail attribute must not become an admin by it).
 */
export function isBreakGlassAdmin(identity: Pick<Identity, 'email' | 'nativeAccount'>, admins: readonly string[]): boolean {
  if (identity.nativeAccount !== true) return false;
  const email = normalizeAddress(identity.email);
  return admins.some((admin) => normalizeAddress(admin) === email);
}
