// Runs `shadowmail …` in this process through bin/cli.ts's main(), collecting what it writes.
import { PassThrough } from 'node:stream';
import { main } from '../../bin/cli.ts';

export async function runMain(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: '', err: '' };
  out.on('data', (chunk) => (chunks.out += chunk));
  err.on('data', (chunk) => (chunks.err += chunk));
  const code = await main(argv, out, err);
  return { code, ...chunks };
}
