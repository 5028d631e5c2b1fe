// ReceiptRules on the SES v1 API (receipt rules exist only there). A rule the sync writes copies
// the stack rule's Enabled, ScanEnabled, TlsPolicy and Actions, so it stores and notifies exactly
// as that rule does. SES takes each of these calls "no more than once per second"
// (https://docs.aws.amazon.com/ses/latest/APIReference/API_CreateReceiptRule.html, likewise
// UpdateReceiptRule, DeleteReceiptRule, DescribeReceiptRuleSet): the calls are spaced out, and a
// Throttling answer (another process used the account's second) is tried again a second later —
// the SDK's own retries come within milliseconds, inside the same second.
import {
  CreateReceiptRuleCommand,
  DeleteReceiptRuleCommand,
  DescribeReceiptRuleSetCommand,
  type DescribeReceiptRuleSetCommandOutput,
  type ReceiptRule,
  type SESClient,
  UpdateReceiptRuleCommand,
} from '@aws-sdk/client-ses';
import type { OwnedRule } from '../../core/receipt-recipients.ts';
import type { ListedReceiptRule, ReceiptRules } from '../../ports/receipt-rules.ts';

/** SES's pace for receipt rule calls. */
export const SES_RULE_CALL_INTERVAL_MS = 1000;

/** How often one call is tried when SES keeps answering Throttling. */
export const SES_THROTTLED_TRIES = 5;

// SES counts the calls of the account, not of one client: every instance in the process keeps one
// pace. performance.now(): a wall clock set back would make the pace too short.
let lastCall = Number.NEGATIVE_INFINITY;

export class SesReceiptRules implements ReceiptRules {
  readonly description: string;
  private readonly known = new Map<string, ReceiptRule>();

  constructor(
    private readonly client: Pick<SESClient, 'send'>,
    private readonly ruleSetName: string,
    region: string,
    private readonly intervalMs = SES_RULE_CALL_INTERVAL_MS,
  ) {
    this.description = `rule set ${ruleSetName} (${region})`;
  }

  async list(): Promise<ListedReceiptRule[] | null> {
    let answer: DescribeReceiptRuleSetCommandOutput;
    try {
      answer = await this.paced(() => this.client.send(new DescribeReceiptRuleSetCommand({ RuleSetName: this.ruleSetName })));
    } catch (error) {
      if ((error as { name?: string }).name === 'RuleSetDoesNotExistException') return null;
      throw error;
    }
    this.known.clear();
    return (answer.Rules ?? []).map((rule) => {
      this.known.set(rule.Name!, rule);
      return { name: rule.Name!, recipients: rule.Recipients ?? [], settings: settingsOf(rule) };
    });
  }

  async create(rule: OwnedRule, options: { after: string; like: string }): Promise<void> {
    const like = await this.rule(options.like);
    await this.paced(() =>
      this.client.send(new CreateReceiptRuleCommand({ RuleSetName: this.ruleSetName, After: options.after, Rule: copy(like, rule) })),
    );
  }

  async update(rule: OwnedRule, options: { like: string }): Promise<void> {
    const like = await this.rule(options.like);
    await this.paced(() => this.client.send(new UpdateReceiptRuleCommand({ RuleSetName: this.ruleSetName, Rule: copy(like, rule) })));
  }

  async remove(name: string): Promise<void> {
    await this.paced(() => this.client.send(new DeleteReceiptRuleCommand({ RuleSetName: this.ruleSetName, RuleName: name })));
  }

  private async rule(name: string): Promise<ReceiptRule> {
    if (!this.known.has(name)) await this.list();
    const found = this.known.get(name);
    if (found === undefined) throw new Error(`${this.description} has no rule ${name}`);
    return found;
  }

  /**
   * One call at least the interval after the previous one's answer (its request reached SES before
   * that); on Throttling, again after the interval, up to SES_THROTTLED_TRIES times.
   */
  private async paced<T>(call: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      const wait = lastCall + this.intervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      try {
        return await call();
      } catch (error) {
        if ((error as { name?: string }).name !== 'Throttling' || tries >= SES_THROTTLED_TRIES) throw error;
      } finally {
        lastCall = performance.now();
      }
    }
  }
}

function copy(like: ReceiptRule, rule: OwnedRule): ReceiptRule {
  return {
    Name: rule.name,
    Recipients: rule.recipients,
    Enabled: like.Enabled ?? false,
    ...(like.ScanEnabled !== undefined && { ScanEnabled: like.ScanEnabled }),
    ...(like.TlsPolicy !== undefined && { TlsPolicy: like.TlsPolicy }),
    ...(like.Actions !== undefined && { Actions: like.Actions }),
  };
}

function settingsOf(rule: ReceiptRule): string {
  return canonical({
    Enabled: rule.Enabled ?? false,
    ScanEnabled: rule.ScanEnabled ?? false,
    TlsPolicy: rule.TlsPolicy,
    Actions: rule.Actions ?? [],
  });
}

/** JSON with object keys sorted: two rules with the same settings give the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${canonical(child)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
