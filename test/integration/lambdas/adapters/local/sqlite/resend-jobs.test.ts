// Resend jobs in the embedded SQLite store: the ResendJobStore contract with two
// connections on one file, jobs and task marks that outlive the connection, a worker in
// another process counting the same job at the same time (no increment lost, none twice),
// and purgeExpired removing jobs past their retention with their marks.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteResendJobs } from '../../../../../../lambdas/adapters/local/sqlite/resend-jobs.ts';
import { freshPerTest } from '../../../../../support/fresh-per-test.ts';
import { describeResendJobsContract, makeJob, NOW } from '../../../../../support/resend-jobs-contract.ts';
import { freshSqliteFile } from '../../../../../support/sqlite-store.ts';

const CHILD = resolve(import.meta.dirname, '../../../../../support/sqlite-resend-child.ts');

describeResendJobsContract('SQLite, two connections on one file', async () => {
  const file = freshSqliteFile();
  return { store: new SqliteResendJobs(file.open()), other: new SqliteResendJobs(file.open()), cleanup: file.cleanup };
});

describe('SqliteResendJobs on one file', () => {
  const file = freshPerTest(freshSqliteFile);

  it('keeps a job, its counters and its task marks when the file is closed and opened again', async () => {
    // Prepare
    const db = file().open();
    const before = new SqliteResendJobs(db);
    await before.create(makeJob('job-1'));
    await before.applyTask('job-1', 'm1#0', { counters: { delivered: 1, deferred: 1 }, retry: ['later@corp.test'] }, NOW.toISOString());
    await before.markStarted('job-1', 'm2#0', NOW.toISOString());
    db.close();
    // Act
    const after = new SqliteResendJobs(file().open());
    // Assess
    expect(await after.getTask('job-1', 'm1#0', NOW)).toMatchObject({
      job: { counters: { delivered: 1, deferred: 1 } },
      applied: { retry: ['later@corp.test'] },
      started: false,
    });
    expect(await after.getTask('job-1', 'm2#0', NOW)).toMatchObject({ applied: null, started: true });
  });

  it('counts every task of a job once while a worker in another process counts the same job', async () => {
    // Prepare
    const store = new SqliteResendJobs(file().open());
    await store.create(makeJob('job-1'));
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'apply', file().path, 'job-1', '0', '300'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let output = '';
    const exited = new Promise<number | null>((done) => child.once('exit', done));
    await new Promise<void>((ready) =>
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.startsWith('ready\n')) ready();
      }),
    );
    // Act: the child counts m0..m299, this process m200..m499, both starting now
    child.stdin.end('go\n');
    let counted = 0;
    for (let i = 200; i < 500; i += 1) {
      if (await store.applyTask('job-1', `m${i}#0`, { counters: { done: 1, delivered: 1 } }, NOW.toISOString())) counted += 1;
    }
    const code = await exited;
    const childCounted = Number(output.slice('ready\n'.length).trim());
    // Assess
    expect(code).toBe(0);
    expect(counted + childCounted).toBe(500);
    expect((await store.get('job-1', NOW))?.counters).toMatchObject({ done: 500, delivered: 500 });
  });

  it('purges the jobs past their retention with their task marks, and keeps the live ones', async () => {
    // Prepare
    const db = file().open();
    const store = new SqliteResendJobs(db);
    const nowSeconds = Math.floor(NOW.getTime() / 1000);
    await store.create(makeJob('job-old', { expiresAt: nowSeconds }));
    await store.create(makeJob('job-live'));
    await store.markStarted('job-old', 'm1#0', NOW.toISOString());
    // Act
    const purged = store.purgeExpired(NOW);
    // Assess
    expect(purged).toBe(1);
    expect(db.prepare('SELECT count(*) AS marks FROM resend_task').get()).toEqual({ marks: 0 });
    expect((await store.list({ limit: 10 }, new Date(0))).jobs.map((job) => job.id)).toEqual(['job-live']);
    expect(store.purgeExpired(NOW)).toBe(0);
  });
});
