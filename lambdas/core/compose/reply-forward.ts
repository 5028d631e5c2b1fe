// Drafts that answer a received message: reply, reply all and forward, and the user's
// own addresses that a reply all leaves out.
import type { MessageIndex } from '../../ports/message-index.ts';
import type { RenderedMessage } from '../../ports/message-renderer.ts';
import type { Identity } from '../../ports/sign-in.ts';
import { mailAddressKey, normalizeAddress } from '../addresses.ts';
import { headerSafeLine } from '../text.ts';
import { DEFAULT_COMPOSE_LIMITS, type Draft, type Mailbox, type StoredAttachment } from './draft.ts';
import { formatAddressList, headerMailboxes, identityMailbox } from './mailboxes.ts';
import { messageIdsIn, normalizeMessageIdToken, trimReferences } from './message-ids.ts';
import { clipQuoted, formatDate, forwardSubject, phrasesFor, quoteText, replySubject, senderLabel, type TextOptions } from './quoting.ts';

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
  const own = new Set([identity.email, ...(options.ownAddresses ?? [])].map(mailAddressKey));
  const isOwn = (mailbox: Mailbox) => own.has(mailAddressKey(mailbox.address));
  const sender = headerMailboxes(original.replyTo.length > 0 ? original.replyTo : original.from);
  const originalTo = headerMailboxes(original.to);
  const ownMessage = sender.length > 0 && sender.every(isOwn);

  const seen = new Set<string>();
  const fresh = (mailbox: Mailbox, allowOwn = false): boolean => {
    const key = mailAddressKey(mailbox.address);
    if (seen.has(key) || (!allowOwn && own.has(key))) return false;
    seen.add(key);
    return true;
  };
  let to = (ownMessage ? originalTo : sender).filter((m) => fresh(m));
  if (options.all && !ownMessage) to.push(...originalTo.filter((m) => fresh(m)));
  const cc = options.all ? headerMailboxes(original.cc).filter((m) => fresh(m)) : [];
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
  const list = (mailboxes: readonly string[]) => formatAddressList(headerMailboxes(mailboxes));
  const lines = [phrases.forwarded, `${phrases.subject}: ${headerSafeLine(original.subject)}`];
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
    headerMailboxes([...original.from, ...original.replyTo, ...original.to, ...original.cc]).map((m) => m.address.toLowerCase()),
  );
  const own = new Set([mailAddressKey(identity.email)]);
  // Bounded: a message to a huge list costs at most this many lookups.
  for (const address of [...candidates].slice(0, 200)) {
    if (!own.has(address) && (await index.mailboxFor(address)) === mine) own.add(address);
  }
  return [...own];
}
