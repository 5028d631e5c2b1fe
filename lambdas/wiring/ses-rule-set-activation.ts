// Composition root of the rule-set activation custom resource in AWS: one SES
// (v1) client per cold start, in the function's own region, which is the
// region whose active rule set the stack manages.
import { SESClient } from '@aws-sdk/client-ses';
import { SesActiveRuleSetSwitch } from '../adapters/aws/ses-rule-set-switch.ts';
import type { ActiveRuleSetSwitch } from '../ports/ses-rule-set-switch.ts';

export function awsActiveRuleSetSwitch(): ActiveRuleSetSwitch {
  return new SesActiveRuleSetSwitch(new SESClient({}));
}
