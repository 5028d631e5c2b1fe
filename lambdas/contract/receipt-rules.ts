// The receipt rules of a deployment, shared by the CDK app (lib/constructs/inbound-mail.ts),
// `shadowmail directory sync` and doctor: the stack's own rule `<stackId>-store` (CloudFormation)
// and the address rules `<stackId>-dir-NNN` the sync keeps (the SES API; CloudFormation never
// sees them, so a deploy cannot revert them, and deleting the rule set deletes them too:
// "Deletes the specified receipt rule set and all of the receipt rules it contains",
// https://docs.aws.amazon.com/ses/latest/APIReference/API_DeleteReceiptRuleSet.html).

export interface ReceiptRuleNames {
  ruleSetName: string;
  /** The CDK-owned rule: every catch-all domain, and every domain until the recipient check is on. */
  storeRule: string;
  /** Prefix of the sync-owned address rules and of its fallback rule of whole domains. */
  directoryRulePrefix: string;
}

const RULE_SET_SUFFIX = '-inbound';

export function receiptRuleNames(stackId: string): ReceiptRuleNames {
  return { ruleSetName: `${stackId}${RULE_SET_SUFFIX}`, storeRule: `${stackId}-store`, directoryRulePrefix: `${stackId}-dir-` };
}

/** The names from the rule set's name (the stack output ReceiptRuleSetName), or null for a set that is not a stack's. */
export function receiptRuleNamesOfSet(ruleSetName: string): ReceiptRuleNames | null {
  if (!ruleSetName.endsWith(RULE_SET_SUFFIX) || ruleSetName.length === RULE_SET_SUFFIX.length) return null;
  return receiptRuleNames(ruleSetName.slice(0, -RULE_SET_SUFFIX.length));
}

/**
 * SES's limits on receipt rules. Recipients: "You can have a maximum of 100 recipients per receipt
 * rule" (Developer Guide, receipt rules,
 * http://docs.aws.amazon.com/ses/latest/DeveloperGuide/receiving-email-receipt-rules.html). Rules per
 * rule set: the "Email receiving" quotas of https://docs.aws.amazon.com/ses/latest/dg/quotas.html
 * (200 assumed: that section could not be read here, docs/deploy.md §8.6); SES answers
 * CreateReceiptRule beyond its real quota with LimitExceeded, which the sync reports.
 */
export const SES_RECEIPT_RULE_LIMITS = { recipientsPerRule: 100, rulesPerRuleSet: 200 } as const;

/**
 * The recipients of the stack's own rule. Without the recipient check: every domain (SES takes
 * every address, as before issue 17). With it: the catch-all domains whole, and postmaster@ of
 * every other domain (RFC 5321 §4.5.1 requires it; it also keeps the list from being empty,
 * and a rule without recipients would match every address of every verified domain,
 * https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html).
 */
export function storeRuleRecipients(domains: readonly string[], catchAllDomains: readonly string[], recipientCheck: boolean): string[] {
  if (!recipientCheck) return [...domains];
  return domains.map((domain) => (catchAllDomains.includes(domain) ? domain : `postmaster@${domain}`));
}
