// Child process for the SQLite index's two-process test: opens the store file as a second
// stack or CLI would, says "ready", waits for "go" on stdin (so both children race), then
// for each n < count (upwards, or downwards: two children then meet in the middle) takes
// the once-gate race#<n> and records an attempt on m-race / alice@corp.test, and prints
// the gates it acquired as JSON.
//   sqlite-index-child.ts <file> <owner> <count> up|down
import { once } from 'node:events';
import { openLocalDatabase } from '../../lambdas/adapters/local/sqlite/database.ts';
import { SqliteMessageIndex } from '../../lambdas/adapters/local/sqlite/message-index.ts';
import { attempt, NOW } from './index-contract/fixtures.ts';

const [file, owner, count, direction] = process.argv.slice(2);
if (!file || !owner || !count || !direction) throw new Error('usage: sqlite-index-child.ts <file> <owner> <count> up|down');
const db = openLocalDatabase(file);
const index = new SqliteMessageIndex(db);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
const acquired: string[] = [];
for (let step = 0; step < Number(count); step += 1) {
  const n = direction === 'up' ? step : Number(count) - 1 - step;
  const key = `race#${n}`;
  if ((await index.acquireOnce(key, owner, NOW, 60_000)) === 'acquired') acquired.push(key);
  await index.recordDeliveryAttempt('m-race', 'alice@corp.test', { ...attempt(n), response: `${owner} ${n}` }, 'deferred', null);
  // As a process doing I/O between its writes would: the other one gets its turns at the lock.
  await new Promise((resolve) => setImmediate(resolve));
}
db.close();
process.stdout.write(`${JSON.stringify({ acquired })}\n`);
process.stdin.destroy();
