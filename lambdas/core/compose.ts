// Use cases of the webmail's outgoing mail: drafts for reply, reply-all and forward;
// validation of what a user submits; sending with a copy kept in the Sent folder.
//
// Header injection is ruled out twice. By construction: the composer port takes
// mailboxes as name + address and plain strings that it encodes itself, and never
// sees Bcc. By validation: every header-bound value (addresses, names, subject,
// filenames, content types, message ids) is checked here, and anything holding a
// line break, NUL or another control character is refused with a DraftError that
// names the field; values taken from a received message are neutralized instead.
import { randomUUID } from 'node:crypto';
import { pipeline, type Readable, Transform } from 'node:stream';
import { domainToASCII } from 'node:url';
import type { Clock } from '../ports/clock.ts';
import type { MessageIndex } from '../ports/message-index.ts';
import type { MessageRenderer, RenderedMessage } from '../ports/message-renderer.ts';
import type { MimeAttachment, MimeComposer } from '../ports/mime-composer.ts';
import type { OutboundMailer } from '../ports/outbound-mailer.ts';
import type { RawMailStore, RawMailWriter } from '../ports/raw-mail-store.ts';
import type { Identity } from '../ports/sign-in.ts';
import { normalizeAddress } from './addresses.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import type { AttachmentInfo, MailboxEntry, MessageRecord, MessageSummary, RawLocation } from './model.ts';
import { expiresAtFor } from './retention.ts';

// ---------------------------------------------------------------------------------------
// Vocabulary

export interface Mailbox {
  /** Display name, plain text, may be empty. */
  name: string;
  /** addr-spec: ASCII local part, domain in A-label (punycode) form. */
  address: string;
}

/** A file the user uploaded with the form. */
export interface UploadedAttachment {
  kind: 'upload';
  filename: string;
  contentType: string;
  content: Buffer;
}

/**
 * An attachment of a stored message, streamed from the raw message at send time and
 * never buffered in the draft. filename / contentType / size are display hints: what
 * is sent is what the stored message holds.
 */
export interface StoredAttachment {
  kind: 'stored';
  sesMessageId: string;
  /** RenderedAttachment.index of the stored message. */
  index: number;
  filename?: string;
  contentType?: string;
  size?: number;
}

/**
 * A file the browser uploaded to the draft store beforehand (around the webmail
 * function: see core/drafts.ts). Streamed at send time, its bytes counted against
 * the limit as they come (the listed size is checked first).
 */
export interface StagedAttachment {
  kind: 'staged';
  /** As the browser named it; made header-safe here, not refused (the user cannot rename it). */
  filename: string;
  contentType: string;
  size: number;
  open(): Promise<Readable>;
}

export type DraftAttachment = UploadedAttachment | StoredAttachment | StagedAttachment;

export interface Draft {
  /** Always the signed-in user's own address (validateDraft sets it from the Identity). */
  from: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  subject: string;
  text: string;
  attachments: DraftAttachment[];
  /** `<id>` of the message answered, or null. */
  inReplyTo?: string | null;
  /** `<id>`s, oldest first. */
  references?: string[];
}

export type DraftField = 'from' | 'to' | 'cc' | 'bcc' | 'recipients' | 'subject' | 'text' | 'attachments' | 'inReplyTo' | 'references';

export type DraftProblem =
  | 'required'
  | 'invalid-address'
  | 'invalid-message-id'
  | 'control-characters'
  | 'too-many'
  | 'too-long'
  | 'too-large';

/** A draft the user has to correct: the field and a problem code for a translated message. */
export class DraftError extends InvalidInputError {
  constructor(
    readonly field: DraftField,
    readonly problem: DraftProblem,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface ComposeLimits {
  /** To + Cc + Bcc after removing duplicates. */
  maxRecipients: number;
  /** Unicode code points (RFC 5322 §2.1.1 line limit as a sane ceiling). */
  maxSubjectLength: number;
  maxNameLength: number;
  /**
   * UTF-16 code units of the body text. At most 3 UTF-8 bytes each, so the whole form
   * stays within the request body the webmail accepts (payload-limits.ts).
   */
  maxTextLength: number;
  maxAttachments: number;
  /**
   * Decoded bytes of all attachments together: 25 MB, decimal as sizes are shown to
   * users; base64 makes it 33.4 MB, which leaves room for the text within the 40 MB SES
   * takes for a message.
   */
  maxAttachmentBytes: number;
  maxFilenameLength: number;
  /** The composed message; SES v2 takes at most 40 MB raw. */
  maxMessageBytes: number;
  /** Message ids kept in References (the first and the most recent ones). */
  maxReferences: number;
}

export const DEFAULT_COMPOSE_LIMITS: ComposeLimits = {
  maxRecipients: 100,
  maxSubjectLength: 998,
  maxNameLength: 200,
  maxTextLength: 1_000_000,
  maxAttachments: 50,
  maxAttachmentBytes: 25_000_000,
  maxFilenameLength: 255,
  maxMessageBytes: 40 * 1000 * 1000,
  maxReferences: 20,
};

// ---------------------------------------------------------------------------------------
// Addresses

// C0 controls (CR, LF, NUL, TAB, ...), DEL, C1 controls and the Unicode line separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_RUNS = /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
const LOCAL_PART = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);
const DOMAIN_INPUT = /^[\p{L}\p{M}\p{N}.-]+$/u;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * The address in the form we send to: ASCII dot-atom local part (SES has no SMTPUTF8),
 * domain converted to A-labels and lower-cased; null when it is not a deliverable
 * Internet address (no quoted local parts, domain literals, comments or bare names).
 */
export function normalizeMailAddress(input: string): string | null {
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

/** Comparison form of an address: normalized when possible, always lower case. */
function addressKey(address: string): string {
  return (normalizeMailAddress(address.trim()) ?? normalizeAddress(address)).toLowerCase();
}

/**
 * One mailbox as a header shows it or a user types it: `a@b`, `<a@b>`,
 * `Name <a@b>`, `"Name, with specials" <a@b>`. Null when the address is not valid.
 * The name is returned as given (after unquoting); validateDraft judges it.
 */
export function parseMailbox(text: string): Mailbox | null {
  const trimmed = text.trim();
  const angle = /^([^<>]*)<([^<>]*)>$/s.exec(trimmed);
  if (!angle) {
    const address = normalizeMailAddress(trimmed);
    return address ? { name: '', address } : null;
  }
  const address = normalizeMailAddress(angle[2]!.trim());
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
  if (CONTROL.test(input.replace(/\t/g, ' '))) {
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

/** For values that come from a received message or the token: never refused, made harmless. */
function neutralize(text: string): string {
  return text.replace(CONTROL_RUNS, ' ').trim();
}

/** Mailboxes of a received message's header; unusable ones are dropped, names neutralized. */
function mailboxesOf(headerMailboxes: readonly string[]): Mailbox[] {
  const result: Mailbox[] = [];
  for (const text of headerMailboxes) {
    const mailbox = parseMailbox(text);
    if (mailbox) result.push({ name: neutralize(mailbox.name), address: mailbox.address });
  }
  return result;
}

function identityMailbox(identity: Identity): Mailbox {
  const address = normalizeMailAddress(identity.email.trim());
  if (!address) throw new DraftError('from', 'invalid-address', `the signed-in address ${JSON.stringify(identity.email)} cannot send mail`);
  return { name: neutralize(identity.name), address };
}

// ---------------------------------------------------------------------------------------
// Message ids

const MSG_ID = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@[\]:-]{1,250}$/;

/** `<id>` for a valid message id (with or without brackets), else null. */
export function normalizeMessageIdToken(value: string): string | null {
  const bare = value.trim().replace(/^<(.*)>$/s, '$1');
  return MSG_ID.test(bare) ? `<${bare}>` : null;
}

/** The ids of a References / In-Reply-To value or list, valid ones only. */
function messageIdsIn(values: readonly string[]): string[] {
  const ids: string[] = [];
  for (const value of values) {
    const bracketed = [...value.matchAll(/<([^<>]*)>/g)].map((m) => m[1]!);
    for (const token of bracketed.length > 0 ? bracketed : value.split(/\s+/)) {
      const id = normalizeMessageIdToken(token);
      if (id) ids.push(id);
    }
  }
  return ids;
}

/** Keeps the thread root and the most recent ids, no duplicates (common practice for RFC 5322 §3.6.4). */
export function trimReferences(ids: readonly string[], max: number): string[] {
  const seen = new Set<string>();
  const unique = ids.filter((id) => {
    const key = id.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length <= max) return unique;
  return max <= 1 ? unique.slice(-max) : [unique[0]!, ...unique.slice(-(max - 1))];
}

// ---------------------------------------------------------------------------------------
// Subjects and quoting

const REPLY_PREFIX = /^\s*(?:re|aw|antw|sv)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*/i;
const FORWARD_PREFIX = /^\s*(?:fwd?|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*/i;

function stripPrefixes(subject: string, prefix: RegExp): string {
  let rest = subject;
  for (let i = 0; i < 50 && prefix.test(rest); i++) rest = rest.replace(prefix, '');
  return rest.trim();
}

/** "Re: " exactly once, whatever reply prefixes (Re:, RE:, AW:, Re[2]:) were there. */
export function replySubject(subject: string): string {
  return `Re: ${stripPrefixes(neutralize(subject), REPLY_PREFIX)}`.trimEnd();
}

/** "Fwd: " exactly once (Fwd:, FW:, WG: recognized). */
export function forwardSubject(subject: string): string {
  return `Fwd: ${stripPrefixes(neutralize(subject), FORWARD_PREFIX)}`.trimEnd();
}

interface Phrases {
  wrote(date: string | null, from: string): string;
  forwarded: string;
  subject: string;
  date: string;
  from: string;
  to: string;
  cc: string;
  unknownSender: string;
}

const PHRASES: Record<'en' | 'de', Phrases> = {
  en: {
    wrote: (date, from) => (date ? `On ${date}, ${from} wrote:` : `${from} wrote:`),
    forwarded: '-------- Forwarded Message --------',
    subject: 'Subject',
    date: 'Date',
    from: 'From',
    to: 'To',
    cc: 'Cc',
    unknownSender: 'unknown sender',
  },
  de: {
    wrote: (date, from) => (date ? `Am ${date} schrieb ${from}:` : `${from} schrieb:`),
    forwarded: '-------- Weitergeleitete Nachricht --------',
    subject: 'Betreff',
    date: 'Datum',
    from: 'Von',
    to: 'An',
    cc: 'Kopie',
    unknownSender: 'unbekannter Absender',
  },
};

export interface TextOptions {
  /** Browser language (e.g. "de-DE"); German for "de…", English otherwise. */
  locale?: string;
  /** IANA zone for dates in quoted text (default UTC). */
  timeZone?: string;
}

function phrasesFor(locale: string | undefined): Phrases {
  return locale?.toLowerCase().startsWith('de') ? PHRASES.de : PHRASES.en;
}

function formatDate(iso: string | null, options: TextOptions): string | null {
  if (!iso || Number.isNaN(Date.parse(iso))) return null;
  const locale = options.locale?.toLowerCase().startsWith('de') ? 'de-DE' : 'en-GB';
  try {
    return new Intl.DateTimeFormat(locale, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
      timeZone: options.timeZone ?? 'UTC',
    }).format(new Date(iso));
  } catch {
    return iso;
  }
}

/**
 * The most of a received message's text a reply quotes or a forward carries: half the
 * text limit, so the draft can still be sent and its page stays far below the limit
 * of a webmail response (payload-limits.ts) even when every character needs escaping.
 */
export const MAX_QUOTED_CHARS = DEFAULT_COMPOSE_LIMITS.maxTextLength / 2;

/** The text cut at MAX_QUOTED_CHARS (whole code points), with a mark where it was cut. */
function clipQuoted(text: string): string {
  if (text.length <= MAX_QUOTED_CHARS) return text;
  const cut = /[\uD800-\uDBFF]$/.test(text.slice(0, MAX_QUOTED_CHARS)) ? MAX_QUOTED_CHARS - 1 : MAX_QUOTED_CHARS;
  return `${text.slice(0, cut)}\n[…]\n`;
}

/** "> " before every line; already quoted lines get one more ">". */
export function quoteText(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  return lines.map((line) => (line === '' ? '>' : line.startsWith('>') ? `>${line}` : `> ${line}`)).join('\n');
}

function senderLabel(original: RenderedMessage, phrases: Phrases): string {
  const mailbox = mailboxesOf(original.from)[0];
  if (mailbox) return formatMailbox(mailbox);
  const raw = neutralize(original.from[0] ?? '');
  return raw || phrases.unknownSender;
}

// ---------------------------------------------------------------------------------------
// Drafts

export interface ReplyOptions extends TextOptions {
  all: boolean;
  /**
   * The user's addresses besides identity.email (all aliases of their mailbox), kept
   * out of a reply-all; see ownAddressesIn. Compared case-insensitively.
   */
  ownAddresses?: Iterable<string>;
}

/**
 * Reply / reply all. To: Reply-To, else From (the recipients instead when the
 * original is the user's own message). Reply all adds the original To to To and
 * keeps Cc as Cc, without the user's own addresses and without duplicates.
 */
export function replyDraft(original: RenderedMessage, identity: Identity, options: ReplyOptions): Draft {
  const own = new Set([identity.email, ...(options.ownAddresses ?? [])].map(addressKey));
  const isOwn = (mailbox: Mailbox) => own.has(addressKey(mailbox.address));
  const sender = mailboxesOf(original.replyTo.length > 0 ? original.replyTo : original.from);
  const originalTo = mailboxesOf(original.to);
  const ownMessage = sender.length > 0 && sender.every(isOwn);

  const seen = new Set<string>();
  const fresh = (mailbox: Mailbox, allowOwn = false): boolean => {
    const key = addressKey(mailbox.address);
    if (seen.has(key) || (!allowOwn && own.has(key))) return false;
    seen.add(key);
    return true;
  };
  let to = (ownMessage ? originalTo : sender).filter((m) => fresh(m));
  if (options.all && !ownMessage) to.push(...originalTo.filter((m) => fresh(m)));
  const cc = options.all ? mailboxesOf(original.cc).filter((m) => fresh(m)) : [];
  // A note to self: answering it goes back to the user.
  if (to.length === 0 && cc.length === 0) to = sender.filter((m) => fresh(m, true));

  const phrases = phrasesFor(options.locale);
  const attribution = phrases.wrote(formatDate(original.date, options), senderLabel(original, phrases));
  const parent = original.messageIdHeader ? normalizeMessageIdToken(original.messageIdHeader) : null;
  // RFC 5322 §3.6.4: the parent's References (or its single In-Reply-To) plus the parent's id.
  let chain = messageIdsIn(original.references);
  if (chain.length === 0 && original.inReplyTo) {
    const inReplyTo = messageIdsIn([original.inReplyTo]);
    if (inReplyTo.length === 1) chain = inReplyTo;
  }
  if (parent) chain.push(parent);

  return {
    from: identityMailbox(identity),
    to,
    cc,
    bcc: [],
    subject: replySubject(original.subject),
    text: `\n\n${attribution}\n${quoteText(clipQuoted(original.text ?? ''))}\n`,
    attachments: [],
    inReplyTo: parent,
    references: trimReferences(chain, DEFAULT_COMPOSE_LIMITS.maxReferences),
  };
}

export interface ForwardOptions extends TextOptions {
  /** The stored message being forwarded: its attachments are streamed from it at send time. */
  sesMessageId: string;
}

/**
 * Forward: empty recipients, "Fwd:", a block of the original headers, the original
 * text, and the original attachments as stored sources (inline parts that only
 * belong to the HTML body, i.e. with a Content-ID, are left out). Not a reply:
 * no In-Reply-To, no References.
 */
export function forwardDraft(original: RenderedMessage, identity: Identity, options: ForwardOptions): Draft {
  const phrases = phrasesFor(options.locale);
  const list = (mailboxes: readonly string[]) => formatAddressList(mailboxesOf(mailboxes));
  const lines = [phrases.forwarded, `${phrases.subject}: ${neutralize(original.subject)}`];
  const date = formatDate(original.date, options);
  if (date) lines.push(`${phrases.date}: ${date}`);
  lines.push(`${phrases.from}: ${senderLabel(original, phrases)}`);
  if (original.to.length > 0) lines.push(`${phrases.to}: ${list(original.to)}`);
  if (original.cc.length > 0) lines.push(`${phrases.cc}: ${list(original.cc)}`);

  const attachments: StoredAttachment[] = original.attachments
    .filter((attachment) => !(attachment.inline && attachment.contentId))
    .map((attachment) => ({
      kind: 'stored',
      sesMessageId: options.sesMessageId,
      index: attachment.index,
      filename: attachment.filename,
      contentType: attachment.contentType,
      size: attachment.size,
    }));

  const body = clipQuoted(original.text ?? '').replace(/\r\n?/g, '\n');
  return {
    from: identityMailbox(identity),
    to: [],
    cc: [],
    bcc: [],
    subject: forwardSubject(original.subject),
    text: `\n\n${lines.join('\n')}\n\n${body}${body.endsWith('\n') ? '' : '\n'}`,
    attachments,
    inReplyTo: null,
    references: [],
  };
}

/** What the compose form posts, as strings; the page adds the uploaded files. */
export interface ComposeForm {
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  text?: string;
  /** Hidden field of a reply form. */
  inReplyTo?: string;
  /** Hidden field of a reply form: ids separated by spaces. */
  references?: string;
  uploads?: { filename: string; contentType: string; content: Buffer }[];
  /** Files uploaded to the draft store for this draft. */
  staged?: Omit<StagedAttachment, 'kind'>[];
  /** Attachments of a stored message the user kept when forwarding. */
  stored?: { sesMessageId: string; index: number }[];
}

/** The form as a Draft; throws DraftError for address fields that do not parse. */
export function draftFromForm(identity: Identity, form: ComposeForm): Draft {
  const inReplyTo = form.inReplyTo?.trim() ?? '';
  const references = form.references?.trim() ?? '';
  return {
    from: identityMailbox(identity),
    to: parseAddressList(form.to ?? '', 'to'),
    cc: parseAddressList(form.cc ?? '', 'cc'),
    bcc: parseAddressList(form.bcc ?? '', 'bcc'),
    subject: form.subject ?? '',
    text: form.text ?? '',
    attachments: [
      ...(form.stored ?? []).map(
        (source): StoredAttachment => ({ kind: 'stored', sesMessageId: source.sesMessageId, index: source.index }),
      ),
      ...(form.uploads ?? []).map((upload): UploadedAttachment => ({ kind: 'upload', ...upload })),
      ...(form.staged ?? []).map((upload): StagedAttachment => ({ kind: 'staged', ...upload })),
    ],
    inReplyTo: inReplyTo === '' ? null : inReplyTo,
    references: references === '' ? [] : references.split(/\s+/),
  };
}

// ---------------------------------------------------------------------------------------
// Validation

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
const STORED_ID = /^[A-Za-z0-9._:@+=-]{1,256}$/;

function checkHeaderText(field: DraftField, value: string, what: string): void {
  if (CONTROL.test(value)) throw new DraftError(field, 'control-characters', `${what} must not contain line breaks or control characters`);
}

function validMailboxes(field: 'to' | 'cc' | 'bcc', mailboxes: readonly Mailbox[], limits: ComposeLimits): Mailbox[] {
  return mailboxes.map((mailbox) => {
    if (typeof mailbox?.address !== 'string' || typeof mailbox.name !== 'string') {
      throw new DraftError(field, 'invalid-address', 'malformed recipient');
    }
    checkHeaderText(field, mailbox.address, 'an address');
    checkHeaderText(field, mailbox.name, 'a name');
    const address = normalizeMailAddress(mailbox.address.trim());
    if (!address) throw new DraftError(field, 'invalid-address', `not a valid address: ${JSON.stringify(mailbox.address)}`);
    const name = mailbox.name.trim();
    if ([...name].length > limits.maxNameLength)
      throw new DraftError(field, 'too-long', `a name is longer than ${limits.maxNameLength} characters`);
    return { name, address };
  });
}

/** The final element of a path the browser may have sent, control characters refused. */
function validFilename(filename: string, limits: ComposeLimits): string {
  if (typeof filename !== 'string') throw new DraftError('attachments', 'required', 'an attachment has no file name');
  checkHeaderText('attachments', filename, 'a file name');
  const base = filename.split(/[/\\]/).pop()!.trim();
  if (base === '' || base === '.' || base === '..') throw new DraftError('attachments', 'required', 'an attachment has no file name');
  if ([...base].length > limits.maxFilenameLength) {
    throw new DraftError('attachments', 'too-long', `a file name is longer than ${limits.maxFilenameLength} characters`);
  }
  return base;
}

/** type/subtype in lower case; anything else (parameters, junk) becomes application/octet-stream. */
export function safeContentType(contentType: string | undefined): string {
  const bare = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return CONTENT_TYPE.test(bare) ? bare : 'application/octet-stream';
}

/**
 * Checks and normalizes a draft: From set from the identity, addresses validated and
 * normalized, duplicates removed (To before Cc before Bcc), limits enforced, message
 * ids bracketed, References trimmed. Throws DraftError naming the field.
 */
export function validateDraft(draft: Draft, identity: Identity, limits: ComposeLimits = DEFAULT_COMPOSE_LIMITS): Draft {
  const from = identityMailbox(identity);
  const seen = new Set<string>();
  const unique = (mailboxes: Mailbox[]) =>
    mailboxes.filter((mailbox) => {
      const key = mailbox.address.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const to = unique(validMailboxes('to', draft.to ?? [], limits));
  const cc = unique(validMailboxes('cc', draft.cc ?? [], limits));
  const bcc = unique(validMailboxes('bcc', draft.bcc ?? [], limits));
  const count = to.length + cc.length + bcc.length;
  if (count === 0) throw new DraftError('recipients', 'required', 'at least one recipient is needed');
  if (count > limits.maxRecipients) throw new DraftError('recipients', 'too-many', `at most ${limits.maxRecipients} recipients`);

  const subject = typeof draft.subject === 'string' ? draft.subject : '';
  checkHeaderText('subject', subject, 'the subject');
  if ([...subject].length > limits.maxSubjectLength) {
    throw new DraftError('subject', 'too-long', `the subject is longer than ${limits.maxSubjectLength} characters`);
  }
  const text = typeof draft.text === 'string' ? draft.text : '';
  if (text.length > limits.maxTextLength)
    throw new DraftError('text', 'too-long', `the text is longer than ${limits.maxTextLength} characters`);

  let inReplyTo: string | null = null;
  if (draft.inReplyTo) {
    checkHeaderText('inReplyTo', draft.inReplyTo, 'In-Reply-To');
    inReplyTo = normalizeMessageIdToken(draft.inReplyTo);
    if (!inReplyTo) throw new DraftError('inReplyTo', 'invalid-message-id', 'not a message id');
  }
  const references = (draft.references ?? []).map((value) => {
    checkHeaderText('references', value, 'References');
    const id = normalizeMessageIdToken(value);
    if (!id) throw new DraftError('references', 'invalid-message-id', `not a message id: ${JSON.stringify(value)}`);
    return id;
  });

  const attachments = draft.attachments ?? [];
  if (attachments.length > limits.maxAttachments)
    throw new DraftError('attachments', 'too-many', `at most ${limits.maxAttachments} attachments`);
  let declaredBytes = 0;
  const validAttachments = attachments.map((attachment): DraftAttachment => {
    if (attachment.kind === 'upload') {
      if (!Buffer.isBuffer(attachment.content)) throw new DraftError('attachments', 'required', 'an attachment has no content');
      declaredBytes += attachment.content.length;
      return {
        kind: 'upload',
        filename: validFilename(attachment.filename, limits),
        contentType: safeContentType(attachment.contentType),
        content: attachment.content,
      };
    }
    if (attachment.kind === 'staged') {
      if (!Number.isSafeInteger(attachment.size) || attachment.size < 0 || typeof attachment.open !== 'function') {
        throw new DraftError('attachments', 'required', 'malformed uploaded file');
      }
      declaredBytes += attachment.size;
      return {
        kind: 'staged',
        filename: neutralize(String(attachment.filename)).split(/[/\\]/).pop()!.slice(0, limits.maxFilenameLength) || 'attachment',
        contentType: safeContentType(attachment.contentType),
        size: attachment.size,
        open: attachment.open,
      };
    }
    if (
      attachment.kind !== 'stored' ||
      typeof attachment.sesMessageId !== 'string' ||
      !STORED_ID.test(attachment.sesMessageId) ||
      !Number.isSafeInteger(attachment.index) ||
      attachment.index < 0
    ) {
      throw new DraftError('attachments', 'required', 'malformed attachment reference');
    }
    declaredBytes += attachment.size ?? 0;
    return { kind: 'stored', sesMessageId: attachment.sesMessageId, index: attachment.index };
  });
  if (declaredBytes > limits.maxAttachmentBytes) throw tooLarge(limits);

  return {
    from,
    to,
    cc,
    bcc,
    subject,
    text,
    attachments: validAttachments,
    inReplyTo,
    references: trimReferences(references, limits.maxReferences),
  };
}

function tooLarge(limits: ComposeLimits): DraftError {
  return new DraftError('attachments', 'too-large', `attachments may add up to ${Math.floor(limits.maxAttachmentBytes / 1_000_000)} MB`);
}

// ---------------------------------------------------------------------------------------
// Sending

/** An attachment of a stored message, opened for streaming. */
export interface ResolvedAttachment {
  filename: string;
  contentType: string;
  size: number;
  content: Readable;
}

/** Opens attachment `index` of a stored message; null when there is no such message or attachment. */
export type StoredAttachmentResolver = (source: { sesMessageId: string; index: number }) => Promise<ResolvedAttachment | null>;

/** The resolver of the real system: index → raw store → renderer.openAttachment (streamed). */
export function storedAttachmentResolver(deps: {
  index: Pick<MessageIndex, 'getMessage'>;
  rawStore: RawMailStore;
  renderer: Pick<MessageRenderer, 'openAttachment'>;
  clock: Clock;
}): StoredAttachmentResolver {
  return async ({ sesMessageId, index }) => {
    const record = await deps.index.getMessage(sesMessageId, deps.clock.now());
    if (!record) return null;
    const opened = await deps.renderer.openAttachment(await deps.rawStore.open(record.raw), { index });
    if (!opened) return null;
    const { attachment, content } = opened;
    return { filename: attachment.filename, contentType: attachment.contentType, size: attachment.size, content };
  };
}

/**
 * The user's addresses among a message's participants: every address the directory
 * maps to the user's mailbox (aliases), plus the token's address. For replyDraft's
 * ownAddresses.
 */
export async function ownAddressesIn(
  original: RenderedMessage,
  identity: Identity,
  index: Pick<MessageIndex, 'mailboxFor'>,
): Promise<string[]> {
  const mine = (await index.mailboxFor(identity.email)) ?? normalizeAddress(identity.email);
  const candidates = new Set(
    mailboxesOf([...original.from, ...original.replyTo, ...original.to, ...original.cc]).map((m) => m.address.toLowerCase()),
  );
  const own = new Set([addressKey(identity.email)]);
  // Bounded: a message to a huge list costs at most this many lookups.
  for (const address of [...candidates].slice(0, 200)) {
    if (!own.has(address) && (await index.mailboxFor(address)) === mine) own.add(address);
  }
  return [...own];
}

export interface SendConfig {
  retentionDays: number;
  /** Where Sent copies' raw bytes go: `<sentBucket>/<sentKeyPrefix><id>`. */
  sentBucket: string;
  sentKeyPrefix?: string;
  /** Right side of generated Message-IDs; default: the domain of the sender's address. */
  messageIdDomain?: string;
  limits?: Partial<ComposeLimits>;
}

export interface SendDeps {
  index: Pick<MessageIndex, 'mailboxFor' | 'getMailboxEntry' | 'putMessage' | 'putMailboxEntry'>;
  composer: MimeComposer;
  mailer: OutboundMailer;
  rawWriter: RawMailWriter;
  resolveAttachment: StoredAttachmentResolver;
  clock: Clock;
  /** Id of the Sent copy (default `sent-<uuid>`). */
  newId?: () => string;
  config: SendConfig;
}

export interface SendOutcome {
  /** Id of the copy in the Sent folder (the key of its index items and raw object). */
  sesMessageId: string;
  /** The Message-ID header of what was sent. */
  messageId: string;
  providerMessageId: string;
  mailbox: string;
  /** The envelope: To + Cc + Bcc. */
  recipients: string[];
  /**
   * Null when the Sent copy is indexed. The mail has gone out by then, so an index
   * failure is reported here rather than thrown (throwing would invite a resend).
   */
  sentCopyError: unknown;
}

const SNIPPET_LENGTH = 200;

/**
 * Sends a draft from the user's own address and keeps a copy in their Sent folder.
 * Order: validate → open stored attachments (each must be in the user's mailbox) →
 * compose → write the raw copy → send → index the copy. A failure before sending
 * sends nothing; an orphaned raw copy expires with the bucket's lifecycle.
 */
export async function sendDraft(identity: Identity, draft: Draft, deps: SendDeps): Promise<SendOutcome> {
  const limits = { ...DEFAULT_COMPOSE_LIMITS, ...deps.config.limits };
  const valid = validateDraft(draft, identity, limits);
  const now = deps.clock.now();
  const mailbox = (await deps.index.mailboxFor(valid.from.address)) ?? normalizeAddress(valid.from.address);

  const domain = deps.config.messageIdDomain ?? valid.from.address.slice(valid.from.address.lastIndexOf('@') + 1);
  const messageId = `<${randomUUID()}@${domain}>`;
  const opened: Readable[] = [];
  let raw: Buffer;
  let parts: { attachment: MimeAttachment; size: number }[];
  try {
    parts = await openAttachments(valid.attachments, mailbox, now, deps, limits, opened);
    raw = await deps.composer
      .compose({
        from: valid.from,
        to: valid.to,
        cc: valid.cc,
        subject: valid.subject,
        text: valid.text,
        messageId,
        date: now,
        inReplyTo: valid.inReplyTo ?? null,
        references: valid.references ?? [],
        attachments: parts.map((part) => part.attachment),
      })
      .catch((error: unknown) => {
        throw error instanceof DraftError ? error : (findDraftError(error) ?? error);
      });
  } finally {
    for (const stream of opened) if (!stream.destroyed) stream.destroy();
  }
  if (raw.length > limits.maxMessageBytes)
    throw new DraftError('attachments', 'too-large', `the message is larger than ${limits.maxMessageBytes} bytes`);

  const sentId = deps.newId?.() ?? `sent-${randomUUID()}`;
  const location: RawLocation = { bucket: deps.config.sentBucket, key: `${deps.config.sentKeyPrefix ?? ''}${sentId}` };
  const copy = valid.bcc.length > 0 ? Buffer.concat([Buffer.from(deps.composer.bccField(valid.bcc), 'utf8'), raw]) : raw;
  await deps.rawWriter.put(location, copy);

  const recipients = [...valid.to, ...valid.cc, ...valid.bcc].map((m) => m.address);
  const { providerMessageId } = await deps.mailer.send({ from: valid.from.address, recipients }, raw);

  let sentCopyError: unknown = null;
  try {
    const receivedAt = now.toISOString();
    const expiresAt = expiresAtFor(receivedAt, deps.config.retentionDays);
    const summary = sentSummary(valid, messageId, receivedAt, parts);
    const record: MessageRecord = {
      sesMessageId: sentId,
      receivedAt,
      expiresAt,
      envelopeFrom: valid.from.address,
      envelopeRecipients: recipients,
      verdicts: { spam: 'DISABLED', virus: 'DISABLED', spf: 'DISABLED', dkim: 'DISABLED', dmarc: 'DISABLED' },
      visibility: 'normal',
      spamFlagged: false,
      raw: location,
      size: copy.length,
      summary,
      loopDetected: false,
    };
    const entry: MailboxEntry = {
      mailbox,
      sesMessageId: sentId,
      receivedAt,
      expiresAt,
      recipients: [valid.from.address.toLowerCase()],
      folder: 'sent',
      read: true,
      visibility: 'normal',
      spamFlagged: false,
      size: copy.length,
      from: summary.from,
      to: summary.to,
      cc: summary.cc,
      subject: summary.subject,
      date: summary.date,
      snippet: summary.snippet,
      attachments: summary.attachments,
    };
    await deps.index.putMessage(record);
    await deps.index.putMailboxEntry(entry);
  } catch (error) {
    sentCopyError = error;
  }
  return { sesMessageId: sentId, messageId, providerMessageId, mailbox, recipients, sentCopyError };
}

async function openAttachments(
  attachments: readonly DraftAttachment[],
  mailbox: string,
  now: Date,
  deps: SendDeps,
  limits: ComposeLimits,
  opened: Readable[],
): Promise<{ attachment: MimeAttachment; size: number }[]> {
  const budget = { remaining: limits.maxAttachmentBytes };
  const parts: { attachment: MimeAttachment; size: number }[] = [];
  for (const attachment of attachments) {
    if (attachment.kind === 'upload') {
      budget.remaining -= attachment.content.length;
      if (budget.remaining < 0) throw tooLarge(limits);
      parts.push({
        attachment: { filename: attachment.filename, contentType: attachment.contentType, content: attachment.content },
        size: attachment.content.length,
      });
      continue;
    }
    if (attachment.kind === 'staged') {
      if (attachment.size > budget.remaining) throw tooLarge(limits);
      const content = await attachment.open();
      opened.push(content);
      const part = {
        attachment: { filename: attachment.filename, contentType: attachment.contentType, content: content as Readable },
        size: 0,
      };
      // The listed size is the store's word; the bytes are counted as they stream.
      part.attachment.content = limitBytes(
        content,
        budget,
        (n) => (part.size += n),
        () => tooLarge(limits),
      );
      parts.push(part);
      continue;
    }
    // Another mailbox's message, a quarantined one and a missing one look the same.
    const entry = await deps.index.getMailboxEntry(mailbox, attachment.sesMessageId, now);
    const resolved =
      entry && entry.visibility !== 'quarantined'
        ? await deps.resolveAttachment({ sesMessageId: attachment.sesMessageId, index: attachment.index })
        : null;
    if (!resolved) throw new NotFoundError(`attachment ${attachment.index} of message ${attachment.sesMessageId} not found`);
    opened.push(resolved.content);
    if (resolved.size > budget.remaining) throw tooLarge(limits);
    const part = {
      attachment: {
        filename:
          neutralize(resolved.filename).split(/[/\\]/).pop()!.slice(0, limits.maxFilenameLength) || `attachment-${attachment.index + 1}`,
        contentType: safeContentType(resolved.contentType),
        content: resolved.content as Readable,
      },
      // Known for sure only once streamed (a renderer may not know it up front).
      size: 0,
    };
    // The declared size may be wrong or unknown: the bytes are counted as they stream.
    part.attachment.content = limitBytes(
      resolved.content,
      budget,
      (n) => (part.size += n),
      () => tooLarge(limits),
    );
    parts.push(part);
  }
  return parts;
}

function limitBytes(source: Readable, budget: { remaining: number }, count: (bytes: number) => void, error: () => Error): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      budget.remaining -= chunk.length;
      count(chunk.length);
      callback(budget.remaining < 0 ? error() : null, chunk);
    },
  });
  return pipeline(source, counter, () => undefined);
}

/** The DraftError somewhere in a cause chain (composer libraries wrap stream errors). */
function findDraftError(error: unknown): DraftError | null {
  for (let current = error, depth = 0; current && depth < 10; depth++) {
    if (current instanceof DraftError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

function sentSummary(
  draft: Draft,
  messageId: string,
  date: string,
  parts: readonly { attachment: MimeAttachment; size: number }[],
): MessageSummary {
  const attachments: AttachmentInfo[] = parts.map(({ attachment, size }) => ({
    filename: attachment.filename,
    contentType: attachment.contentType,
    size,
    contentId: null,
    inline: false,
  }));
  return {
    from: [formatMailbox(draft.from)],
    to: draft.to.map(formatMailbox),
    cc: draft.cc.map(formatMailbox),
    replyTo: [],
    subject: draft.subject,
    date,
    messageIdHeader: messageId,
    inReplyTo: draft.inReplyTo ?? null,
    references: draft.references ?? [],
    snippet: draft.text.replace(/\s+/g, ' ').trim().slice(0, SNIPPET_LENGTH),
    hasHtml: false,
    attachments,
    forwardStamps: [],
    parseError: null,
  };
}
