// Runs the `shadowmail` CLI in-process (bin/cli.ts) and collects what it wrote.
import { PassThrough } from 'node:stream';
import { main } from '../../bin/cli.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCli(...argv: string[]): Promise<CliRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: '', err: '' };
  out.on('data', (chunk) => (chunks.out += chunk));
  err.on('data', (chunk) => (chunks.err += chunk));
  const code = await main(argv, out, err);
  return { code, ...chunks };
}
