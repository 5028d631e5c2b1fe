// `directory sync|import --receipt-rule-set NAME`: after the directory is written, the address
// rules in the stack's SES receipt rule set are brought in line with it (core/receipt-rules-sync.ts)
// and the run says what it wrote, SES's limits, and which domains SES takes whole and why
// (docs/deploy.md §8.6).
import { SESClient } from '@aws-sdk/client-ses';
import { SesReceiptRules } from '../../lambdas/adapters/aws/ses-receipt-rules.ts';
import { ENV, SUBADDRESS_SEPARATOR } from '../../lambdas/contract/environment.ts';
import { receiptRuleNamesOfSet, SES_RECEIPT_RULE_LIMITS } from '../../lambdas/contract/receipt-rules.ts';
import type { DirectoryUser } from '../../lambdas/core/model.ts';
import type { DomainWideReason } from '../../lambdas/core/receipt-recipients.ts';
import { type ReceiptRulesSyncReport, syncReceiptRules } from '../../lambdas/core/receipt-rules-sync.ts';
import { cliAwsConfig } from './aws-clients.ts';
import { UsageError } from './command.ts';

export const RECEIPT_RULE_OPTIONS = {
  'receipt-rule-set': { type: 'string' },
  'catch-all-domains': { type: 'string' },
  'subaddress-separator': { type: 'string' },
} as const;

export interface ReceiptRuleValues {
  'receipt-rule-set'?: string;
  'catch-all-domains'?: string;
  'subaddress-separator'?: string;
}

export interface ReceiptRuleTarget {
  ruleSetName: string;
  catchAllDomains: string[];
  subaddressSeparator: string;
}

/**
 * The receipt rule part of a run, or null without --receipt-rule-set. Checked before anything is
 * written: it needs a deployed table, the mail domains, catch-all domains among them.
 */
export function receiptRuleTarget(
  values: ReceiptRuleValues & { table?: string },
  domains: readonly string[] | null,
  parseDomains: (text: string, name: string) => string[],
): ReceiptRuleTarget | null {
  const ruleSetName = values['receipt-rule-set'];
  if (ruleSetName === undefined) {
    if (values['catch-all-domains'] !== undefined || values['subaddress-separator'] !== undefined) {
      throw new UsageError('--catch-all-domains and --subaddress-separator go with --receipt-rule-set');
    }
    return null;
  }
  if (values.table === undefined) throw new UsageError('--receipt-rule-set goes with --table (local mode has no SES)');
  if (receiptRuleNamesOfSet(ruleSetName) === null) {
    throw new UsageError(
      `--receipt-rule-set must be the stack output ReceiptRuleSetName (<stackId>-inbound), not ${JSON.stringify(ruleSetName)}`,
    );
  }
  if (domains === null) throw new UsageError('--receipt-rule-set needs --domains (the stack output MailDomains)');
  const catchAllText = values['catch-all-domains'] ?? process.env.SHADOWMAIL_CATCH_ALL_DOMAINS;
  const catchAllDomains =
    catchAllText === undefined || catchAllText.trim() === ''
      ? []
      : parseDomains(catchAllText, values['catch-all-domains'] !== undefined ? '--catch-all-domains' : 'SHADOWMAIL_CATCH_ALL_DOMAINS');
  const foreign = catchAllDomains.find((domain) => !domains.includes(domain));
  if (foreign !== undefined) throw new UsageError(`catch-all domain ${foreign} is not one of the mail domains ${domains.join(', ')}`);
  // As the stack hands it to ingest: 'off' is no separator.
  const given = values['subaddress-separator'] ?? process.env[ENV.subaddressSeparator] ?? SUBADDRESS_SEPARATOR.default;
  const separator = given === 'off' ? '' : given;
  if (!SUBADDRESS_SEPARATOR.pattern.test(separator)) {
    throw new UsageError(`--subaddress-separator must be ${SUBADDRESS_SEPARATOR.hint} (or off), not ${JSON.stringify(given)}`);
  }
  return { ruleSetName, catchAllDomains, subaddressSeparator: separator };
}

/** What the rule sync did, or why it could not run at all (the rule set missing, access denied). */
export type ReceiptRulesOutcome = { report: ReceiptRulesSyncReport } | { error: string };

/** Brings the address rules in line with `users`; never throws (the directory is synced already). */
export async function syncReceiptRulesFor(
  target: ReceiptRuleTarget,
  input: { users: readonly DirectoryUser[]; domains: readonly string[]; region: string; dryRun: boolean },
): Promise<ReceiptRulesOutcome> {
  const names = receiptRuleNamesOfSet(target.ruleSetName)!;
  const client = new SESClient(cliAwsConfig(input.region));
  try {
    const report = await syncReceiptRules(new SesReceiptRules(client, target.ruleSetName, input.region), {
      users: input.users,
      domains: input.domains,
      catchAllDomains: target.catchAllDomains,
      subaddressSeparator: target.subaddressSeparator,
      names,
      limits: SES_RECEIPT_RULE_LIMITS,
      dryRun: input.dryRun,
    });
    return { report };
  } catch (error) {
    return { error: `${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message}` };
  } finally {
    client.destroy();
  }
}

/** Writes what the rule sync did; true when every address is in a rule and every write was made. */
export function writeReceiptRules(
  outcome: ReceiptRulesOutcome,
  where: string,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): boolean {
  if ('error' in outcome) {
    err.write(`failed: receipt rules in ${where}: ${outcome.error} (nothing written there; the directory is synced)\n`);
    return false;
  }
  const { report } = outcome;
  out.write(formatReceiptRules(report, where));
  if (report.failure) {
    err.write(
      `failed: ${report.failure.action} receipt rule ${report.failure.rule}: ${report.failure.reason} (the rules written before stay; the next run goes on)\n`,
    );
  }
  const beyond = report.plan.domainWide.filter((entry) => entry.reason === 'beyond-limits');
  if (beyond.length > 0) {
    err.write(
      `warning: SES takes every address of ${beyond.map((entry) => entry.domain).join(', ')}: their addresses do not fit into ${report.maxRules} rules of ${SES_RECEIPT_RULE_LIMITS.recipientsPerRule}\n`,
    );
  }
  return report.failure === null && beyond.length === 0;
}

/** The audit entry's counts of the rule sync (none without --receipt-rule-set). */
export function receiptRulesAudit(outcome: ReceiptRulesOutcome | null): Record<string, number> {
  if (outcome === null) return {};
  if ('error' in outcome) return { receiptRulesFailed: 1 };
  const { report } = outcome;
  return {
    receiptRulesWritten: report.written,
    receiptRulesFailed: report.failure === null ? 0 : 1,
    receiptRuleAddresses: report.plan.addresses,
    domainsTakenWhole: report.plan.domainWide.length,
  };
}

const WHY: Record<DomainWideReason, string> = {
  'catch-all': 'catch-all',
  separator: "the subaddress separator is not SES's +",
  'beyond-limits': 'beyond the rule limit',
};

export function formatReceiptRules(report: ReceiptRulesSyncReport, where: string): string {
  const { plan } = report;
  const lines = [
    ...plan.create.map((rule) => `+ receipt rule ${rule.name}  ${rule.recipients.length} recipients`),
    ...plan.update.map((rule) => `~ receipt rule ${rule.name}  ${rule.recipients.length} recipients`),
    ...report.refreshed.map((name) => `~ receipt rule ${name}  settings and action of the stack's rule`),
    ...plan.remove.map((name) => `- receipt rule ${name}`),
  ];
  const whole = plan.domainWide.map((entry) => `${entry.domain} (${WHY[entry.reason]})`).join(', ');
  const writes = plan.create.length + plan.update.length + report.refreshed.length + plan.remove.length;
  lines.push(
    `  receipt rules in ${where}: ${plan.rules.length} rules, ${plan.addresses} addresses; ` +
      `${report.dryRun ? `would write ${writes}` : `wrote ${report.written} of ${writes}`} ` +
      `(${plan.create.length} new, ${plan.update.length + report.refreshed.length} changed, ${plan.remove.length} deleted)`,
    `  SES limits: ${SES_RECEIPT_RULE_LIMITS.recipientsPerRule} recipients a rule, ${SES_RECEIPT_RULE_LIMITS.rulesPerRuleSet} rules a set; ` +
      `${report.othersInSet} other rules in the set, room for ${report.maxRules}`,
    `  domains SES takes whole: ${whole === '' ? 'none' : whole}`,
  );
  return `${lines.join('\n')}\n`;
}
