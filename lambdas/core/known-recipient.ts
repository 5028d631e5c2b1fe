// The one definition of a recipient we know (issue 17, "refuse at the door"): what local
// mode's SMTP listener asks at RCPT TO, what the receipt rules' recipient lists are made
// of in AWS and what a non-delivery report can lean on. It reads the address map the
// directory sync writes, with the lookups ingest files mail by (envelopeRecipient), so
// whatever the door lets in has a mailbox, and whatever has a mailbox gets in.
import type { AddressMap } from '../ports/address-map.ts';
import type { DirectoryLookup } from '../ports/directory.ts';
import { domainOf, envelopeRecipient } from './addresses.ts';

export interface RecipientPolicy {
  /** The subaddress separator (`alice+tag` → `alice`); '' turns the rule off. */
  subaddressSeparator: string;
  /** Domains (comparison form) whose every address is taken, as Exchange's catch-all would. */
  catchAllDomains: readonly string[];
}

export interface RecipientCheckDeps {
  addresses: AddressMap;
  directory: Pick<DirectoryLookup, 'hasSynced'>;
}

/** Why a recipient is taken or refused, for the SMTP reply and the log. */
export type RecipientVerdict = 'known' | 'postmaster' | 'catch-all' | 'no-directory' | 'unknown';

/**
 * RFC 5321 §4.5.1: every domain's postmaster must be accepted, whatever the directory
 * says; the primary (Exchange) decides where it goes.
 */
export function isPostmaster(address: string): boolean {
  const normalized = envelopeRecipient(address, '').address;
  return normalized.slice(0, normalized.lastIndexOf('@')) === 'postmaster';
}

/**
 * The verdict on one envelope recipient of one of our domains. Refused ('unknown') only
 * once a directory is in force (a sync or import has finished, demo mode's counts) and
 * the address is neither in it (primary, alias, shared mailbox, `+tag` of one) nor a
 * postmaster nor in a catch-all domain. A `%` local part is never looked up: unknown.
 */
export async function recipientVerdict(recipient: string, deps: RecipientCheckDeps, policy: RecipientPolicy): Promise<RecipientVerdict> {
  if (policy.catchAllDomains.includes(domainOf(recipient))) return 'catch-all';
  if (isPostmaster(recipient)) return 'postmaster';
  if (!(await deps.directory.hasSynced())) return 'no-directory';
  for (const lookup of envelopeRecipient(recipient, policy.subaddressSeparator).lookups) {
    if ((await deps.addresses.mailboxFor(lookup)) !== null) return 'known';
  }
  return 'unknown';
}

/** True unless the verdict refuses the recipient. */
export async function isKnownRecipient(recipient: string, deps: RecipientCheckDeps, policy: RecipientPolicy): Promise<boolean> {
  return (await recipientVerdict(recipient, deps, policy)) !== 'unknown';
}
