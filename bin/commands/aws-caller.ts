// Who a CLI action against a deployed stack is recorded as: the AWS principal whose
// credentials the command uses, as STS names it, with the OS user and host as context —
// `cli:arn:aws:sts::123456789012:assumed-role/Admin/alice (root@ops-pc)`. IAM decides what
// an admin may do, so the audit log names the IAM principal; the OS user alone is whatever
// the admin's laptop calls them. The ARN comes first: where an actor is cut short (the
// audit log keeps MAX_ACTOR_CHARS) the principal survives.
//
// GetCallerIdentity needs no permission and a policy cannot deny it
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html), so what
// fails is the way to STS: the network or a proxy, STS deactivated in the region
// (RegionDisabledException, https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_region-endpoints.html),
// or missing or expired credentials. Then what must not wait — failover on/off, cancelling a
// resend, the scheduled directory sync — goes on as the OS user, marked unconfirmed, and says
// so; what can wait (trace, starting a resend) refuses.
import { hostname, userInfo } from 'node:os';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { MAX_ACTOR_CHARS } from '../../lambdas/core/audit.ts';
import { ShadowmailError } from '../../lambdas/core/errors.ts';

/** The OS user and this host: local mode's CLI actor, and the context of a deployed one. */
export function osActor(): string {
  return `cli:${osUser()}`;
}

const osUser = (): string => `${userInfo().username}@${hostname()}`;

/**
 * How long an action waits for STS before it goes on as the OS user (or refuses). The SDK's
 * requestTimeout alone only warns (throwOnRequestTimeout); the abort signal bounds the whole call.
 */
export const STS_DEADLINE_MS = 5_000;

/** An ARN as STS answers for a caller (IAM user, assumed role, federated user, root), nothing else. */
const CALLER_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\x21-\x7e]+$/;

/**
 * The actor of a deployed action: one GetCallerIdentity with the SDK's usual credentials in
 * `region` (the command's own; undefined: the SDK's default, as the command's clients use).
 * When STS cannot name the caller: with `fallBack`, the OS user marked unconfirmed, with a
 * warning there (a switch or a brake must not wait); without, a ShadowmailError (the action
 * can wait). Bounded in time, so an unreachable STS delays an outage switch by seconds.
 */
export async function deployedActor(region: string | undefined, fallBack?: { warn: NodeJS.WritableStream }): Promise<string> {
  const sts = new STSClient({
    ...(region && { region }),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 4_000, throwOnRequestTimeout: true },
  });
  let why: string;
  let error: unknown;
  try {
    const { Arn: arn } = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: AbortSignal.timeout(STS_DEADLINE_MS) });
    if (arn !== undefined && CALLER_ARN.test(arn)) return `cli:${arn} (${osUser()})`.slice(0, MAX_ACTOR_CHARS);
    why = `an answer without a caller ARN: ${JSON.stringify(String(arn).slice(0, 100))}`;
  } catch (caught) {
    error = caught;
    const name = (caught as { name?: string }).name ?? 'Error';
    why = `${name}: ${String((caught as Error).message ?? caught)
      .split('\n')[0]!
      .trim()}`;
  } finally {
    sts.destroy();
  }
  const problem = `cannot ask STS who the AWS caller is (sts:GetCallerIdentity: ${why})`;
  const remedy = /credential|expired|token/i.test(why)
    ? 'sign in (aws sso login, AWS_PROFILE) and try again'
    : `check that STS answers in ${region ?? 'the region'} (network, proxy, STS activated for the region in the account settings of IAM)`;
  if (!fallBack) {
    throw new ShadowmailError('NO_CALLER', `${problem}: the action is recorded as that principal, so nothing was done; ${remedy}`, {
      ...(error !== undefined && { cause: error }),
    });
  }
  const actor = `${osActor()} (aws caller not confirmed)`;
  fallBack.warn.write(`warning: ${problem}: recorded as ${actor}; ${remedy}\n`);
  return actor;
}
