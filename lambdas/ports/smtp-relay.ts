// Port: hands raw bytes to the primary mail server over SMTP with a given envelope.
import type { Readable } from 'node:stream';
import type { ConfigurationFault } from '../core/model.ts';

/**
 * Why the session gave no verdict on the message, as the relay saw it: `unreachable`
 * (no TCP connection: refused, no route, name not resolved, connect timeout — a blocked
 * port looks like this), `timeout` (connected, then no answer in time), or a
 * configuration fault (`tls`, `auth`, see ConfigurationFault).
 */
export type SmtpFault = 'unreachable' | 'timeout' | ConfigurationFault;

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
  /** Set when the answer says the session failed for one of these reasons (decided by the adapter, not from the text). */
  fault?: SmtpFault;
}

export interface SmtpRelay {
  /**
   * Sends `data` (already carrying the trace header) byte for byte. Never throws
   * for SMTP or network failures: they come back as per-recipient replies
   * (code 0 when the connection failed before an answer).
   */
  relay(envelope: RelayEnvelope, data: () => Promise<Readable>): Promise<RecipientReply[]>;
  /** Ends the sessions kept open for the next message (QUIT); relays in flight end theirs themselves. */
  close?(): Promise<void>;
}
