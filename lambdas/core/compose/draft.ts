// The vocabulary of outgoing mail: a draft, its mailboxes and attachments, the error
// that names the field a user has to correct, and the limits every draft is held to.
import type { Readable } from 'node:stream';
import { InvalidInputError } from '../errors.ts';

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
