// The address rules `directory sync` keeps in the stack's SES receipt rule set, so that SES
// refuses, during the SMTP transaction, what local mode's door refuses (core/known-recipient.ts):
// SES takes only recipients some active rule matches. A pure plan from the rules there now to the
// rules there should be; it checks SES's limits and says which domains stay whole, and why.
//
// From SES's documentation:
// - A rule's recipients are addresses or domains; a rule without any matches every address
//   of the verified domains; a message matching a rule gets all its actions
//   (https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html).
// - At most 100 recipients per rule; an address matches its `+label` forms too
//   (http://docs.aws.amazon.com/ses/latest/DeveloperGuide/receiving-email-receipt-rules.html).
// - Rule writes are throttled at one a second (API_CreateReceiptRule, API_UpdateReceiptRule):
//   the plan keeps every address in the rule it is in, so one new address changes one rule.
//
// The stack's own rule (lambdas/contract/receipt-rules.ts storeRuleRecipients) lists the
// catch-all domains and each postmaster@; these rules list everything else, complete on their
// own, so turning the recipient check on never leaves an address without a rule.

import { addressesOf, domainOf } from './addresses.ts';
import type { DirectoryUser } from './model.ts';

/** Why SES keeps taking every address of a domain. */
export type DomainWideReason = 'catch-all' | 'separator' | 'beyond-limits';

/** A rule the sync owns: its name and recipients (addresses, or domains for the fallback rule). */
export interface OwnedRule {
  name: string;
  recipients: string[];
}

export interface ReceiptRulesInput {
  users: readonly Pick<DirectoryUser, 'mailbox' | 'aliases'>[];
  /** The mail domains (comparison form). */
  domains: readonly string[];
  catchAllDomains: readonly string[];
  /** Ingest's subaddress separator: SES's own label rule knows only '+' ('' is off). */
  subaddressSeparator: string;
  /** The sync's rules in the set now (names starting with `prefix`). */
  current: readonly OwnedRule[];
  /** `<stackId>-dir-`: address rules are `<prefix>000`…, the fallback rule `<prefix>domains`. */
  prefix: string;
  /** Rules the sync may own: the set's limit less the rules of others in it. */
  maxRules: number;
  recipientsPerRule: number;
}

export interface ReceiptRulesPlan {
  /** The sync's rules as they should be, address rules by name, then the fallback rule if any. */
  rules: OwnedRule[];
  create: OwnedRule[];
  update: OwnedRule[];
  /** Names of rules to delete. */
  remove: string[];
  /** Domains SES takes whole (the stack's rule or the fallback rule), and why. */
  domainWide: { domain: string; reason: DomainWideReason }[];
  /** Addresses listed in address rules. */
  addresses: number;
}

const ADDRESS_RULE_DIGITS = 3;

export function fallbackRuleName(prefix: string): string {
  return `${prefix}domains`;
}

/** `<prefix>NNN`, or null for a name that is not one of the sync's address rules. */
function addressRuleNumber(prefix: string, name: string): number | null {
  const tail = name.startsWith(prefix) ? name.slice(prefix.length) : '';
  return new RegExp(`^\\d{${ADDRESS_RULE_DIGITS}}$`).test(tail) ? Number(tail) : null;
}

/**
 * Address rules per the directory: every primary address and alias of a domain that is not
 * taken whole; catch-all domains stay whole (the stack's rule), as do every domain when the
 * separator is not '+' (SES would refuse alice-tag@ that ingest files under alice), and domains
 * that would pass the rule limit (the fallback rule): taking too much is safe, refusing a real
 * address is not.
 */
export function planReceiptRules(input: ReceiptRulesInput): ReceiptRulesPlan {
  const domainWide: ReceiptRulesPlan['domainWide'] = [];
  const byDomain = new Map<string, Set<string>>();
  for (const domain of [...input.domains].sort()) {
    if (input.catchAllDomains.includes(domain)) domainWide.push({ domain, reason: 'catch-all' });
    else if (input.subaddressSeparator !== '+' && input.subaddressSeparator !== '') domainWide.push({ domain, reason: 'separator' });
    else byDomain.set(domain, new Set());
  }
  for (const user of input.users) {
    for (const address of addressesOf(user)) byDomain.get(domainOf(address))?.add(address);
  }

  const perRule = input.recipientsPerRule;
  const fallbackNeeded = () => domainWide.some((entry) => entry.reason !== 'catch-all');
  const fits = (ruleCount: number) => ruleCount + (fallbackNeeded() ? 1 : 0) <= input.maxRules;
  const wanted = () => new Set([...byDomain.values()].flatMap((addresses) => [...addresses]));

  let rules = keepPlaces(input, wanted(), perRule);
  if (!fits(rules.length)) rules = packAnew(input, wanted(), perRule);
  // Beyond the limit even packed tight: whole domains go to the fallback rule, the largest first
  // (fewest domains taken whole), until the rest fits.
  while (!fits(rules.length) && byDomain.size > 0) {
    const [largest] = [...byDomain.entries()].sort(([a, x], [b, y]) => y.size - x.size || a.localeCompare(b))[0]!;
    byDomain.delete(largest);
    domainWide.push({ domain: largest, reason: 'beyond-limits' });
    rules = keepPlaces(input, wanted(), perRule);
    if (!fits(rules.length)) rules = packAnew(input, wanted(), perRule);
  }
  domainWide.sort((a, b) => a.domain.localeCompare(b.domain));

  const target = [...rules];
  const wholeDomains = domainWide.filter((entry) => entry.reason !== 'catch-all').map((entry) => entry.domain);
  if (wholeDomains.length > 0) target.push({ name: fallbackRuleName(input.prefix), recipients: wholeDomains });

  const current = new Map(input.current.map((rule) => [rule.name, rule]));
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
  return {
    rules: target,
    create: target.filter((rule) => !current.has(rule.name)),
    update: target.filter((rule) => current.has(rule.name) && !same(current.get(rule.name)!.recipients, rule.recipients)),
    remove: input.current.filter((rule) => !target.some((kept) => kept.name === rule.name)).map((rule) => rule.name),
    domainWide,
    addresses: rules.reduce((sum, rule) => sum + rule.recipients.length, 0),
  };
}

/** Each wanted address stays in its rule; new ones fill the rules with room, then new rules. */
function keepPlaces(input: ReceiptRulesInput, wanted: Set<string>, perRule: number): OwnedRule[] {
  const placed = new Set<string>();
  const rules: OwnedRule[] = [];
  const existing = input.current
    .map((rule) => ({ rule, number: addressRuleNumber(input.prefix, rule.name) }))
    .filter((entry): entry is { rule: OwnedRule; number: number } => entry.number !== null)
    .sort((a, b) => a.number - b.number);
  for (const { rule } of existing) {
    const kept: string[] = [];
    for (const address of rule.recipients) {
      if (!wanted.has(address) || placed.has(address) || kept.length >= perRule) continue;
      kept.push(address);
      placed.add(address);
    }
    rules.push({ name: rule.name, recipients: kept });
  }
  const fresh = [...wanted].filter((address) => !placed.has(address)).sort();
  for (const rule of rules) {
    while (rule.recipients.length < perRule && fresh.length > 0) rule.recipients.push(fresh.shift()!);
  }
  const used = new Set(existing.map((entry) => entry.number));
  for (let number = 0; fresh.length > 0; number++) {
    if (used.has(number)) continue;
    rules.push({ name: addressRuleName(input.prefix, number), recipients: fresh.splice(0, perRule) });
  }
  return rules.filter((rule) => rule.recipients.length > 0).sort((a, b) => a.name.localeCompare(b.name));
}

/** All wanted addresses sorted into the fewest rules, numbered from 000. */
function packAnew(input: ReceiptRulesInput, wanted: Set<string>, perRule: number): OwnedRule[] {
  const sorted = [...wanted].sort();
  const rules: OwnedRule[] = [];
  for (let start = 0; start < sorted.length; start += perRule) {
    rules.push({ name: addressRuleName(input.prefix, rules.length), recipients: sorted.slice(start, start + perRule) });
  }
  return rules;
}

function addressRuleName(prefix: string, number: number): string {
  return `${prefix}${String(number).padStart(ADDRESS_RULE_DIGITS, '0')}`;
}
