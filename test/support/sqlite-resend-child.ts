// Child process for the SQLite resend-job test: a second worker on the same store file
// (the CLI's worker beside the running stack's). Counts tasks <from>..<from+count-1> of
// one job ({ done: 1, delivered: 1 } each) once the parent answers its `ready` line, and
// prints how many it was first to count.
//   apply <file> <jobId> <from> <count>
import { openLocalDatabase } from '../../lambdas/adapters/local/sqlite/database.ts';
import { SqliteResendJobs } from '../../lambdas/adapters/local/sqlite/resend-jobs.ts';

const [mode, file, jobId, from, count] = process.argv.slice(2);
if (mode !== 'apply' || !file || !jobId) throw new Error('usage: sqlite-resend-child.ts apply <file> <jobId> <from> <count>');
const db = openLocalDatabase(file);
const jobs = new SqliteResendJobs(db);
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
let counted = 0;
for (let i = Number(from); i < Number(from) + Number(count); i += 1) {
  const job = await jobs.applyTask(jobId, `m${i}#0`, { counters: { done: 1, delivered: 1 } }, new Date().toISOString());
  if (job) counted += 1;
}
db.close();
process.stdout.write(`${counted}\n`);
