// The reconcile journal (ports/reconcile-journal.ts) as a JSON file on the host that runs
// reconcile: replaced through a temporary file and a rename, so a kill leaves the old
// state or the new one; owner-only. A lock file beside it (with the owner's pid) keeps a
// second reconcile on the same journal out; one left by a dead process is taken over.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ShadowmailError } from '../../core/errors.ts';
import type { ReconcileJournal, ReconcileJournalState } from '../../ports/reconcile-journal.ts';
import { isAlive } from './process-alive.ts';

const result = z.object({
  mailbox: z.string(),
  sentFolder: z.string().nullable(),
  appended: z.number(),
  alreadyThere: z.number(),
  markedRead: z.number(),
  pending: z.number(),
  notFound: z.array(z.object({ messageId: z.string(), reason: z.string() })),
  failed: z.array(z.object({ messageId: z.string().nullable(), reason: z.string() })),
  deletedInWebmail: z.number(),
});

const stateSchema = z.object({
  job: z.object({ key: z.string(), until: z.string(), startedAt: z.string(), done: z.array(result), finished: z.boolean() }).nullable(),
  pending: z.array(z.object({ mailbox: z.string(), sesMessageId: z.string(), since: z.string() })),
});

export class FileReconcileJournal implements ReconcileJournal {
  constructor(readonly where: string) {}

  async read(): Promise<ReconcileJournalState> {
    let text: string;
    try {
      text = await readFile(this.where, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { job: null, pending: [] };
      throw new ShadowmailError('RECONCILE_JOURNAL', `cannot read the reconcile journal ${this.where}: ${(error as Error).message}`);
    }
    const parsed = stateSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      throw new ShadowmailError(
        'RECONCILE_JOURNAL',
        `the reconcile journal ${this.where} is damaged; remove it to start afresh (nothing is appended twice: reconcile checks each folder)`,
      );
    }
    return parsed.data;
  }

  async write(state: ReconcileJournalState): Promise<void> {
    await mkdir(dirname(this.where), { recursive: true, mode: 0o700 });
    const temporary = `${this.where}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, this.where);
    } catch (error) {
      await rm(temporary, { force: true });
      throw new ShadowmailError('RECONCILE_JOURNAL', `cannot write the reconcile journal ${this.where}: ${(error as Error).message}`);
    }
  }

  /** Holds the journal for this process; another live reconcile on it is one clear error. Returns the release. */
  async lock(): Promise<() => Promise<void>> {
    const file = `${this.where}.lock`;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    for (let tries = 0; tries < 3; tries += 1) {
      try {
        const handle = await open(file, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        return async () => {
          if ((await pidIn(file)) === process.pid) await rm(file, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const pid = await pidIn(file);
        if (pid !== null && pid !== process.pid && isAlive(pid)) {
          throw new ShadowmailError('RECONCILE_BUSY', `another reconcile (pid ${pid}) is running with the journal ${this.where}`);
        }
        await rm(file, { force: true });
      }
    }
    throw new ShadowmailError('RECONCILE_BUSY', `could not lock the reconcile journal ${this.where}`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function pidIn(file: string): Promise<number | null> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}
