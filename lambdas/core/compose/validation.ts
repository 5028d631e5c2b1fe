// Validation of a draft before anything is composed: addresses normalized, duplicates
// removed, limits enforced. Header injection is ruled out twice: the composer port takes
// structured values it encodes itself (and never sees Bcc), and here every header-bound
// value the user typed is refused with a DraftError naming the field when it holds a
// line break or another control character; values the user cannot change (a received
// message's, the token's) are made header-safe instead.
import type { Identity } from '../../ports/sign-in.ts';
import { parseMailAddress } from '../addresses.ts';
import { hasControlCharacters, headerSafeLine, withoutInvisibleFormatting } from '../text.ts';
import {
  type ComposeLimits,
  DEFAULT_COMPOSE_LIMITS,
  type Draft,
  type DraftAttachment,
  DraftError,
  type DraftField,
  type Mailbox,
} from './draft.ts';
import { identityMailbox } from './mailboxes.ts';
import { normalizeMessageIdToken, trimReferences } from './message-ids.ts';

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
const STORED_ID = /^[A-Za-z0-9._:@+=-]{1,256}$/;

function checkHeaderText(field: DraftField, value: string, what: string): void {
  if (hasControlCharacters(value))
    throw new DraftError(field, 'control-characters', `${what} must not contain line breaks or control characters`);
}

function validMailboxes(field: 'to' | 'cc' | 'bcc', mailboxes: readonly Mailbox[], limits: ComposeLimits): Mailbox[] {
  return mailboxes.map((mailbox) => {
    if (typeof mailbox?.address !== 'string' || typeof mailbox.name !== 'string') {
      throw new DraftError(field, 'invalid-address', 'malformed recipient');
    }
    checkHeaderText(field, mailbox.address, 'an address');
    checkHeaderText(field, mailbox.name, 'a name');
    const address = parseMailAddress(mailbox.address.trim());
    if (!address) throw new DraftError(field, 'invalid-address', `not a valid address: ${JSON.stringify(mailbox.address)}`);
    const name = mailbox.name.trim();
    if ([...name].length > limits.maxNameLength)
      throw new DraftError(field, 'too-long', `a name is longer than ${limits.maxNameLength} characters`);
    return { name, address };
  });
}

/** The final element of a path the browser may have sent, control characters refused, invisible formatting removed. */
function validFilename(filename: string, limits: ComposeLimits): string {
  if (typeof filename !== 'string') throw new DraftError('attachments', 'required', 'an attachment has no file name');
  checkHeaderText('attachments', filename, 'a file name');
  const base = withoutInvisibleFormatting(filename).split(/[/\\]/).pop()!.trim();
  if (base === '' || base === '.' || base === '..') throw new DraftError('attachments', 'required', 'an attachment has no file name');
  if ([...base].length > limits.maxFilenameLength) {
    throw new DraftError('attachments', 'too-long', `a file name is longer than ${limits.maxFilenameLength} characters`);
  }
  return base;
}

/**
 * A file name the user cannot change (a browser upload, a received attachment), made
 * header-safe instead of refused: one line without invisible formatting, the last path
 * element, cut to the limit.
 */
export function safeFilename(filename: string, limits: ComposeLimits, fallback: string): string {
  return headerSafeLine(withoutInvisibleFormatting(filename)).split(/[/\\]/).pop()!.slice(0, limits.maxFilenameLength) || fallback;
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
        filename: safeFilename(String(attachment.filename), limits, 'attachment'),
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

/** The refusal for attachments over the limit, declared or counted while streaming. */
export function tooLarge(limits: ComposeLimits): DraftError {
  return new DraftError('attachments', 'too-large', `attachments may add up to ${Math.floor(limits.maxAttachmentBytes / 1_000_000)} MB`);
}
