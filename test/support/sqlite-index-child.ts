// Child process for the SQLite index's process tests: opens the store file as a second
// stack or CLI would, says "ready" and waits for "go" on stdin (so two children start
// together), then
//   race <file> <owner> <count> up|down — for each n < count (upwards, or downwards: two
//     children then meet in the middle) takes the once-gate race#<n> and records an attempt
//     on m-race / alice@corp.test, and prints the gates it acquired as JSON;
//   write <file> — writes messages kill-<n> (record, a delivery state, a mailbox entry) one
//     after the other without end, printing "stored kill-<n>" after each has returned,
//     until it is killed.
import { once } from 'node:events';
import { openLocalDatabase } from '../../lambdas/adapters/local/sqlite/database.ts';
import { SqliteMessageIndex } from '../../lambdas/adapters/local/sqlite/message-index.ts';
import { attempt, makeEntry, makeRecord, NOW, putReceived } from './index-contract/fixtures.ts';

const [mode, file, owner, count, direction] = process.argv.slice(2);
if (!file || (mode === 'race' && (!owner || !count || !direction)) || (mode !== 'race' && mode !== 'write')) {
  throw new Error('usage: sqlite-index-child.ts race <file> <owner> <count> up|down | write <file>');
}
const db = openLocalDatabase(file);
const index = new SqliteMessageIndex(db);
process.stdout.write('ready\n');
await once(process.stdin, 'data');

if (mode === 'race') {
  const acquired: string[] = [];
  for (let step = 0; step < Number(count); step += 1) {
    const n = direction === 'up' ? step : Number(count) - 1 - step;
    const key = `race#${n}`;
    if ((await index.acquireOnce(key, owner!, NOW, 60_000)) === 'acquired') acquired.push(key);
    await index.recordDeliveryAttempt('m-race', 'alice@corp.test', { ...attempt(n), response: `${owner} ${n}` }, 'deferred', null);
    // As a process doing I/O between its writes would: the other one gets its turns at the lock.
    await new Promise((resolve) => setImmediate(resolve));
  }
  db.close();
  process.stdout.write(`${JSON.stringify({ acquired })}\n`);
  process.stdin.destroy();
} else {
  for (let n = 0; ; n += 1) {
    const id = `kill-${n}`;
    await putReceived(index, makeRecord(id));
    await index.putMailboxEntry(makeEntry('alice@corp.test', id));
    process.stdout.write(`stored ${id}\n`);
  }
}
