// The recipient lists of SES receipt rules that make SES refuse, during the SMTP
// transaction, what local mode's door refuses (core/known-recipient.ts): SES takes only
// recipients some active rule matches. A pure plan for `directory sync` to apply and for
// doctor to compare against; it checks SES's limits and says which domains stay whole.
//
// From SES's documentation:
// - A rule's recipients are addresses or domains; a rule without any matches every address
//   of the verified domains; a message matching a rule gets all its actions
//   (https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html).
// - At most 100 recipients per rule; an address matches its `+label` forms too
//   (http://docs.aws.amazon.com/ses/latest/DeveloperGuide/receiving-email-receipt-rules.html).
// The number of rules per rule set is the caller's `maxRules` (read it from the account).

import { addressesOf, domainOf } from './addresses.ts';
import type { DirectoryUser } from './model.ts';

/** SES's limit on one receipt rule's recipient list. */
export const SES_RECIPIENTS_PER_RULE = 100;

/** Why SES keeps taking every address of a domain. */
export type DomainWideReason = 'catch-all' | 'separator' | 'beyond-limits';

export interface ReceiptRecipientsInput {
  users: readonly Pick<DirectoryUser, 'mailbox' | 'aliases'>[];
  /** The mail domains (comparison form). */
  domains: readonly string[];
  catchAllDomains: readonly string[];
  /** Ingest's subaddress separator: SES's own label rule knows only '+'. */
  subaddressSeparator: string;
  /** Rules the plan may use for address lists. */
  maxRules: number;
  recipientsPerRule?: number;
}

export interface ReceiptRecipientsPlan {
  /** One entry per rule: sorted addresses of one domain, at most recipientsPerRule. */
  addressRules: string[][];
  /** Domains that stay on the domain-wide rule, and why. */
  domainWide: { domain: string; reason: DomainWideReason }[];
  /** Addresses covered by address rules. */
  addresses: number;
}

/**
 * Address rules per domain (never mixed, so a change in one domain leaves the others'
 * rules alone), with postmaster@ always listed (RFC 5321 §4.5.1). A domain whose lists
 * would pass `maxRules` stays whole, as do catch-all domains and every domain when the
 * separator is not '+' (SES would refuse alice-tag@ that ingest files under alice):
 * taking too much is safe, refusing a real address is not.
 */
export function planReceiptRecipients(input: ReceiptRecipientsInput): ReceiptRecipientsPlan {
  const perRule = input.recipientsPerRule ?? SES_RECIPIENTS_PER_RULE;
  const byDomain = new Map<string, Set<string>>();
  for (const domain of input.domains) byDomain.set(domain, new Set([`postmaster@${domain}`]));
  for (const user of input.users) {
    for (const address of addressesOf(user)) byDomain.get(domainOf(address))?.add(address);
  }
  const plan: ReceiptRecipientsPlan = { addressRules: [], domainWide: [], addresses: 0 };
  for (const domain of [...byDomain.keys()].sort()) {
    if (input.catchAllDomains.includes(domain)) {
      plan.domainWide.push({ domain, reason: 'catch-all' });
      continue;
    }
    if (input.subaddressSeparator !== '+' && input.subaddressSeparator !== '') {
      plan.domainWide.push({ domain, reason: 'separator' });
      continue;
    }
    const addresses = [...byDomain.get(domain)!].sort();
    const rules: string[][] = [];
    for (let start = 0; start < addresses.length; start += perRule) rules.push(addresses.slice(start, start + perRule));
    if (plan.addressRules.length + rules.length > input.maxRules) {
      plan.domainWide.push({ domain, reason: 'beyond-limits' });
      continue;
    }
    plan.addressRules.push(...rules);
    plan.addresses += addresses.length;
  }
  return plan;
}
