// Lambda entry point of the custom resource that activates the stack's SES receipt rule
// set (the construct in lib/constructs/inbound-mail.ts bundles this file): the handler of
// lambdas/handlers/ses-rule-set-activation.ts with an SES client built once per
// execution environment.
import { createRuleSetActivationHandler, type RuleSetActivationHandler } from '../handlers/ses-rule-set-activation.ts';
import { awsActiveRuleSetSwitch } from '../wiring/ses-rule-set-activation.ts';
import { lazyHandler } from './lazy.ts';

export const handler: RuleSetActivationHandler = lazyHandler(async () => createRuleSetActivationHandler(awsActiveRuleSetSwitch()));
