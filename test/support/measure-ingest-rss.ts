// Peak memory and throughput of ingest's MIME parse on one large generated message.
// maxRSS covers a whole process, so the parse is measured in a fresh child process
// of its own, after the message has been written by the caller's process:
//   node --import tsx test/support/measure-ingest-rss.ts --kind attachment --mb 40
// prints one JSON line {kind, bytes, seconds, mbPerSecond, peakRssMb, ...}; with
// `--file <path>` it measures that file in the current process instead.
// Used by test/integration/lambdas/adapters/mime/mailparser-mime-parser.memory.test.ts and by the benchmarks.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MailparserMimeParser } from '../../lambdas/adapters/mime/mailparser-mime-parser.ts';

export type LargeMessageKind = 'attachment' | 'text';

export interface ParseMeasurement {
  kind: LargeMessageKind;
  bytes: number;
  seconds: number;
  mbPerSecond: number;
  /** Peak resident set size of this process so far, in MiB. */
  peakRssMb: number;
  /** Proof that the parse really read the message. */
  attachmentBytes: number;
  snippetLength: number;
  subject: string;
}

const MIB = 1024 * 1024;

/**
 * Writes a message of exactly `bytes` bytes, streamed in small pieces so that
 * generating it does not raise the peak RSS being measured. `attachment`: one
 * base64 attachment of random bytes filling the message; `text`: one text/plain
 * body of ordinary lines filling it.
 */
export async function writeLargeMessage(file: string, kind: LargeMessageKind, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  let written = 0;
  const write = (text: string): Promise<void> => {
    written += Buffer.byteLength(text);
    return new Promise((resolve, reject) => {
      out.once('error', reject);
      if (out.write(text)) {
        out.off('error', reject);
        resolve();
      } else {
        out.once('drain', () => {
          out.off('error', reject);
          resolve();
        });
      }
    });
  };
  const head = [
    'From: Load Generator <load@sender.example>',
    'To: max@corp.test',
    `Subject: large ${kind} message`,
    'Date: Tue, 04 Mar 2025 10:15:00 +0000',
    `Message-ID: <large-${kind}@sender.example>`,
    'MIME-Version: 1.0',
  ];
  // Room kept for the closing lines and the padding that makes the size exact.
  const reserve = 512;
  if (kind === 'attachment') {
    await write(
      [
        ...head,
        'Content-Type: multipart/mixed; boundary="large-boundary"',
        '',
        '--large-boundary',
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'The attachment is generated.',
        '--large-boundary',
        'Content-Type: application/octet-stream; name="random.bin"',
        'Content-Disposition: attachment; filename="random.bin"',
        'Content-Transfer-Encoding: base64',
        '',
        '',
      ].join('\r\n'),
    );
    // 57 bytes encode to one 76-character line; 1000 lines per write.
    const lineBytes = 57;
    const linesPerChunk = 1000;
    const chunkSize = (76 + 2) * linesPerChunk;
    while (written + chunkSize < bytes - reserve) {
      const raw = randomBytes(lineBytes * linesPerChunk).toString('base64');
      await write(raw.replace(/.{76}/g, '$&\r\n'));
    }
    while (written + 78 < bytes - reserve) await write(`${randomBytes(lineBytes).toString('base64')}\r\n`);
    await write('--large-boundary--\r\n');
  } else {
    await write([...head, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', ''].join('\r\n'));
    const words = ['invoice', 'Lieferung', 'meeting', 'quarter', 'Straße', 'server', 'report', 'update', 'Grüße', 'budget'];
    let chunk = '';
    for (let line = 0; line < 1000; line++) {
      chunk += `${line} ${Array.from({ length: 10 }, (_, i) => words[(line * 7 + i * 3) % words.length]).join(' ')}\r\n`;
    }
    const chunkSize = Buffer.byteLength(chunk);
    while (written + chunkSize < bytes - reserve) await write(chunk);
  }
  // Pad to the exact size: trailing text lines (text body) or epilogue (multipart).
  while (bytes - written > 2) {
    const length = Math.min(bytes - written - 2, 76);
    await write(`${'.'.repeat(length)}\r\n`);
  }
  if (bytes - written > 0) await write(' '.repeat(bytes - written));
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** Parses `file` through MailparserMimeParser from a file stream and measures it. */
export async function measureParse(file: string, kind: LargeMessageKind): Promise<ParseMeasurement> {
  const bytes = (await stat(file)).size;
  const parser = new MailparserMimeParser();
  const started = performance.now();
  const summary = await parser.summarize(createReadStream(file));
  const seconds = (performance.now() - started) / 1000;
  return {
    kind,
    bytes,
    seconds: round(seconds, 3),
    mbPerSecond: round(bytes / MIB / seconds, 1),
    // resourceUsage().maxRSS is in KiB.
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    attachmentBytes: summary.attachments.reduce((sum, attachment) => sum + attachment.size, 0),
    snippetLength: summary.snippet.length,
    subject: summary.subject,
  };
}

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Generates a message in a temporary directory, measures its parse in a child
 * process (so neither the generator nor the caller counts), removes the file.
 */
export async function measureIngestRss(kind: LargeMessageKind, bytes: number, timeoutMs = 120_000): Promise<ParseMeasurement> {
  const dir = await mkdtemp(join(tmpdir(), 'shadowmail-rss-'));
  try {
    const file = join(dir, `${kind}.eml`);
    await writeLargeMessage(file, kind, bytes);
    const stdout = await new Promise<string>((resolvePromise, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), '--kind', kind, '--file', file],
        { cwd: projectRoot, timeout: timeoutMs, maxBuffer: 1024 * 1024 },
        (error, out, err) =>
          error ? reject(new Error(`measurement failed: ${err || error.message}`, { cause: error })) : resolvePromise(out),
      );
    });
    const lastLine = stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(lastLine) as ParseMeasurement;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kind = argument('kind', 'attachment');
  if (kind !== 'attachment' && kind !== 'text') throw new Error(`--kind must be attachment or text, not ${kind}`);
  const file = argument('file', '');
  let result: ParseMeasurement;
  if (file) {
    result = await measureParse(file, kind);
  } else {
    const megabytes = Number(argument('mb', '40'));
    if (!(megabytes > 0)) throw new Error('--mb must be a positive number');
    result = await measureIngestRss(kind, Math.round(megabytes * MIB));
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
