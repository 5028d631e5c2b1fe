// Port: hands raw bytes to the primary mail server over SMTP with a given envelope.
import type { Readable } from 'node:stream';

export interface RelayEnvelope {
  /** MAIL FROM; empty string for the null sender <>. */
  from: string;
  recipients: string[];
}

export interface RecipientReply {
  recipient: string;
  /** SMTP code of the final answer for this recipient (RCPT refusal or end of DATA); 0 if none. */
  code: number;
  response: string;
}

export interface SmtpRelay {
  /**
   * Sends `data` (already carrying the trace header) byte for byte. Never throws
   * for SMTP or network failures: they come back as per-recipient replies
   * (code 0 when the connection failed before an answer).
   */
  relay(envelope: RelayEnvelope, data: () => Promise<Readable>): Promise<RecipientReply[]>;
}
