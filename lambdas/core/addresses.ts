// Addresses, the one module for the whole core. Two forms with different jobs:
// normalizeAddress gives the comparison form of any address we are handed (envelope,
// directory, token) and never refuses; parseMailAddress reads an address a user typed
// or a header holds and returns the form we send to, or null when it is not one.
// The checks go from loose to strict: hasAddressShape, isMailAddress (the directory),
// parseMailAddress (sending); fitsSmtpPath only guards an SMTP command.
import { domainToASCII } from 'node:url';
import type { DirectoryUser } from './model.ts';
import { hasLineBreakOrNul } from './text.ts';

/** The comparison form of an address: trimmed, angle brackets removed, lower case. Never refuses. */
export function normalizeAddress(address: string): string {
  return address
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .trim()
    .toLowerCase();
}

/** Domain part of an address in comparison form, or '' when there is none. */
export function domainOf(address: string): string {
  const normalized = normalizeAddress(address);
  const at = normalized.lastIndexOf('@');
  return at < 0 ? '' : normalized.slice(at + 1);
}

/** Envelope recipients without duplicates that differ only in case, first spelling kept. */
export function uniqueRecipients(recipients: readonly string[]): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const recipient of recipients) {
    const key = normalizeAddress(recipient);
    if (key === '' || seen.has(key)) continue;
    seen.add(key);
    result.push(recipient.trim());
  }
  return result;
}

/** The address inside a header mailbox such as `"Name" <a@b>` (comparison form). */
export function addressOfMailbox(mailbox: string): string {
  const angle = /<([^>]*)>\s*$/.exec(mailbox);
  return normalizeAddress(angle?.[1] ?? mailbox);
}

/** Message-IDs compare without angle brackets and case-insensitively. */
export function normalizeMessageId(messageId: string): string {
  return messageId
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .trim()
    .toLowerCase();
}

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
const LOCAL_PART = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);
const DOMAIN_INPUT = /^[\p{L}\p{M}\p{N}.-]+$/u;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * The address in the form we send to: ASCII dot-atom local part (SES has no SMTPUTF8),
 * domain converted to A-labels and lower-cased; null when it is not a deliverable
 * Internet address (no quoted local parts, domain literals, comments or bare names).
 * The input is taken as it is: callers trim what a user typed.
 */
export function parseMailAddress(input: string): string | null {
  const at = input.lastIndexOf('@');
  if (at <= 0 || at === input.length - 1) return null;
  const local = input.slice(0, at);
  const domain = input.slice(at + 1).replace(/\.$/, '');
  if (local.length > 64 || !LOCAL_PART.test(local)) return null;
  if (!DOMAIN_INPUT.test(domain)) return null;
  const ascii = domainToASCII(domain);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label)) || !TOP_LABEL.test(labels.at(-1)!)) return null;
  const address = `${local}@${ascii}`;
  return address.length <= 254 ? address : null;
}

/**
 * The comparison form of an address a user typed or a header holds: the parsed form
 * when it parses (so an IDN domain matches its A-label spelling), else normalizeAddress.
 */
export function mailAddressKey(address: string): string {
  return normalizeAddress(parseMailAddress(address.trim()) ?? address);
}

const DIRECTORY_ADDRESS = /^[^@\s<>(),;:"\\[\]]+@[^@\s<>(),;:"\\[\]]+\.[^@\s<>(),;:"\\[\]]+$|^[^@\s<>(),;:"\\[\]]+@localhost$/;
/** RFC 5321 limit on a path; longer values cannot be SMTP addresses. */
const MAX_ADDRESS_LENGTH = 254;

/**
 * Whether a value in comparison form can be an SMTP address the directory maps: no
 * blanks or specials, a dotted domain or localhost. Looser than parseMailAddress
 * (non-ASCII passes), stricter than hasAddressShape.
 */
export function isMailAddress(address: string): boolean {
  return address.length <= MAX_ADDRESS_LENGTH && DIRECTORY_ADDRESS.test(address);
}

/** True when the value has an address's shape, `local@domain` without blanks: no more is checked. */
export function hasAddressShape(value: string): boolean {
  return /^[^@\s]+@[^@\s]+$/.test(value);
}

/**
 * True when the address can stand between the angle brackets of an SMTP path
 * (`MAIL FROM:<…>`, `RCPT TO:<…>`) without ending the command or the path early.
 */
export function fitsSmtpPath(address: string): boolean {
  return !hasLineBreakOrNul(address) && !/[<>]/.test(address);
}

/** Where ingest looks an envelope recipient up and files it. */
export interface EnvelopeRecipient {
  /** Comparison form, a quoted local part unquoted when what it quotes is a plain dot-atom. */
  address: string;
  /** Directory keys to try in order; none when the local part holds `%`. */
  lookups: string[];
  /** The mailbox when the directory knows none of the lookups (as for any unknown recipient). */
  fallback: string;
}

const QUOTED_LOCAL = /^"((?:[^"\\]|\\.)*)"$/;

/**
 * An envelope recipient in its normal form. `"alice"@d` is alice@d (RFC 5322 §3.2.4: the
 * quotes and a quoted-pair's backslash are not part of the content), kept as it is when
 * the content is not a dot-atom. `local<sep>tag@d` falls back to local@d when local<sep>tag is
 * not in the directory itself (separator '' = off). A `%` in the local part is the old
 * source-routing hack (RFC 1123 §5.2.16): never looked up, so no one can reach a mailbox
 * through it; the message is filed under the address itself, like any unknown recipient.
 */
export function envelopeRecipient(recipient: string, separator: string): EnvelopeRecipient {
  const normalized = normalizeAddress(recipient);
  const at = normalized.lastIndexOf('@');
  if (at <= 0) return { address: normalized, lookups: [normalized], fallback: normalized };
  const domain = normalized.slice(at);
  let local = normalized.slice(0, at);
  const quoted = QUOTED_LOCAL.exec(local);
  const content = quoted?.[1]?.replace(/\\(.)/g, '$1');
  if (content !== undefined && content.length <= 64 && LOCAL_PART.test(content)) local = content;
  const address = `${local}${domain}`;
  if (local.includes('%')) return { address, lookups: [], fallback: address };
  const cut = separator === '' || local.startsWith('"') ? -1 : local.indexOf(separator);
  if (cut <= 0) return { address, lookups: [address], fallback: address };
  const base = `${local.slice(0, cut)}${domain}`;
  return { address, lookups: [address, base], fallback: base };
}

/** Every address that reaches a directory user's mailbox, primary first. */
export function addressesOf(user: Pick<DirectoryUser, 'mailbox' | 'aliases'>): string[] {
  return [user.mailbox, ...user.aliases];
}
