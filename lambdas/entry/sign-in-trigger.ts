// Lambda entry point of Cognito's pre- and post-authentication trigger (the construct in
// lib/constructs/sign-in-trigger.ts bundles this file): lambdas/handlers/sign-in-trigger.ts
// with its parts wired once per execution environment.
import { createSignInTriggerHandler } from '../handlers/sign-in-trigger.ts';
import { awsSignInTriggerDeps } from '../wiring/sign-in-trigger.ts';
import { lazyHandler } from './lazy.ts';

export const handler = lazyHandler(async () => createSignInTriggerHandler(awsSignInTriggerDeps()));
