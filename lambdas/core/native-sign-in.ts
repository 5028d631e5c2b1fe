// Who of the pool's own (non-federated) accounts may sign in, for Cognito's pre- and
// post-authentication trigger: a configured break-glass admin always, but only with TOTP
// set up (the pool's MFA is optional, so this keeps their second factor mandatory); any
// other native account is staff signing in by SMS code, allowed only as decideCodeSignIn
// says (flag on, enabled personal account with a mobile number). An admin without TOTP gets
// in only inside the short setup window an operator opened to register it
// (`shadowmail breakglass admin-setup`). Every refusal, every use of a setup window and every
// completed sign-in is audited; a refusal names its reason only in the audit log.
import type { AdminSetupWindows } from '../ports/admin-setup-windows.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { SignInFactors } from '../ports/sign-in-factors.ts';
import { recordAudit } from './audit.ts';
import { type CodeSignInDeps, type CodeSignInRefusal, decideCodeSignIn, isBreakGlassAdmin } from './break-glass.ts';

export type NativeAccountKind = 'break-glass-admin' | 'staff';

/** Why a native sign-in was refused: the code rule's reasons, codes switched off in the configuration, an admin without TOTP. */
export type NativeSignInRefusal = CodeSignInRefusal | 'codes-off' | 'no-totp';

export type NativeSignInDecision =
  /** setupWindow: an admin without TOTP let in by an open setup window. */
  { allowed: true; kind: NativeAccountKind; setupWindow?: true } | { allowed: false; kind: NativeAccountKind; reason: NativeSignInRefusal };

export interface NativeSignInDeps extends CodeSignInDeps {
  factors: SignInFactors;
  setupWindows: Pick<AdminSetupWindows, 'isOpen'>;
  audit: AuditLog;
  clock: Clock;
  /** config.breakGlass.admins usernames. */
  admins: readonly string[];
  /** config.breakGlass.staffSmsCodes: false refuses every staff code sign-in, whatever the pool allows. */
  staffCodes: boolean;
}

export interface NativeAttempt {
  userPoolId: string;
  username: string;
  /** Cognito found no such user (PreventUserExistenceErrors): refused as an unknown user, like any other refusal. */
  userNotFound?: boolean;
}

const kindOf = (username: string, admins: readonly string[]): NativeAccountKind =>
  isBreakGlassAdmin({ email: username, nativeAccount: true }, admins) ? 'break-glass-admin' : 'staff';

/** Pre authentication: allowed, or refused with the refusal audited (`signin.denied` for an admin, `signin.code.denied` for staff). */
export async function admitNativeSignIn(attempt: NativeAttempt, deps: NativeSignInDeps): Promise<NativeSignInDecision> {
  const kind = kindOf(attempt.username, deps.admins);
  const decision = await decide(attempt, kind, deps);
  if (decision.allowed && decision.setupWindow) {
    await recordAudit(deps.audit, deps.clock, {
      actor: attempt.username,
      action: 'signin',
      details: { breakGlass: true, totpSetupWindow: true },
    });
  }
  if (!decision.allowed) {
    await recordAudit(
      deps.audit,
      deps.clock,
      {
        actor: attempt.username,
        action: kind === 'break-glass-admin' ? 'signin.denied' : 'signin.code.denied',
        details: { reason: decision.reason, breakGlass: true },
      },
      'denied',
    );
  }
  return decision;
}

async function decide(attempt: NativeAttempt, kind: NativeAccountKind, deps: NativeSignInDeps): Promise<NativeSignInDecision> {
  if (attempt.userNotFound === true) return { allowed: false, kind, reason: 'unknown-user' };
  if (kind === 'break-glass-admin') {
    const totp = await deps.factors.hasTotp({ userPoolId: attempt.userPoolId, username: attempt.username });
    if (totp) return { allowed: true, kind };
    if (await deps.setupWindows.isOpen(attempt.username, deps.clock.now())) return { allowed: true, kind, setupWindow: true };
    return { allowed: false, kind, reason: 'no-totp' };
  }
  if (!deps.staffCodes) return { allowed: false, kind, reason: 'codes-off' };
  const code = await decideCodeSignIn(attempt.username, deps);
  return code.allowed ? { allowed: true, kind } : { allowed: false, kind, reason: code.reason };
}

/** Post authentication: the completed sign-in, `signin` for an admin, `signin.code` for staff. */
export async function recordNativeSignIn(
  username: string,
  deps: Pick<NativeSignInDeps, 'audit' | 'clock' | 'admins'>,
): Promise<NativeAccountKind> {
  const kind = kindOf(username, deps.admins);
  await recordAudit(deps.audit, deps.clock, {
    actor: username,
    action: kind === 'break-glass-admin' ? 'signin' : 'signin.code',
    details: { breakGlass: true },
  });
  return kind;
}
