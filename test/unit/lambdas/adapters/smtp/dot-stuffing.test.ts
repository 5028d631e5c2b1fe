// The DATA encoder's fast path: a chunk passes unchanged exactly when nodemailer's own
// encoder would not change it, so the bytes on the wire are the same with and without it.
import type { Transform } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import DataStream from 'nodemailer/lib/smtp-connection/data-stream';
import { describe, expect, it } from 'vitest';
import { canUseFastDotStuffing, passesUnchanged, withFastPath } from '../../../../../lambdas/adapters/smtp/dot-stuffing.ts';

/** Runs chunks through an encoder; its output and its byte counters. */
async function encode(encoder: Transform, chunks: Buffer[]): Promise<{ bytes: Buffer; inBytes: number; outBytes: number }> {
  const out: Buffer[] = [];
  encoder.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    encoder.once('end', resolve);
    encoder.once('error', reject);
  });
  for (const chunk of chunks) encoder.write(chunk);
  encoder.end();
  await ended;
  const counters = encoder as unknown as { inByteCount: number; outByteCount: number };
  return { bytes: Buffer.concat(out), inBytes: counters.inByteCount, outBytes: counters.outByteCount };
}

/** The encoder with the fast path, counting the chunks that went to nodemailer's own code. */
function fastEncoder(): { encoder: Transform; slowChunks: () => number } {
  const encoder = new DataStream() as Transform;
  let slow = 0;
  const original = encoder._transform;
  encoder._transform = function (this: Transform, chunk, encoding, done) {
    slow++;
    original.call(this, chunk, encoding, done);
  };
  return { encoder: withFastPath(encoder), slowChunks: () => slow };
}

/** A small deterministic generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function splitRandomly(bytes: Buffer, next: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = 1 + Math.floor(next() * 40);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('passesUnchanged', () => {
  it.each([
    ['CRLF lines', 'Subject: x\r\n\r\nbody\r\n', false, true],
    ['a dot inside a line', 'a.b\r\nc.d\r\n', false, true],
    ['a dot starting the message', '.x\r\n', false, false],
    ['a dot starting a line', 'a\r\n.b\r\n', false, false],
    ['a dot starting the chunk after an LF', '.b\r\n', 0x0a, false],
    ['a bare LF', 'a\nb', false, false],
    ['an LF starting the chunk after a CR', '\nb', 0x0d, true],
    ['an LF starting the chunk after another byte', '\nb', 0x61, false],
    ['a bare CR inside', 'a\rb', false, false],
    ['a CR ending the chunk (judged with the next)', 'a\r', false, true],
    ['a chunk after a CR that does not start with LF', 'b', 0x0d, false],
    ['an empty chunk', '', false, false],
  ] as const)('%s', (_name, text, previous, expected) => {
    expect(passesUnchanged(Buffer.from(text, 'latin1'), previous)).toBe(expected);
  });
});

describe('withFastPath', () => {
  it('gives the bytes and counters of nodemailer’s encoder for messages of CR, LF, dots and text cut anywhere', async () => {
    // Arrange: 1,500 messages over an alphabet where every rule of the encoder fires
    const next = random(18);
    const pieces = ['a', 'b', '.', '\r', '\n', '\r\n', '\r\n.', '..', '\r\n\r\n', ' '];
    let fastChunks = 0;
    let allChunks = 0;
    for (let round = 0; round < 1_500; round++) {
      const length = 1 + Math.floor(next() * 60);
      const text = Array.from({ length }, () => pieces[Math.floor(next() * pieces.length)]).join('');
      const chunks = splitRandomly(Buffer.from(text, 'latin1'), next);
      // Act
      const expected = await encode(new DataStream() as Transform, chunks);
      const fast = fastEncoder();
      const actual = await encode(fast.encoder, chunks);
      // Assess
      expect(actual.bytes.toString('latin1'), JSON.stringify(chunks.map((c) => c.toString('latin1')))).toBe(
        expected.bytes.toString('latin1'),
      );
      expect([actual.inBytes, actual.outBytes]).toEqual([expected.inBytes, expected.outBytes]);
      allChunks += chunks.length;
      fastChunks += chunks.length - fast.slowChunks();
    }
    // Both paths were exercised: the comparison covered the fast one too
    expect(fastChunks).toBeGreaterThan(allChunks / 10);
    expect(fastChunks).toBeLessThan(allChunks);
  });

  it('passes a CRLF message without a line-starting dot through without nodemailer’s byte loop', async () => {
    // Arrange: a MIME message as a relay sees it, in 64 KiB reads
    const body = 'Line of base64 text ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\r\n'.repeat(3_000);
    const message = Buffer.from(`From: a@corp.test\r\nTo: b@corp.test\r\nSubject: x.y\r\n\r\n${body}`);
    const chunks = Array.from({ length: Math.ceil(message.length / 65_536) }, (_, n) => message.subarray(n * 65_536, (n + 1) * 65_536));
    const fast = fastEncoder();
    // Act
    const actual = await encode(fast.encoder, chunks);
    // Assess: the message and the end-of-data line, nothing through the slow path
    expect(actual.bytes.equals(Buffer.concat([message, Buffer.from('.\r\n')]))).toBe(true);
    expect(fast.slowChunks()).toBe(0);
  });

  it('still stuffs a dot that starts a line in a later chunk', async () => {
    const fast = fastEncoder();
    const actual = await encode(fast.encoder, [Buffer.from('a\r\n'), Buffer.from('.hidden\r\n')]);
    expect(actual.bytes.toString()).toBe('a\r\n..hidden\r\n.\r\n');
    expect(fast.slowChunks()).toBe(1);
  });
});

describe('canUseFastDotStuffing', () => {
  it('finds the method it wraps in this nodemailer (an upgrade that moves it fails here, not silently slower)', () => {
    expect(canUseFastDotStuffing(new SMTPConnection({ host: '127.0.0.1', port: 25 }))).toBe(true);
  });
});
