// OutboundMailer adapter for local mode: the webmail's composed bytes go over SMTP
// (nodemailer's SMTP transport, raw message, explicit envelope) to the built-in primary
// sink or to a configured relay. The envelope is the only place Bcc recipients appear.
import nodemailer, { type Mail } from 'nodemailer';
import type { SMTPSentMessageInfo, SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import { InvalidInputError, RetryableError } from '../../core/errors.ts';
import type { OutboundEnvelope, OutboundMailer } from '../../ports/outbound-mailer.ts';

/** `none`: plain (loopback sink); the others as in the forward relay. */
export type OutboundTlsMode = 'none' | 'starttls-opportunistic' | 'starttls-required' | 'implicit';

export interface SmtpOutboundMailerOptions {
  host: string;
  port: number;
  tls?: OutboundTlsMode;
  auth?: { user: string; pass: string };
  rejectUnauthorized?: boolean;
  /** Trusted CA certificate(s), PEM, e.g. a relay's self-signed certificate. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** EHLO name. */
  name?: string;
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  /**
   * Told when the server accepted the message for some recipients and refused others
   * (the accepted ones have it, so the send counts as done).
   */
  onRejected?: (rejected: { recipient: string; response: string }[]) => void;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

export class SmtpOutboundMailer implements OutboundMailer {
  private readonly transport: Mail<SMTPSentMessageInfo, SMTPTransportOptions>;

  constructor(private readonly options: SmtpOutboundMailerOptions) {
    const tls = options.tls ?? 'starttls-required';
    if (options.auth && tls === 'none') {
      throw new InvalidInputError('refusing to send SMTP credentials without TLS: choose a TLS mode other than "none"');
    }
    const transportOptions: SMTPTransportOptions = {
      host: options.host,
      port: options.port,
      secure: tls === 'implicit',
      requireTLS: tls === 'starttls-required',
      ignoreTLS: tls === 'none',
      tls: {
        rejectUnauthorized: options.rejectUnauthorized ?? true,
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
      },
      ...(options.auth ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
      ...(options.name !== undefined ? { name: options.name } : {}),
      connectionTimeout: options.connectionTimeoutMs ?? 30_000,
      greetingTimeout: options.greetingTimeoutMs ?? 30_000,
      socketTimeout: options.socketTimeoutMs ?? 120_000,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
      debug: false,
    };
    this.transport = nodemailer.createTransport(transportOptions);
  }

  async send(envelope: OutboundEnvelope, raw: Buffer): Promise<{ providerMessageId: string }> {
    if (envelope.recipients.length === 0) throw new InvalidInputError('no recipients to send to');
    let info: SMTPSentMessageInfo;
    try {
      info = await this.transport.sendMail({ envelope: { from: envelope.from, to: [...envelope.recipients] }, raw });
    } catch (error) {
      throw classify(error as SmtpError, `${this.options.host}:${this.options.port}`);
    }
    const rejected = (info.rejectedErrors ?? []) as (SmtpError & { recipient?: string })[];
    if (rejected.length > 0) {
      this.options.onRejected?.(rejected.map((e) => ({ recipient: e.recipient ?? '', response: e.response ?? e.message })));
    }
    return { providerMessageId: (info.response ?? '').trim() || info.messageId };
  }

  close(): void {
    this.transport.close();
  }
}

function classify(error: SmtpError, where: string): Error {
  const reply = error.response ?? error.message;
  // A 5xx answer to MAIL, RCPT (all recipients) or DATA: the message will not be taken as it is.
  if (error.responseCode !== undefined && error.responseCode >= 500 && error.code !== 'EAUTH') {
    return new InvalidInputError(`the mail server ${where} refused the message: ${reply}`, { cause: error });
  }
  return new RetryableError(`sending through ${where} failed${error.code ? ` (${error.code})` : ''}: ${reply}`, { cause: error });
}
