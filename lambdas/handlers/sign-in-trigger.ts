// Cognito's pre- and post-authentication trigger (entry lambdas/entry/sign-in-trigger.ts):
// the event checked here, the rule in lambdas/core/native-sign-in.ts. Event shapes from the
// Cognito developer guide ("Pre authentication Lambda trigger", "Post authentication Lambda
// trigger", and the parameters shared by all triggers:
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-authentication.html,
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-authentication.html).
// Allowing returns the event unchanged; refusing throws, which Cognito answers to the client
// as "PreAuthentication failed with error <message>" and the sign-in stops there. Post
// authentication runs "after authentication is complete, before a user has received tokens",
// and a failing one makes the authentication "fail to complete": an unaudited sign-in gets no tokens.
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { InvalidInputError } from '../core/errors.ts';
import { admitNativeSignIn, type NativeSignInDeps, recordNativeSignIn } from '../core/native-sign-in.ts';

/** The one answer to every refusal: the reason is in the audit log only, so the answer tells nobody whether an account exists. */
export const SIGN_IN_REFUSED_MESSAGE = 'Sign-in without the company login is not open for this account.';

export class SignInRefusedError extends Error {
  constructor() {
    super(SIGN_IN_REFUSED_MESSAGE);
    this.name = 'SignInRefused';
  }
}

export const TRIGGER_SOURCES = {
  preAuthentication: 'PreAuthentication_Authentication',
  postAuthentication: 'PostAuthentication_Authentication',
} as const;

const eventSchema = z.looseObject({
  triggerSource: z.enum([TRIGGER_SOURCES.preAuthentication, TRIGGER_SOURCES.postAuthentication]),
  userPoolId: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]+$/, 'a user pool id'),
  userName: z.string().min(1).max(128),
  request: z.looseObject({
    userAttributes: z.record(z.string(), z.string()).default({}),
    userNotFound: z.boolean().optional(),
  }),
});

export type SignInTriggerEvent = z.infer<typeof eventSchema>;
export type SignInTriggerHandler = (event: unknown) => Promise<unknown>;

/**
 * A user of the federated IdP: Cognito marks them EXTERNAL_PROVIDER and keeps their links in
 * `identities`. The IdP authenticated them; this trigger has nothing to add (and the webmail
 * audits their sign-in itself), so they pass untouched should Cognito call it for them.
 */
export function isFederated(attributes: Record<string, string>): boolean {
  return attributes['cognito:user_status'] === 'EXTERNAL_PROVIDER' || attributes.identities !== undefined;
}

export function createSignInTriggerHandler(deps: NativeSignInDeps & { logger: Pick<Logger, 'info' | 'warn'> }): SignInTriggerHandler {
  return async (raw) => {
    const parsed = eventSchema.safeParse(raw);
    if (!parsed.success) throw new InvalidInputError(`not a Cognito authentication trigger event: ${z.prettifyError(parsed.error)}`);
    const event = parsed.data;
    const attributes = event.request.userAttributes;
    if (isFederated(attributes)) return raw;
    if (event.triggerSource === TRIGGER_SOURCES.postAuthentication) {
      const kind = await recordNativeSignIn(event.userName, deps);
      deps.logger.info('native sign-in completed', { kind, username: event.userName });
      return raw;
    }
    const decision = await admitNativeSignIn(
      { userPoolId: event.userPoolId, username: event.userName, userNotFound: event.request.userNotFound === true },
      deps,
    );
    if (!decision.allowed) {
      deps.logger.warn('native sign-in refused', { kind: decision.kind, reason: decision.reason, username: event.userName });
      throw new SignInRefusedError();
    }
    return raw;
  };
}
