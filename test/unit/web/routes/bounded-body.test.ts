// readBounded: what fits the webmail's body limit comes back whole; what does not comes
// back as one stream of every byte (the part already read first), nothing lost.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBounded } from '../../../../web/routes/bounded-body.ts';

function pieces(bytes: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    })(),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('readBounded', () => {
  it('returns a body of exactly the limit whole', async () => {
    const bytes = randomBytes(1000);
    const result = await readBounded(pieces(bytes, 64), 1000);
    expect('whole' in result && result.whole.equals(bytes)).toBe(true);
  });

  it('returns one byte more as a stream of every byte', async () => {
    const bytes = randomBytes(100_001);
    const result = await readBounded(pieces(bytes, 4096), 100_000);
    expect('overflow' in result).toBe(true);
    if ('overflow' in result) expect((await readAll(result.overflow)).equals(bytes)).toBe(true);
  });
});
