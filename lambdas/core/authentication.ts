// Whether a received message comes from whom it claims: SPF, DKIM and DMARC as SES (or local
// mode's authenticator) judged them, and a From that names one of our own domains without
// having authenticated as ours (the favourite disguise when the company's mail is down).
// Ingest stores the outcome with the message and each mailbox entry, so the message page
// and the folder list warn without the verdicts or the headers at hand.
import { domainOf } from './addresses.ts';
import type { AuthenticationWarning, Verdicts } from './model.ts';

export type AuthenticationVerdicts = Pick<Verdicts, 'spf' | 'dkim' | 'dmarc'>;

export interface AuthenticationInput {
  verdicts: AuthenticationVerdicts;
  /** The From header's mailboxes as the summary keeps them: `Name <a@b>` or `a@b`. */
  from: string[];
  /** The domains we receive mail for (lower case); subdomains count as ours too. */
  ownDomains: string[];
}

const CHECKS = ['spf', 'dkim', 'dmarc'] as const;

/** The warnings for one received message, in a fixed order; empty when nothing is wrong. */
export function authenticationWarnings(input: AuthenticationInput): AuthenticationWarning[] {
  const warnings: AuthenticationWarning[] = CHECKS.filter((check) => input.verdicts[check] === 'FAIL');
  if (claimsOwnDomain(input.from, input.ownDomains) && !authenticatedAsOwn(input)) warnings.push('own-domain');
  return warnings;
}

function isOwn(domain: string, ownDomains: string[]): boolean {
  const name = domain.toLowerCase().replace(/\.+$/, '');
  return ownDomains.some((own) => name === own || name.endsWith(`.${own}`));
}

/** Every `@domain` in the From header, display names included: `"ceo@example.com" <x@evil.test>` claims example.com. */
function claimsOwnDomain(from: string[], ownDomains: string[]): boolean {
  return from.some((mailbox) => [...mailbox.matchAll(/@([^\s<>"@,;]+)/g)].some((match) => isOwn(match[1]!, ownDomains)));
}

/** The address part of `Name <a@b>` or `a@b`. */
function addressOf(mailbox: string): string {
  const angle = /<([^<>]*)>\s*$/.exec(mailbox);
  return (angle ? angle[1]! : mailbox).trim();
}

/**
 * DMARC passed, so the From domain is the one that authenticated (SPF or DKIM aligned with it),
 * and that domain is ours: a single From mailbox (DMARC judges one) whose address is at our domain.
 */
function authenticatedAsOwn(input: AuthenticationInput): boolean {
  if (input.verdicts.dmarc !== 'PASS' || input.from.length !== 1) return false;
  return isOwn(domainOf(addressOf(input.from[0]!)), input.ownDomains);
}

/** The domains a received message was addressed to: every envelope recipient is at one of ours. */
export function recipientDomains(recipients: string[]): string[] {
  return [...new Set(recipients.map((recipient) => domainOf(recipient)).filter((domain) => domain !== ''))];
}
