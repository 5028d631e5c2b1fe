// The SQLite queue (local mode's ingest and forward queues) against the local queues'
// contract, and its send for a consumer's handler.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SqliteQueue } from '../../../../../../lambdas/adapters/local/sqlite/queue.ts';
import { describeLocalQueue } from '../../../../../support/local-queue-contract.ts';
import { sqliteQueueFile, sqliteQueueKit } from '../../../../../support/local-queue-kits.ts';

describeLocalQueue('SqliteQueue', sqliteQueueKit);

it('sendBeforeSettle: the message is there and its consumer woken at once, before any fsync', async () => {
  // Arrange: a consumer that would otherwise look only every 10 s
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  const queue = new SqliteQueue(db, 'forward', { visibilityTimeoutSeconds: 30 });
  const received: string[] = [];
  const consumer = queue.startConsumer(
    async (event) => {
      for (const record of event.Records) received.push(record.body);
    },
    { pollIntervalMs: 10_000 },
  );
  await consumer.started;
  await new Promise((r) => setTimeout(r, 50));
  try {
    // Act
    const started = Date.now();
    const id = await queue.sendBeforeSettle('job', 0);
    const stats = await queue.stats();
    for (let round = 0; round < 100 && received.length === 0; round++) await new Promise((r) => setTimeout(r, 10));
    // Assess
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(stats.ready + stats.inflight).toBe(1);
    expect(received).toEqual(['job']);
    expect(Date.now() - started).toBeLessThan(2_000);
  } finally {
    await consumer.stop();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('wakes one worker per send and loses no wake-up: sends while every worker is busy are taken when one is done', async () => {
  // Arrange: four workers that would otherwise look only every 10 s, a handler that takes 100 ms
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  const queue = new SqliteQueue(db, 'forward', { visibilityTimeoutSeconds: 30 });
  const received: string[] = [];
  const consumer = queue.startConsumer(
    async (event) => {
      await new Promise((r) => setTimeout(r, 100));
      for (const record of event.Records) received.push(record.body);
    },
    { pollIntervalMs: 10_000, concurrency: 4, batchSize: 1 },
  );
  await consumer.started;
  await new Promise((r) => setTimeout(r, 50));
  try {
    // Act: ten sends at once, more than there are workers
    const started = Date.now();
    await Promise.all(Array.from({ length: 10 }, (_, n) => queue.send(`m${n}`)));
    for (let round = 0; round < 300 && received.length < 10; round++) await new Promise((r) => setTimeout(r, 10));
    // Assess: three rounds of four workers, far less than one poll interval
    expect(received.sort()).toEqual(Array.from({ length: 10 }, (_, n) => `m${n}`).sort());
    expect(Date.now() - started).toBeLessThan(2_500);
  } finally {
    await consumer.stop();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('after a batch with nothing else due the worker sleeps without another lease attempt', async () => {
  // Arrange: one worker that would otherwise look only every 10 s; take() counted
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  const queue = new SqliteQueue(db, 'ingest', { visibilityTimeoutSeconds: 30 });
  let takes = 0;
  const take = queue.take.bind(queue);
  queue.take = (owner, limit) => {
    takes++;
    return take(owner, limit);
  };
  const received: string[] = [];
  const consumer = queue.startConsumer(
    async (event) => {
      for (const record of event.Records) received.push(record.body);
    },
    { pollIntervalMs: 10_000, batchSize: 10 },
  );
  await consumer.started;
  await new Promise((r) => setTimeout(r, 50));
  const takesAtRest = takes;
  try {
    // Act: one message, then time for any further look
    await queue.send('only');
    for (let round = 0; round < 100 && received.length === 0; round++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    // Assess: one lease for the one message, none after it
    expect(received).toEqual(['only']);
    expect(takes - takesAtRest).toBe(1);
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0 });
  } finally {
    await consumer.stop();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('a message sent while the worker is busy, or by another connection, is still taken at once after the batch', async () => {
  // Arrange: one worker that would otherwise look only every 10 s; the handler's first
  // call sends one message on this connection and one on a second connection to the file
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  const other = sqliteQueueFile(dir);
  const queue = new SqliteQueue(db, 'ingest', { visibilityTimeoutSeconds: 30 });
  const otherQueue = new SqliteQueue(other, 'ingest', { visibilityTimeoutSeconds: 30 });
  const received: string[] = [];
  const consumer = queue.startConsumer(
    async (event) => {
      for (const record of event.Records) {
        received.push(record.body);
        if (record.body === 'first') {
          // Past the wake-up: the worker is busy, so no sleeper hears these sends.
          await queue.send('same-connection');
          await otherQueue.send('other-connection');
        }
      }
    },
    { pollIntervalMs: 10_000, batchSize: 10 },
  );
  await consumer.started;
  await new Promise((r) => setTimeout(r, 50));
  try {
    // Act
    const started = Date.now();
    await queue.send('first');
    for (let round = 0; round < 200 && received.length < 3; round++) await new Promise((r) => setTimeout(r, 10));
    // Assess: far less than one poll interval
    expect(received).toEqual(['first', 'same-connection', 'other-connection']);
    expect(Date.now() - started).toBeLessThan(2_000);
  } finally {
    await consumer.stop();
    db.close();
    other.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('idle workers look with a read, not a lease: none while nothing is due, and another connection’s send is still found by the poll', async () => {
  // Arrange: four workers polling every 20 ms and a lease sweep every 50 ms; take() counted
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  const other = sqliteQueueFile(dir);
  const queue = new SqliteQueue(db, 'forward', { visibilityTimeoutSeconds: 30, sweepIntervalMs: 50 });
  const otherQueue = new SqliteQueue(other, 'forward', { visibilityTimeoutSeconds: 30 });
  let takes = 0;
  const take = queue.take.bind(queue);
  queue.take = (owner, limit) => {
    takes++;
    return take(owner, limit);
  };
  const received: string[] = [];
  const consumer = queue.startConsumer(
    async (event) => {
      for (const record of event.Records) received.push(record.body);
    },
    { pollIntervalMs: 20, concurrency: 4, batchSize: 1 },
  );
  await consumer.started;
  await new Promise((r) => setTimeout(r, 50));
  try {
    // Act: half a second of nothing (~100 polls, ~10 sweeps), then a send no sleeper hears
    const takesAtRest = takes;
    await new Promise((r) => setTimeout(r, 500));
    const takesWhileIdle = takes - takesAtRest;
    await otherQueue.send('from-another-process');
    for (let round = 0; round < 100 && received.length === 0; round++) await new Promise((r) => setTimeout(r, 10));

    // Assess
    expect(takesWhileIdle).toBe(0);
    expect(received).toEqual(['from-another-process']);
  } finally {
    await consumer.stop();
    db.close();
    other.close();
    await rm(dir, { recursive: true, force: true });
  }
});
