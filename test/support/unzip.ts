// Info-ZIP's unzip as the real reader of the zips the tests make (`shadowmail export`):
// its answer as bytes, and the names an archive lists.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** unzip with these arguments; its stdout, as bytes (-p extracts a file's exact bytes). */
export async function unzip(...args: string[]): Promise<Buffer> {
  return (await exec('unzip', args, { encoding: 'buffer', maxBuffer: 100 * 1024 * 1024 })).stdout;
}

/** The file names in the zip, in archive order, as UTF-8. */
export async function zipNames(zip: string): Promise<string[]> {
  return (await unzip('-Z1', zip)).toString('utf8').split('\n').filter(Boolean);
}
