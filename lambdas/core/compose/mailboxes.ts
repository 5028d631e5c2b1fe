// Mailboxes (display name + address) as a user types them into an address field, as a
// received message's header holds them, and as the form shows them again.
import type { Identity } from '../../ports/sign-in.ts';
import { parseMailAddress } from '../addresses.ts';
import { hasControlCharacters, headerSafeLine } from '../text.ts';
import { DraftError, type Mailbox } from './draft.ts';

/**
 * One mailbox as a header shows it or a user types it: `a@b`, `<a@b>`,
 * `Name <a@b>`, `"Name, with specials" <a@b>`. Null when the address is not valid.
 * The name is returned as given (after unquoting); validateDraft judges it.
 */
export function parseMailbox(text: string): Mailbox | null {
  const trimmed = text.trim();
  const angle = /^([^<>]*)<([^<>]*)>$/s.exec(trimmed);
  if (!angle) {
    const address = parseMailAddress(trimmed);
    return address ? { name: '', address } : null;
  }
  const address = parseMailAddress(angle[2]!.trim());
  if (!address) return null;
  const rawName = angle[1]!.trim();
  const quoted = /^"((?:[^"\\]|\\.)*)"$/s.exec(rawName);
  // A quote that opens and never closes is a typo, not a name.
  if (!quoted && rawName.startsWith('"')) return null;
  const name = quoted ? quoted[1]!.replace(/\\(.)/gs, '$1') : rawName;
  return { name, address };
}

/**
 * A user's address field: mailboxes separated by commas or semicolons (commas inside
 * quotes or angle brackets do not separate). Throws DraftError naming the field.
 */
export function parseAddressList(input: string, field: 'to' | 'cc' | 'bcc'): Mailbox[] {
  // Tabs pass here (around an entry they are trimmed away); validateDraft judges what is left.
  if (hasControlCharacters(input.replace(/\t/g, ' '))) {
    throw new DraftError(field, 'control-characters', 'line breaks and control characters are not allowed');
  }
  return splitAddressList(input).map((item) => {
    const mailbox = parseMailbox(item);
    if (!mailbox) throw new DraftError(field, 'invalid-address', `not a valid address: ${JSON.stringify(item)}`);
    return mailbox;
  });
}

function splitAddressList(input: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let escaped = false;
  let inAngle = false;
  for (const ch of input) {
    if (escaped) {
      escaped = false;
    } else if (quoted) {
      if (ch === '\\') escaped = true;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === '<') {
      inAngle = true;
    } else if (ch === '>') {
      inAngle = false;
    } else if ((ch === ',' || ch === ';') && !inAngle) {
      items.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  items.push(current);
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/** A mailbox as the address field of the form shows it; parseMailbox reads it back. */
export function formatMailbox(mailbox: Mailbox): string {
  const name = mailbox.name.trim();
  if (name === '') return mailbox.address;
  const quoted = /[()<>[\]:;@\\,."]/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : name;
  return `${quoted} <${mailbox.address}>`;
}

export function formatAddressList(mailboxes: readonly Mailbox[]): string {
  return mailboxes.map(formatMailbox).join(', ');
}

/** Mailboxes of a received message's header; unusable ones are dropped, names neutralized. */
export function headerMailboxes(values: readonly string[]): Mailbox[] {
  const result: Mailbox[] = [];
  for (const text of values) {
    const mailbox = parseMailbox(text);
    if (mailbox) result.push({ name: headerSafeLine(mailbox.name), address: mailbox.address });
  }
  return result;
}

/** The signed-in user as the sender; DraftError when their address cannot send mail. */
export function identityMailbox(identity: Identity): Mailbox {
  const address = parseMailAddress(identity.email.trim());
  if (!address) throw new DraftError('from', 'invalid-address', `the signed-in address ${JSON.stringify(identity.email)} cannot send mail`);
  return { name: headerSafeLine(identity.name), address };
}
