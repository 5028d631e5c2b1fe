// Local mode's failover flag: a JSON file under the data directory. Written to a
// temporary file and renamed, so a reader sees the old state or the new, never half.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidInputError, ShadowmailError } from '../../core/errors.ts';
import { parseFailoverState } from '../../core/failover.ts';
import { FAILOVER_OFF, type FailoverFlag, type FailoverState } from '../../ports/failover-flag.ts';

export class FileFailoverFlag implements FailoverFlag {
  constructor(readonly file: string) {}

  async read(): Promise<FailoverState> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      // No file: the flag was never switched, which means normal operation.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...FAILOVER_OFF };
      throw new ShadowmailError('FAILOVER_FLAG_READ', `cannot read the failover flag ${this.file}`, { cause: error });
    }
    try {
      return parseFailoverState(JSON.parse(text));
    } catch (error) {
      throw new InvalidInputError(`the failover flag ${this.file} is not valid: ${(error as Error).message}`, { cause: error });
    }
  }

  async write(state: FailoverState): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, this.file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw new ShadowmailError('FAILOVER_FLAG_WRITE', `cannot write the failover flag ${this.file}`, { cause: error });
    }
  }
}
