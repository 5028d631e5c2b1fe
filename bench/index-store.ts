// The message index's stores side by side (issue 18): the in-memory reference, SQLite on
// disk (local mode's embedded store: WAL, synchronous=FULL) and the DynamoDB adapter on
// embedded dynalite persisted to disk (local mode before). Two figures per store:
//   writes — the index calls one message costs, without parsing: ingest's (address
//            lookups, record, mailbox entries, delivery states, enqueue gate, pending
//            count) then the forward's (record, states, relay gate, one attempt per
//            recipient, pending count), 3 recipients in 2 mailboxes;
//   ingest — bench/ingest-throughput.ts's measureIngest over the corpus (../shared/corpus).
// Not part of `npm run bench`: run it by hand, `node --import tsx bench/index-store.ts`
// (BENCH_MESSAGES sets how many messages the writes figure uses, default 2000).
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeDynamoDbClient } from '../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../lambdas/adapters/aws/message-table.ts';
import { openLocalDatabase } from '../lambdas/adapters/local/sqlite/database.ts';
import { SqliteDirectoryStore } from '../lambdas/adapters/local/sqlite/directory-store.ts';
import { SqliteMessageIndex } from '../lambdas/adapters/local/sqlite/message-index.ts';
import type { DirectoryStore } from '../lambdas/ports/directory.ts';
import type { MessageIndex } from '../lambdas/ports/message-index.ts';
import { startEmbeddedDynalite } from '../test/support/embedded-dynalite.ts';
import { makeEntry, makeRecord, makeState } from '../test/support/index-contract/fixtures.ts';
import { MemoryMessageIndex } from '../test/support/memory-message-index.ts';
import { measureIngest, readCorpus } from './ingest-throughput.ts';
import { distribution, round } from './stats.ts';

const corpusRoot = resolve(import.meta.dirname, '../../shared/corpus');
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const RECIPIENTS = ['alice@corp.test', 'sales@corp.test', 'carol@corp.test'];
const MAILBOXES = ['alice@corp.test', 'bob@corp.test'];

interface Store {
  label: string;
  index: MessageIndex;
  addresses: Pick<DirectoryStore, 'putAddresses'>;
  close(): Promise<void>;
}

/** The index calls of one message through ingest and one forward attempt, in their order. */
async function oneMessage(index: MessageIndex, n: number, run: string): Promise<void> {
  const id = `${run}-${n}`;
  const now = new Date();
  const record = makeRecord(id, { receivedAt: now.toISOString(), envelopeRecipients: RECIPIENTS });
  for (const recipient of RECIPIENTS) await index.mailboxFor(recipient);
  await index.putMessage(record);
  for (const mailbox of MAILBOXES) await index.putMailboxEntry(makeEntry(mailbox, id, { receivedAt: record.receivedAt }));
  for (const recipient of RECIPIENTS) await index.createDeliveryState(makeState(id, recipient, { receivedAt: record.receivedAt }));
  if ((await index.acquireOnce(`enqueue#${id}`, 'bench', now, 60_000)) !== 'acquired') throw new Error('gate busy');
  await index.setPendingRecipients(id, RECIPIENTS.length, record.expiresAt);
  await index.completeOnce(`enqueue#${id}`, 'bench');
  // the forward
  await index.getMessage(id, now);
  await index.getDeliveryStates(id, now);
  if ((await index.acquireOnce(`relay#${id}#0`, 'bench', now, 60_000)) !== 'acquired') throw new Error('gate busy');
  for (const recipient of RECIPIENTS) {
    await index.recordDeliveryAttempt(
      id,
      recipient,
      { at: now.toISOString(), code: 250, response: '250 ok', outcome: 'delivered' },
      'delivered',
      null,
    );
  }
  await index.completeOnce(`relay#${id}#0`, 'bench');
  await index.setPendingRecipients(id, 0, record.expiresAt);
}

async function measureWrites(store: Store) {
  for (let n = 0; n < 100; n++) await oneMessage(store.index, n, 'warm');
  const times: number[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let n = 0; n < MESSAGES; n++) {
    const at = performance.now();
    await oneMessage(store.index, n, 'run');
    times.push(performance.now() - at);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    messages: MESSAGES,
    messagesPerSecond: round(MESSAGES / seconds, 1),
    cpuMsPerMessage: round((cpu.user + cpu.system) / 1000 / MESSAGES, 2),
    perMessageMs: distribution(times, 2),
  };
}

async function stores(work: string): Promise<Array<() => Promise<Store>>> {
  return [
    async () => {
      const index = new MemoryMessageIndex();
      return { label: 'in-memory reference', index, addresses: index, close: async () => undefined };
    },
    async () => {
      const db = openLocalDatabase(join(work, `sqlite-${Date.now()}`, 'store.sqlite'));
      return {
        label: 'SqliteMessageIndex (file, WAL, synchronous=FULL)',
        index: new SqliteMessageIndex(db),
        addresses: new SqliteDirectoryStore(db),
        close: async () => void db.close(),
      };
    },
    async () => {
      const dynalite = await startEmbeddedDynalite({ path: join(work, `dynalite-${Date.now()}`), host: '127.0.0.1', port: 0 });
      const client = makeDynamoDbClient(dynalite.endpoint);
      await createMessageTable(client, 'bench');
      return {
        label: 'DynamoDbMessageIndex on embedded dynalite (LevelDB on disk)',
        index: new DynamoDbMessageIndex({ client, tableName: 'bench' }),
        addresses: new DynamoDbDirectoryStore({ client, tableName: 'bench' }),
        close: async () => {
          client.destroy();
          await dynalite.close();
        },
      };
    },
  ];
}

const work = await mkdtemp(join(tmpdir(), 'shadowmail-index-bench-'));
const results: unknown[] = [];
try {
  const rows = readCorpus(corpusRoot);
  for (const open of await stores(work)) {
    const writesStore = await open();
    await writesStore.addresses.putAddresses([{ address: 'sales@corp.test', mailbox: 'bob@corp.test' }]);
    const writes = await measureWrites(writesStore);
    await writesStore.close();
    const ingestStore = await open();
    const ingest = await measureIngest({
      label: ingestStore.label,
      corpusRoot,
      rows,
      index: ingestStore.index,
      addresses: ingestStore.addresses,
      warmupMessages: 40,
      passes: 1,
    });
    await ingestStore.close();
    const result = {
      store: writesStore.label,
      writes,
      ingest: { messagesPerSecond: ingest.messagesPerSecond, corpusMessages: ingest.corpusMessages, perMessageMs: ingest.perMessageMs },
    };
    console.error(JSON.stringify(result));
    results.push(result);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
console.log(
  JSON.stringify({ at: new Date().toISOString(), loadavg: loadavg().map((l) => round(l, 2)), tmpdir: tmpdir(), results }, null, 2),
);
