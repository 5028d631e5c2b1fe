// Port: judges SPF, DKIM and DMARC for a message as it arrived over SMTP — what SES does
// before it writes the receipt notification (receipt.spfVerdict, dkimVerdict, dmarcVerdict).
// Only local mode needs it: its SMTP listener stands in for SES (adapters/local/mailauth-authenticator.ts).
import type { Readable } from 'node:stream';
import type { AuthenticationVerdicts } from '../core/authentication.ts';

/** What the SMTP session knew about the sender before DATA. */
export interface SmtpArrival {
  /** The client's IP address (SPF checks it against the MAIL FROM domain). */
  clientAddress: string;
  /** The name the client gave in EHLO/HELO. */
  helo: string;
  /** MAIL FROM; empty for the null sender (SPF then checks the HELO name). */
  envelopeFrom: string;
}

export interface MailAuthenticator {
  /**
   * The verdicts in SES's terms. Never fails for the message's sake: a check that cannot
   * run (DNS down, a deadline) is PROCESSING_FAILED, so the message is still taken.
   * A small message comes as its bytes, a large one as a stream.
   */
  authenticate(message: Readable | Buffer, arrival: SmtpArrival): Promise<AuthenticationVerdicts>;
}
