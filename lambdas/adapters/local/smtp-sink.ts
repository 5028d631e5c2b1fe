// The built-in primary of local mode (a stand-in for Exchange): plain SMTP on
// loopback that accepts any recipient and keeps every message it receives as
// <dir>/<timestamp>-<seq>.eml (the bytes exactly as received) with its envelope
// beside it in <same>.json. Both are written to a temporary name and renamed, the
// .json first, so a reader that sees an .eml always sees a whole message and its
// envelope.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { fsyncPath } from './fsync.ts';
import { listen, plainSmtpServer, type SmtpListener, smtpError } from './smtp-listener.ts';

export interface SmtpSinkOptions {
  host?: string;
  port: number;
  dir: string;
  /** Grace period for connections still open at close(). */
  closeTimeoutMs?: number;
  onError?: (error: unknown, context: string) => void;
}

export type SmtpSink = SmtpListener;

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

  const server = plainSmtpServer(options.closeTimeoutMs ?? 5_000, {
    onData(stream, session, callback) {
      keep(stream, session).then(
        (name) => callback(null, `Ok: kept as ${name}`),
        (error: unknown) => {
          onError(error, 'receive');
          callback(smtpError(451, '4.3.0 Could not store the message'));
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
      await fsyncPath(temporary);
      const record: SinkEnvelope = { ...envelope, receivedAt: new Date().toISOString(), size: stream.byteLength };
      await writeFile(temporaryJson, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
      await fsyncPath(temporaryJson);
      await rename(temporaryJson, join(dir, `${base}.json`));
      await rename(temporary, join(dir, `${base}.eml`));
      return `${base}.eml`;
    } catch (error) {
      await rm(temporary, { force: true });
      await rm(temporaryJson, { force: true });
      throw error;
    }
  }

  return listen(server, options, onError);
}
