// Reads the header block at the top of a spooled message (local mode's stand-in for
// the `mail.headers` / `commonHeaders` that SES puts into its notification).
// Deliberately shallow: unfolded name/value pairs, undecoded, as SES lists them.
import { closeSync, openSync, readSync } from 'node:fs';
import type { CommonHeaders, HeaderField } from '../../core/model.ts';

const MAX_HEADER_BYTES = 256 * 1024;

/** The header block of a message in a file: one synchronous read of its start (fsync.ts says why). */
export async function readHeaderBlock(file: string): Promise<HeaderField[]> {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(MAX_HEADER_BYTES);
    const bytesRead = readSync(fd, buffer, 0, MAX_HEADER_BYTES, 0);
    return headerBlockOf(buffer.subarray(0, bytesRead));
  } finally {
    closeSync(fd);
  }
}

/** The header block of a message in memory; only its first 256 KiB are looked at. */
export function headerBlockOf(message: Buffer): HeaderField[] {
  const head = message.subarray(0, MAX_HEADER_BYTES);
  // Only up to the first blank line becomes a string, not up to 256 KiB of body (issue 18);
  // parseHeaderBlock finds the same end in it.
  const blank = firstBlankLine(head);
  return parseHeaderBlock(head.subarray(0, blank < 0 ? head.length : blank + 3).toString('latin1'));
}

/** Where the first "\n\n" or "\n\r\n" starts, or -1. */
function firstBlankLine(bytes: Buffer): number {
  const bare = bytes.indexOf('\n\n');
  const crlf = bytes.indexOf('\n\r\n');
  if (bare < 0) return crlf;
  if (crlf < 0) return bare;
  return Math.min(bare, crlf);
}

export function parseHeaderBlock(text: string): HeaderField[] {
  const end = text.search(/\r?\n\r?\n/);
  const block = end < 0 ? text : text.slice(0, end);
  const fields: HeaderField[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) {
      fields[fields.length - 1]!.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) {
      if (fields.length === 0 && !line.startsWith('From ')) break; // not a header block at all
      continue;
    }
    fields.push({ name: line.slice(0, colon), value: line.slice(colon + 1).trim() });
  }
  return fields;
}

/** The few headers SES summarizes as commonHeaders. */
export function commonHeadersOf(fields: HeaderField[]): CommonHeaders {
  const first = (name: string): string | undefined => fields.find((field) => field.name.toLowerCase() === name)?.value;
  const list = (name: string): string[] | undefined => {
    const value = first(name);
    return value === undefined
      ? undefined
      : value
          .split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)
          .map((part) => part.trim())
          .filter(Boolean);
  };
  const result: ReturnType<typeof commonHeadersOf> = {};
  const from = list('from'),
    to = list('to'),
    cc = list('cc');
  const subject = first('subject'),
    date = first('date'),
    messageId = first('message-id');
  if (from) result.from = from;
  if (to) result.to = to;
  if (cc) result.cc = cc;
  if (subject !== undefined) result.subject = subject;
  if (date !== undefined) result.date = date;
  if (messageId !== undefined) result.messageId = messageId;
  return result;
}
