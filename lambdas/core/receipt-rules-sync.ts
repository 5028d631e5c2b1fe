// `directory sync --receipt-rule-set`: brings the sync's address rules in the stack's SES receipt
// rule set in line with the directory (core/receipt-recipients.ts plans them) and reports the
// limits and the domains SES takes whole. Writes that widen what SES takes go first (new rules,
// then changed ones, the fallback rule before the others), deletions last, so a run that stops
// halfway — a refused write, SES's LimitExceeded — never leaves an address of the directory
// without a rule it had; the next run finishes the job.

import type { ListedReceiptRule, ReceiptRules } from '../ports/receipt-rules.ts';
import { NotFoundError } from './errors.ts';
import type { DirectoryUser } from './model.ts';
import { fallbackRuleName, type OwnedRule, planReceiptRules, type ReceiptRulesPlan } from './receipt-recipients.ts';

export interface ReceiptRulesSyncInput {
  users: readonly Pick<DirectoryUser, 'mailbox' | 'aliases'>[];
  domains: readonly string[];
  catchAllDomains: readonly string[];
  subaddressSeparator: string;
  /** The stack's rule (the template of the sync's rules) and the prefix of the sync's rules. */
  names: { storeRule: string; directoryRulePrefix: string };
  limits: { recipientsPerRule: number; rulesPerRuleSet: number };
  dryRun: boolean;
}

export interface ReceiptRulesSyncReport {
  plan: ReceiptRulesPlan;
  /** Rules whose recipients were right but whose settings or actions differed from the stack's rule. */
  refreshed: string[];
  /** Rules in the set that are neither the stack's nor the sync's. */
  othersInSet: number;
  /** Rules the sync may own here (the limit less the others). */
  maxRules: number;
  /** What was written before the run stopped, and why it stopped (null: it did not). */
  written: number;
  failure: { rule: string; action: 'create' | 'update' | 'delete'; reason: string } | null;
  dryRun: boolean;
}

export async function syncReceiptRules(rules: ReceiptRules, input: ReceiptRulesSyncInput): Promise<ReceiptRulesSyncReport> {
  const listed = await rules.list();
  if (listed === null) throw new NotFoundError(`${rules.description} does not exist: give the stack output ReceiptRuleSetName`);
  const template = listed.find((rule) => rule.name === input.names.storeRule);
  if (template === undefined) {
    throw new NotFoundError(`${rules.description} has no rule ${input.names.storeRule}: it is not the rule set of this stack`);
  }
  const owned = listed.filter((rule) => rule.name.startsWith(input.names.directoryRulePrefix));
  const othersInSet = listed.length - owned.length;
  const maxRules = Math.max(0, input.limits.rulesPerRuleSet - othersInSet);
  const plan = planReceiptRules({
    users: input.users,
    domains: input.domains,
    catchAllDomains: input.catchAllDomains,
    subaddressSeparator: input.subaddressSeparator,
    current: owned,
    prefix: input.names.directoryRulePrefix,
    maxRules,
    recipientsPerRule: input.limits.recipientsPerRule,
  });
  const refreshed = stale(plan, owned, template);
  const report: ReceiptRulesSyncReport = { plan, refreshed, othersInSet, maxRules, written: 0, failure: null, dryRun: input.dryRun };
  if (input.dryRun) return report;

  const fallback = fallbackRuleName(input.names.directoryRulePrefix);
  const fallbackFirst = (a: OwnedRule, b: OwnedRule) => Number(b.name === fallback) - Number(a.name === fallback);
  const byName = new Map(plan.rules.map((rule) => [rule.name, rule]));
  const steps: Array<{ rule: string; action: 'create' | 'update' | 'delete'; run: () => Promise<void> }> = [
    ...[...plan.create].sort(fallbackFirst).map((rule) => ({
      rule: rule.name,
      action: 'create' as const,
      run: () => rules.create(rule, { after: template.name, like: template.name }),
    })),
    ...[...plan.update, ...refreshed.map((name) => byName.get(name)!)]
      .sort(fallbackFirst)
      .map((rule) => ({ rule: rule.name, action: 'update' as const, run: () => rules.update(rule, { like: template.name }) })),
    ...plan.remove.map((name) => ({ rule: name, action: 'delete' as const, run: () => rules.remove(name) })),
  ];
  for (const step of steps) {
    try {
      await step.run();
    } catch (error) {
      report.failure = { rule: step.rule, action: step.action, reason: (error as Error).message };
      break;
    }
    report.written += 1;
  }
  return report;
}

/** Kept rules whose recipients need no write but whose settings or actions are not the stack rule's (the stack changed). */
function stale(plan: ReceiptRulesPlan, owned: readonly ListedReceiptRule[], template: ListedReceiptRule): string[] {
  const written = new Set([...plan.create, ...plan.update].map((rule) => rule.name));
  return owned
    .filter((rule) => plan.rules.some((kept) => kept.name === rule.name) && !written.has(rule.name) && rule.settings !== template.settings)
    .map((rule) => rule.name);
}
