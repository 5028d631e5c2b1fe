// A data directory from before the store-backed queues: the messages left in the ingest and
// forward queue directories are taken over at start, with their ids and delays, never twice.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileQueue, leftoverMessages } from '../../../../../../lambdas/adapters/local/file-queue.ts';
import { type LocalDatabase, openLocalDatabase } from '../../../../../../lambdas/adapters/local/sqlite/database.ts';
import { SqliteQueue } from '../../../../../../lambdas/adapters/local/sqlite/queue.ts';
import { importFileQueue } from '../../../../../../lambdas/adapters/local/sqlite/queue-import.ts';

describe('importFileQueue', () => {
  let dir: string;
  let db: LocalDatabase;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'queue-import-'));
    db = openLocalDatabase(join(dir, 'shadowmail.db'));
  });
  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function received(queue: SqliteQueue, count: number): Promise<Array<{ id: string; body: string }>> {
    const got: Array<{ id: string; body: string }> = [];
    const consumer = queue.startConsumer(
      async (event) => {
        for (const record of event.Records) got.push({ id: record.messageId, body: record.body });
      },
      { pollIntervalMs: 20 },
    );
    for (let round = 0; round < 250 && got.length < count; round++) await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    return got;
  }

  it('moves ready, delayed and in-flight messages into the store with their ids, then deletes the files', async () => {
    // Arrange: three messages, one delayed ten minutes, one taken by a consumer that died (its lease left behind)
    const files = new FileQueue(join(dir, 'forward'), { visibilityTimeoutSeconds: 300 });
    const first = await files.send('first');
    await files.send('later', 600);
    const leased = await files.send('leased');
    let hold!: () => void;
    const held = new Promise<void>((r) => (hold = r));
    const dead = files.startConsumer(
      async (event) => {
        if (event.Records.some((record) => record.body === 'leased')) await held;
      },
      { batchSize: 10 },
    );
    for (let round = 0; round < 250 && (await files.stats()).inflight < 2; round++) await new Promise((r) => setTimeout(r, 20));
    expect(await files.stats()).toEqual({ ready: 0, delayed: 1, inflight: 2 });
    const queue = new SqliteQueue(db, 'forward', { visibilityTimeoutSeconds: 300 });

    // Act
    const imported = await importFileQueue(join(dir, 'forward'), queue, db);
    hold();
    await dead.stop();

    // Assess
    expect(imported).toBe(3);
    expect(await leftoverMessages(join(dir, 'forward'))).toEqual([]);
    const stats = await queue.stats();
    expect(stats.delayed).toBe(1);
    expect(stats.ready + stats.inflight).toBe(2);
    const got = await received(queue, 2);
    expect(got.map((message) => message.id).sort()).toEqual([first, leased].sort());
    expect(await queue.bodies()).toEqual(['later']);
  });

  it('imports a message once when an earlier import stopped before deleting its file', async () => {
    // Arrange: the first import wrote the row, then the process died before the unlink
    const files = new FileQueue(join(dir, 'ingest'), { visibilityTimeoutSeconds: 60 });
    const id = await files.send('only once');
    const queue = new SqliteQueue(db, 'ingest', { visibilityTimeoutSeconds: 60 });
    queue.write('only once', 0, id);

    // Act
    const imported = await importFileQueue(join(dir, 'ingest'), queue, db);

    // Assess
    expect(imported).toBe(1);
    expect(await queue.depth()).toBe(1);
    expect(await received(queue, 1)).toEqual([{ id, body: 'only once' }]);
  });

  it('does nothing for a directory that never held a queue', async () => {
    const queue = new SqliteQueue(db, 'ingest', { visibilityTimeoutSeconds: 60 });
    expect(await importFileQueue(join(dir, 'nothing-here'), queue, db)).toBe(0);
    expect(await queue.depth()).toBe(0);
  });
});
