// Local mode's stand-in for SES inbound: an SMTP listener (smtp-server) that takes mail
// only for the configured domains, spools DATA (a small message in memory, a large one
// streamed to the file as it arrives and fsynced: spool-writer.ts) and answers 250 only
// after `accept` has taken the message over and made it durable. Replies follow SES where it
// matters (docs/design.md §9), with the enhanced status code written into the text:
// smtp-server's own mapping would give 5.1.1 for every 550, wrong for a relay refusal.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SMTPServerDataStream, SMTPServerError, SMTPServerSession } from 'smtp-server';
import { domainOf } from '../../core/addresses.ts';
import { ConfigurationError } from '../../core/errors.ts';
import { INBOUND_SMTP_LIMITS } from './inbound-smtp-limits.ts';
import { closeWith421, listen, perAddressCap, plainSmtpServer, type SmtpListener, smtpError } from './smtp-listener.ts';
import { SpoolWriter } from './spool-writer.ts';

/**
 * A message the listener received in full, for `accept` to take over: either its bytes
 * in memory (up to KEEP_IN_MEMORY_BYTES, not yet on disk: accept must make them durable
 * before it resolves) or its spool file, fsynced.
 */
export type InboundMessage = InboundEnvelope & ({ bytes: Buffer; spoolFile?: undefined } | { spoolFile: string; bytes?: undefined });

export interface InboundEnvelope {
  /** Queue id of this message, also in the 250 reply ("queued as <id>"). */
  id: string;
  /** MAIL FROM; empty string for the null sender <>. */
  envelopeFrom: string;
  /** RCPT TO addresses as the client gave them, each for one of the configured domains. */
  envelopeRecipients: string[];
  /** The client's IP address and EHLO/HELO name, for the SPF check SES makes in AWS. */
  client: { address: string; helo: string };
  /** Bytes received (after SMTP dot-unstuffing). */
  size: number;
  receivedAt: Date;
}

export interface InboundSmtpOptions {
  host?: string;
  port: number;
  /** The domains mail is accepted for (case-insensitive); every other RCPT TO gets 550. */
  domains: string[];
  /**
   * Whether a recipient of one of the domains is known (core/known-recipient.ts); false:
   * 550 5.1.1 at RCPT TO, during the transaction, so the sender's own server reports it.
   * A rejection answers 451 (the sender retries). Unset: every address of the domains.
   */
  isKnownRecipient?: (address: string) => Promise<boolean>;
  /**
   * How long the 550 for an unknown recipient is held back (tarpitting, as Exchange's
   * TarpitInterval): guessing addresses one RCPT at a time gets slow.
   */
  unknownRecipientDelayMs?: number;
  maxMessageBytes?: number;
  /** SES accepts at most 100 recipients per message. */
  maxRecipients?: number;
  /** Private to this listener: leftovers of an earlier run are deleted at start. */
  spoolDir: string;
  /**
   * Takes the message over: stores its bytes durably (or moves the spool file into the raw
   * store) and queues the notification; the client gets its 250 when this resolves. A
   * spool file still in place then is deleted. A rejection makes the client retry later
   * (451), nothing is lost.
   */
  accept: (message: InboundMessage) => Promise<void>;
  /** Connections held at once; beyond, 421 and close. */
  maxConnections?: number;
  /** Connections held at once from one client address; beyond, 421 and close. */
  maxConnectionsPerAddress?: number;
  /**
   * The longest a whole DATA phase may take, 354 to the final dot; then 421, the connection
   * closes and the message is not taken (the sender retries). smtp-server's socketTimeout
   * only bounds the silence between two bytes.
   */
  dataDeadlineMs?: number;
  /** Host name in the greeting and EHLO reply. */
  serverName?: string;
  /** Grace period for connections still open at close(). */
  closeTimeoutMs?: number;
  onError?: (error: unknown, context: string) => void;
}

export type InboundSmtpServer = SmtpListener;

const SPOOL_FILE = /^[a-z2-7]{40}\.eml$/;

/** 40 characters of [a-z2-7]: a subset of the alphabet of SES message ids. */
export function newQueueId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(40);
  let id = '';
  for (const byte of bytes) id += alphabet[byte & 31];
  return id;
}

export async function startInboundSmtp(options: InboundSmtpOptions): Promise<InboundSmtpServer> {
  if (options.domains.length === 0) throw new ConfigurationError('domains', 'at least one mail domain is required');
  const domains = new Set(options.domains.map((domain) => domain.trim().toLowerCase()));
  const maxMessageBytes = options.maxMessageBytes ?? INBOUND_SMTP_LIMITS.maxMessageBytes;
  const maxRecipients = options.maxRecipients ?? 100;
  const dataDeadlineMs = options.dataDeadlineMs ?? INBOUND_SMTP_LIMITS.dataDeadlineMs;
  const unknownRecipientDelayMs = options.unknownRecipientDelayMs ?? INBOUND_SMTP_LIMITS.unknownRecipientDelayMs;
  const spoolDir = resolve(options.spoolDir);
  const onError = options.onError ?? ((error, context) => console.error(`[inbound-smtp] ${context}:`, error));

  await mkdir(spoolDir, { recursive: true });
  // A spool file left by a crash belongs to a message that never got its 250.
  for (const file of await readdir(spoolDir)) {
    if (SPOOL_FILE.test(file)) await rm(join(spoolDir, file), { force: true });
  }

  const server = plainSmtpServer(options.closeTimeoutMs ?? 10_000, {
    ...(options.serverName ? { name: options.serverName } : {}),
    size: maxMessageBytes,
    maxClients: options.maxConnections ?? INBOUND_SMTP_LIMITS.maxConnections,
    ...perAddressCap(options.maxConnectionsPerAddress ?? INBOUND_SMTP_LIMITS.maxConnectionsPerAddress),

    onRcptTo(address, session, callback) {
      const domain = domainOf(address.address);
      if (!domains.has(domain)) {
        return callback(smtpError(550, `5.7.1 Relay not permitted: ${domain || 'no domain'} is not a domain of this server`));
      }
      const already = session.envelope.rcptTo.some((rcpt) => rcpt.address.toLowerCase() === address.address.toLowerCase());
      if (!already && session.envelope.rcptTo.length >= maxRecipients) {
        return callback(smtpError(452, `4.5.3 Too many recipients (at most ${maxRecipients} per message)`));
      }
      if (!options.isKnownRecipient) return callback();
      options.isKnownRecipient(address.address).then(
        (known) => {
          if (known) return callback();
          const refusal = smtpError(550, '5.1.1 Recipient address rejected: user unknown in this domain');
          setTimeout(() => callback(refusal), unknownRecipientDelayMs);
        },
        (error: unknown) => {
          onError(error, 'recipient check');
          callback(smtpError(451, '4.3.0 Temporary failure checking the recipient, please try again later'));
        },
      );
    },

    onData(stream, session, callback) {
      receive(stream, session).then(
        (id) => callback(null, `Ok: queued as ${id}`),
        (error: unknown) => {
          if ((error as SMTPServerError).responseCode) return callback(error as SMTPServerError);
          // Also a client that went away mid-DATA: the reply then reaches no one.
          onError(error, 'receive');
          callback(smtpError(451, '4.3.0 Temporary failure, please try again later'));
        },
      );
    },
  });

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    // Copied now: the session is reset for the next transaction once we answer.
    const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const envelopeRecipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
    const client = { address: session.remoteAddress, helo: session.hostNameAppearsAs ?? '' };
    const id = newQueueId();
    const spoolFile = join(spoolDir, `${id}.eml`);
    const spool = new SpoolWriter(spoolFile, maxMessageBytes, () => stream.sizeExceeded);
    // Past the deadline the client hears 421 and the connection closes; the pipeline then
    // fails and the spool file goes: nothing was acknowledged, so nothing is lost.
    const deadline = setTimeout(() => {
      closeWith421(server, session, `4.4.2 DATA took longer than ${Math.round(dataDeadlineMs / 1000)} s, closing connection`);
      stream.destroy(new Error('DATA deadline passed'));
    }, dataDeadlineMs);
    try {
      try {
        await pipeline(stream, spool);
      } finally {
        // Received in full: taking the message over is not cut short.
        clearTimeout(deadline);
      }
      if (stream.sizeExceeded || spool.seen > maxMessageBytes) {
        throw smtpError(552, `5.3.4 Message size exceeds fixed maximum message size (${maxMessageBytes} bytes)`);
      }
      const bytes = await spool.commit();
      const envelope: InboundEnvelope = { id, envelopeFrom, envelopeRecipients, client, size: spool.seen, receivedAt: new Date() };
      await options.accept(bytes ? { ...envelope, bytes } : { ...envelope, spoolFile });
      return id;
    } finally {
      // Taken over (moved) on success; on any failure the sender keeps the message and retries.
      try {
        if (await spool.release()) rmSync(spoolFile, { force: true });
      } catch (error) {
        onError(error, 'spool cleanup');
      }
    }
  }

  return listen(server, options, onError);
}
