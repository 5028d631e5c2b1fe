// The built-in primary of local mode (a stand-in for Exchange): plain SMTP on
// loopback that accepts any recipient and keeps every message it receives as
// <dir>/<timestamp>-<seq>.eml (the bytes exactly as received) with its envelope
// beside it in <same>.json. Both are written to a temporary name and renamed, the
// .json first, so a reader that sees an .eml always sees a whole message and its
// envelope.
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerError, type SMTPServerSession } from 'smtp-server';

export interface SmtpSinkOptions {
  host?: string;
  port: number;
  dir: string;
  /** Grace period for connections still open at close(). */
  closeTimeoutMs?: number;
  onError?: (error: unknown, context: string) => void;
}

export interface SmtpSink {
  port: number;
  close(): Promise<void>;
}

/** What <name>.json holds. */
export interface SinkEnvelope {
  /** MAIL FROM; empty string for the null sender <>. */
  from: string;
  recipients: string[];
  receivedAt: string;
  size: number;
}

let sequence = 0;

/** A file name that sorts in arrival order: ISO time without ':' and '.', then a sequence. */
function nextBaseName(now: Date): string {
  sequence = (sequence + 1) % 1_000_000;
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return `${stamp}-${String(sequence).padStart(6, '0')}`;
}

export async function startSmtpSink(options: SmtpSinkOptions): Promise<SmtpSink> {
  const dir = resolve(options.dir);
  const onError = options.onError ?? ((error, context) => console.error(`[smtp-sink] ${context}:`, error));
  await mkdir(dir, { recursive: true });

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: options.closeTimeoutMs ?? 5_000,
    onData(stream, session, callback) {
      keep(stream, session).then(
        (name) => callback(null, `Ok: kept as ${name}`),
        (error: unknown) => {
          onError(error, 'receive');
          const reply: SMTPServerError = new Error('4.3.0 Could not store the message');
          reply.responseCode = 451;
          callback(reply);
        },
      );
    },
  });

  async function keep(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const envelope = {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      recipients: session.envelope.rcptTo.map((rcpt) => rcpt.address),
    };
    const base = nextBaseName(new Date());
    const temporary = join(dir, `.${base}.eml.tmp`);
    const temporaryJson = join(dir, `.${base}.json.tmp`);
    try {
      await pipeline(stream, createWriteStream(temporary, { flags: 'wx' }));
      await syncFile(temporary);
      const record: SinkEnvelope = { ...envelope, receivedAt: new Date().toISOString(), size: stream.byteLength };
      await writeFile(temporaryJson, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
      await syncFile(temporaryJson);
      await rename(temporaryJson, join(dir, `${base}.json`));
      await rename(temporary, join(dir, `${base}.eml`));
      return `${base}.eml`;
    } catch (error) {
      await rm(temporary, { force: true });
      await rm(temporaryJson, { force: true });
      throw error;
    }
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  server.on('error', (error) => onError(error, 'server'));
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
