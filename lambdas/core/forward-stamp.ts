// The trace headers shadowmail puts on what it relays to the primary (the forward's
// stamp, a resend's marker), how a stamp is recognised as our own (mail loops), and
// the one way both put header lines in front of the stored bytes.
import { PassThrough, type Readable } from 'node:stream';
import { FORWARD_STAMP_HEADER } from './model.ts';

/** Marks a copy an admin sent to the primary again (core/resend.ts). */
export const RESENT_HEADER = 'X-Shadowmail-Resent';

/** `X-Shadowmail-Forwarded: <stackId>; id=<sesMessageId>; <date>` followed by CRLF. */
export function forwardStampLine(stackId: string, sesMessageId: string, at: Date): string {
  return `${FORWARD_STAMP_HEADER}: ${stackId}; id=${sesMessageId}; ${at.toUTCString()}\r\n`;
}

/** `X-Shadowmail-Resent: <jobId>; <date>` followed by CRLF. */
export function resentMarkerLine(jobId: string, at: Date): string {
  return `${RESENT_HEADER}: ${jobId}; ${at.toUTCString()}\r\n`;
}

export function belongsToStack(stampValue: string, stackId: string): boolean {
  const first = stampValue.split(';', 1)[0] ?? '';
  return first.trim().toLowerCase() === stackId.trim().toLowerCase();
}

const MBOX_LINE_PEEK_BYTES = 1024;

/**
 * The stored bytes with `lines` (complete header lines, CRLF-ended) in front; nothing
 * else is touched. A leading mbox "From " line stays first, so receivers still take it
 * for the envelope line it is rather than ending the header block there and turning
 * every real header into body. Backpressure is passed on to `body`.
 */
export function withHeaderLines(body: Readable, lines: string): Readable {
  const out = new PassThrough();
  let head: Buffer | null = Buffer.alloc(0);
  const flushHead = (): void => {
    if (head === null) return;
    const lineEnd = head.indexOf(0x0a);
    if (head.subarray(0, 5).toString('latin1') === 'From ' && lineEnd >= 0) {
      out.write(head.subarray(0, lineEnd + 1));
      out.write(lines);
      out.write(head.subarray(lineEnd + 1));
    } else {
      out.write(lines);
      out.write(head);
    }
    head = null;
  };
  body.on('data', (chunk: Buffer) => {
    if (head === null) {
      if (!out.write(chunk)) body.pause();
      return;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length >= MBOX_LINE_PEEK_BYTES || head.includes(0x0a)) flushHead();
  });
  out.on('drain', () => body.resume());
  body.on('end', () => {
    flushHead();
    out.end();
  });
  body.on('error', (error) => out.destroy(error));
  return out;
}
