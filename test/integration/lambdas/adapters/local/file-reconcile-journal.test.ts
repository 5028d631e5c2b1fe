// The reconcile journal on disk: empty before the first run, written whole (owner-only,
// no temporary file left), a damaged file is one clear error that says what removing it
// costs, and the lock keeps a second live reconcile out but takes over a dead one's.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileReconcileJournal } from '../../../../../lambdas/adapters/local/file-reconcile-journal.ts';
import type { ReconcileJournalState } from '../../../../../lambdas/ports/reconcile-journal.ts';

const STATE: ReconcileJournalState = {
  job: { key: 'k', until: '2030-03-05T12:00:00.000Z', startedAt: '2030-03-05T12:00:00.000Z', done: [], finished: false },
  pending: [{ mailbox: 'alice@corp.test', sesMessageId: 'in-1', since: '2030-03-05T12:00:00.000Z' }],
};

describe('FileReconcileJournal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-journal-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('reads an empty journal before the first run and the state written after, owner-only, nothing else left', async () => {
    // Prepare
    const journal = new FileReconcileJournal(join(dir, 'reconcile', 'journal.json'));
    // Act
    const before = await journal.read();
    await journal.write(STATE);
    const after = await journal.read();
    // Assess
    expect(before).toEqual({ job: null, pending: [] });
    expect(after).toEqual(STATE);
    expect((await stat(journal.where)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'reconcile'))).toEqual(['journal.json']);
  });

  it('answers a damaged journal with one line that says how to start afresh', async () => {
    // Prepare
    const file = join(dir, 'journal.json');
    await writeFile(file, '{"job": {"key": 1}');
    // Act
    const error = await new FileReconcileJournal(file).read().catch((e: unknown) => e);
    // Assess
    expect((error as Error).message).toBe(
      `the reconcile journal ${file} is damaged; remove it to start afresh (nothing is appended twice: reconcile checks each folder)`,
    );
  });

  it('keeps a second reconcile out while the first lives, and takes over the lock of a dead one', async () => {
    // Prepare
    const file = join(dir, 'journal.json');
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    await writeFile(`${file}.lock`, String(live.pid));
    // Act
    const refused = await new FileReconcileJournal(file).lock().catch((e: unknown) => e);
    live.kill('SIGKILL');
    await new Promise((resolve) => live.once('exit', resolve));
    const release = await new FileReconcileJournal(file).lock();
    await release();
    // Assess
    expect((refused as Error).message).toBe(`another reconcile (pid ${live.pid}) is running with the journal ${file}`);
    expect(await readdir(dir)).toEqual([]);
  });
});
