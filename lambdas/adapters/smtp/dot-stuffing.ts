// A fast path for nodemailer's DATA encoder (smtp-connection/data-stream.js). It looks at
// every byte in JavaScript to stuff dots at line starts and to turn bare CR and bare LF
// into CRLF; for a message that needs none of it (nearly all: MIME is CRLF-only, and a
// line starting with a dot is rare) that loop was ~6 % of local mode's CPU in the burst
// (issue 18). Here a chunk is first checked with Buffer.indexOf — the CRs and LFs only —
// and passed on unchanged when the encoder would not have changed it; any other chunk
// goes through nodemailer's own code. The hook is per connection and optional: without
// the internals it needs, the connection keeps nodemailer's encoder, which is correct.
import type { Transform, TransformCallback } from 'node:stream';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * Whether nodemailer's encoder would emit `chunk` unchanged, given the byte before it
 * (false at the start of the message): every LF follows a CR and is not followed by a
 * dot, every CR is followed by an LF (one ending the chunk is judged with the next chunk,
 * as the encoder does), and the chunk does not start a line with a dot.
 */
export function passesUnchanged(chunk: Uint8Array, previous: number | false): boolean {
  if (chunk.length === 0) return false;
  const first = chunk[0];
  if (previous === CR && first !== LF) return false;
  if ((previous === false || previous === LF) && first === DOT) return false;
  const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  for (let at = bytes.indexOf(LF); at !== -1; at = bytes.indexOf(LF, at + 1)) {
    if ((at === 0 ? previous : bytes[at - 1]) !== CR) return false;
    if (bytes[at + 1] === DOT) return false;
  }
  for (let at = bytes.indexOf(CR); at !== -1 && at + 1 < bytes.length; at = bytes.indexOf(CR, at + 1)) {
    if (bytes[at + 1] !== LF) return false;
  }
  return true;
}

/** What the hook needs of nodemailer's DataStream (nodemailer 10). */
interface EncoderInternals extends Transform {
  lastByte: number | false;
  inByteCount: number;
  outByteCount: number;
}

interface ConnectionInternals {
  _createSendStream?: (this: SMTPConnection, callback: unknown) => Transform;
}

/** Whether this nodemailer still has the method the hook wraps (a test watches for upgrades). */
export function canUseFastDotStuffing(connection: SMTPConnection): boolean {
  return typeof (connection as unknown as ConnectionInternals)._createSendStream === 'function';
}

/** Gives the connection's DATA encoders the fast path; returns the connection. */
export function withFastDotStuffing(connection: SMTPConnection): SMTPConnection {
  const internals = connection as unknown as ConnectionInternals;
  const create = internals._createSendStream;
  if (typeof create !== 'function') return connection;
  internals._createSendStream = function (this: SMTPConnection, callback: unknown): Transform {
    return withFastPath(create.call(this, callback));
  };
  return connection;
}

/** Gives one of nodemailer's DATA encoders the fast path, when it has the fields the path keeps up to date. */
export function withFastPath(stream: Transform): Transform {
  const encoder = stream as EncoderInternals;
  if (typeof encoder._transform !== 'function' || !('lastByte' in encoder) || typeof encoder.inByteCount !== 'number') return stream;
  const encode = encoder._transform;
  encoder._transform = (chunk: unknown, encoding: BufferEncoding, done: TransformCallback): void => {
    if (!Buffer.isBuffer(chunk) || !passesUnchanged(chunk, encoder.lastByte)) {
      encode.call(encoder, chunk, encoding, done);
      return;
    }
    encoder.inByteCount += chunk.length;
    encoder.outByteCount += chunk.length;
    encoder.lastByte = chunk[chunk.length - 1]!;
    encoder.push(chunk);
    done();
  };
  return stream;
}
