// Child process for the file-queue crash tests: consumes from or sends to a queue
// directory and logs every step synchronously, so the parent can SIGKILL it at a
// known point and compare what survived.
//   file|sqlite consume <dir> <name> <log> <hangOnBatch>   batches of 5; batch number <hangOnBatch> never finishes
//   file|sqlite send <dir> <name> <log> <count> <parallel> logs "sent <id> <n>" after each send resolved
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileQueue } from '../../lambdas/adapters/local/file-queue.ts';
import type { LocalQueue } from '../../lambdas/adapters/local/local-queue.ts';
import { SqliteQueue } from '../../lambdas/adapters/local/sqlite/queue.ts';
import { sqliteQueueFile } from './local-queue-kits.ts';

const [kind, mode, dir, name, log, first, second] = process.argv.slice(2);
if (!dir || !name || !log) throw new Error('usage: queue-child.ts file|sqlite consume|send <dir> <name> <log> ...');
const write = (line: string): void => appendFileSync(log, `${line}\n`);
const queue: LocalQueue =
  kind === 'sqlite'
    ? new SqliteQueue(sqliteQueueFile(dir), name, { visibilityTimeoutSeconds: 300 })
    : new FileQueue(join(dir, name), { visibilityTimeoutSeconds: 300 });

if (mode === 'consume') {
  const hangOnBatch = Number(first);
  let batchNumber = 0;
  const consumer = queue.startConsumer(
    async (event) => {
      batchNumber += 1;
      const batch = batchNumber;
      for (const record of event.Records) write(`recv ${batch} ${record.messageId} ${record.attributes.ApproximateReceiveCount}`);
      if (batch === hangOnBatch) {
        write('hang');
        await new Promise(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const record of event.Records) write(`done ${batch} ${record.messageId}`);
    },
    { batchSize: 5, pollIntervalMs: 50 },
  );
  await consumer.started;
  write('ready');
} else if (mode === 'send') {
  const count = Number(first);
  const parallel = Number(second);
  let next = 0;
  write('ready');
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const n = next++;
        const id = await queue.send(JSON.stringify({ n, padding: 'x'.repeat(200) }));
        write(`sent ${id} ${n}`);
      }
    }),
  );
  write('finished');
} else {
  throw new Error(`unknown mode ${mode}`);
}
