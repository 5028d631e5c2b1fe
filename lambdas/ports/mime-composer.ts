// Port: builds the MIME bytes of a message the webmail sends. Takes structured values
// only (mailboxes as name + address, never header strings), so no caller can hand it
// a ready-made header line. There is no Bcc here on purpose: Bcc never reaches the headers.
import type { Readable } from 'node:stream';

export interface MimeMailbox {
  /** Display name, plain text (may be empty); the composer encodes it. */
  name: string;
  /** addr-spec without angle brackets. */
  address: string;
}

export interface MimeAttachment {
  filename: string;
  /** type/subtype without parameters. */
  contentType: string;
  /** The decoded bytes; a stream is read once, while composing. */
  content: Buffer | Readable;
}

export interface MimeMessageSpec {
  from: MimeMailbox;
  to: MimeMailbox[];
  cc: MimeMailbox[];
  subject: string;
  /** Plain text body. */
  text: string;
  /** With angle brackets: `<id@domain>`. */
  messageId: string;
  date: Date;
  /** With angle brackets, or null. */
  inReplyTo: string | null;
  /** With angle brackets, oldest first. */
  references: string[];
  attachments: MimeAttachment[];
}

export interface MimeComposer {
  /** The whole message, CRLF line endings. Rejects when an attachment stream fails. */
  compose(message: MimeMessageSpec): Promise<Buffer>;
  /**
   * A complete `Bcc:` header field, encoded, folded and ending in CRLF, to put in
   * front of the sender's own copy (never into what is sent).
   */
  bccField(bcc: MimeMailbox[]): string;
}
