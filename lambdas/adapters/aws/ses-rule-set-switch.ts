// ActiveRuleSetSwitch on the SES v1 API: receipt rule sets exist only there
// (SES v2 has no receiving API). SetActiveReceiptRuleSet without a name is how
// SES is told to have no active rule set.
import { DescribeActiveReceiptRuleSetCommand, type SESClient, SetActiveReceiptRuleSetCommand } from '@aws-sdk/client-ses';
import type { ActiveRuleSetSwitch } from '../../ports/ses-rule-set-switch.ts';

export class SesActiveRuleSetSwitch implements ActiveRuleSetSwitch {
  constructor(private readonly client: Pick<SESClient, 'send'>) {}

  async active(): Promise<string | undefined> {
    const answer = await this.client.send(new DescribeActiveReceiptRuleSetCommand({}));
    return answer.Metadata?.Name || undefined;
  }

  async activate(ruleSetName: string): Promise<void> {
    await this.client.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: ruleSetName }));
  }

  async deactivate(): Promise<void> {
    await this.client.send(new SetActiveReceiptRuleSetCommand({}));
  }
}
