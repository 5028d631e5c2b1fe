// The SQLite queue (local mode's ingest and forward queues) against the local queues'
// contract, and its send for a consumer's handler.
import { copyFileSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { SqliteQueue } from '../../../../../../lambdas/adapters/local/sqlite/queue.ts';
import { describeLocalQueue } from '../../../../../support/local-queue-contract.ts';
import { sqliteQueueFile, sqliteQueueKit } from '../../../../../support/local-queue-kits.ts';

describeLocalQueue('SqliteQueue', sqliteQueueKit);

it('sendFromHandler: the message is there and its consumer woken at once, before any fsync', async () => {
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
    const id = await queue.sendFromHandler('job', 0);
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

it('a message sent while a worker sleeps is handed to it leased, and after the batch the worker sleeps without a lease attempt', async () => {
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
    // Assess: no lease transaction for the message, none after it
    expect(received).toEqual(['only']);
    expect(takes - takesAtRest).toBe(0);
    expect(await queue.stats()).toMatchObject({ ready: 0, inflight: 0 });
  } finally {
    await consumer.stop();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('hands a message over only to a sleeping worker no other handed message counts on: the rest is leased as before, each once', async () => {
  // Arrange: one worker; the handler's first call blocks until released; take() counted
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  const queue = new SqliteQueue(db, 'forward', { visibilityTimeoutSeconds: 30 });
  let takes = 0;
  const take = queue.take.bind(queue);
  queue.take = (owner, limit) => {
    takes++;
    return take(owner, limit);
  };
  let release = (): void => undefined;
  const blocked = new Promise<void>((resolve) => {
    release = resolve;
  });
  const received: { body: string; count: string | undefined }[] = [];
  const consumer = queue.startConsumer(
    async (event) => {
      for (const record of event.Records) {
        received.push({ body: record.body, count: record.attributes.ApproximateReceiveCount });
        if (record.body === 'first') await blocked;
      }
    },
    { pollIntervalMs: 10_000, batchSize: 1 },
  );
  await consumer.started;
  await new Promise((r) => setTimeout(r, 50));
  try {
    // Act: two sends in one turn (one sleeper), a third while the worker is busy
    const takesAtRest = takes;
    await Promise.all([queue.sendFromHandler('first'), queue.sendFromHandler('second')]);
    await new Promise((r) => setTimeout(r, 50));
    await queue.send('third');
    const whileBusy = await queue.stats();
    release();
    for (let round = 0; round < 200 && received.length < 3; round++) await new Promise((r) => setTimeout(r, 10));

    // Assess: the first handed, the others ready until the worker leased them; each received once
    expect(whileBusy).toEqual({ ready: 2, delayed: 0, inflight: 1 });
    expect(received.map((r) => r.body)).toEqual(['first', 'second', 'third']);
    expect(received.every((r) => r.count === '1')).toBe(true);
    expect(takes - takesAtRest).toBeGreaterThanOrEqual(2);
    expect(await queue.stats()).toEqual({ ready: 0, delayed: 0, inflight: 0 });
  } finally {
    release();
    await consumer.stop();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('a message handed to a consumer that stops before taking it is ready again at once, as never received', async () => {
  // Arrange
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  const queue = new SqliteQueue(db, 'forward', { visibilityTimeoutSeconds: 300 });
  const received: string[] = [];
  const consumer = queue.startConsumer(
    async (event) => {
      for (const record of event.Records) received.push(record.body);
    },
    { pollIntervalMs: 10_000 },
  );
  await consumer.started;
  await new Promise((r) => setTimeout(r, 50));
  const later: string[] = [];
  try {
    // Act: the send and the stop in one turn, before the worker runs
    const sent = queue.sendFromHandler('job');
    const stopped = consumer.stop();
    await sent;
    await stopped;
    const afterStop = await queue.stats();
    const next = queue.startConsumer(
      async (event) => {
        for (const record of event.Records) later.push(`${record.body} ${record.attributes.ApproximateReceiveCount}`);
      },
      { pollIntervalMs: 20 },
    );
    for (let round = 0; round < 100 && later.length === 0; round++) await new Promise((r) => setTimeout(r, 10));
    await next.stop();

    // Assess: not left leased for 300 s; the next receive is the message's first
    expect(received).toEqual([]);
    expect(afterStop).toEqual({ ready: 1, delayed: 0, inflight: 0 });
    expect(later).toEqual(['job 1']);
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

it('idle workers take turns at looking: one look per poll interval for all four, and messages another connection sends are still taken by all four at once', async () => {
  // Arrange: four workers polling every 200 ms, nextDue() counted; a handler that takes 300 ms
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  const other = sqliteQueueFile(dir);
  const queue = new SqliteQueue(db, 'forward', { visibilityTimeoutSeconds: 30, sweepIntervalMs: 60_000 });
  const otherQueue = new SqliteQueue(other, 'forward', { visibilityTimeoutSeconds: 30 });
  let looks = 0;
  const nextDue = queue.nextDue.bind(queue);
  queue.nextDue = () => {
    looks++;
    return nextDue();
  };
  const starts: number[] = [];
  const received: string[] = [];
  const consumer = queue.startConsumer(
    async (event) => {
      starts.push(Date.now());
      await new Promise((r) => setTimeout(r, 300));
      for (const record of event.Records) received.push(record.body);
    },
    { pollIntervalMs: 200, concurrency: 4, batchSize: 1 },
  );
  await consumer.started;
  await new Promise((r) => setTimeout(r, 50));
  try {
    // Act: a second of nothing (with a timer per worker: ~20 looks), then four messages no sleeper hears of
    const looksAtRest = looks;
    await new Promise((r) => setTimeout(r, 1_000));
    const looksWhileIdle = looks - looksAtRest;
    // write(): a commit of another connection that wakes nobody, as another process's send
    for (let n = 0; n < 4; n++) otherQueue.write(`from-another-process ${n}`, 0, `other-${n}`);
    for (let round = 0; round < 300 && received.length < 4; round++) await new Promise((r) => setTimeout(r, 10));

    // Assess: about one look per 200 ms (timers run late on a busy machine, never early); the
    // worker that found the sends woke the others at once, not one more each poll interval
    expect(looksWhileIdle).toBeGreaterThanOrEqual(2);
    expect(looksWhileIdle).toBeLessThanOrEqual(8);
    expect(received.sort()).toEqual([0, 1, 2, 3].map((n) => `from-another-process ${n}`));
    expect(starts).toHaveLength(4);
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(150);
  } finally {
    await consumer.stop();
    db.close();
    other.close();
    await rm(dir, { recursive: true, force: true });
  }
});

// design.md 12.28: the ingest and forward consumers delete a message without an fsync
// first. What a power cut leaves of the log is one of its prefixes (the frames up to the
// first one not on disk: each frame's checksum covers the ones before it), here every
// one of them, and a prefix cut by a lost frame in the middle of what is on disk.
it('a consumer’s delete is never kept without what its handler sent, whatever prefix of the log a power cut keeps', async () => {
  // Arrange: 12 messages, each handled by sending a job to a second queue in the same store
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-queue-'));
  const db = sqliteQueueFile(dir);
  db.pragma('wal_autocheckpoint = 0');
  const ingest = new SqliteQueue(db, 'ingest', { visibilityTimeoutSeconds: 30 });
  const forward = new SqliteQueue(db, 'forward', { visibilityTimeoutSeconds: 30 });
  const ids: string[] = [];
  for (let n = 0; n < 12; n++) ids.push(await ingest.send(`message ${n}`, 0));
  // what was there before the handling is in the database file, the handling in the log alone
  db.pragma('wal_checkpoint(TRUNCATE)');
  const consumer = ingest.startConsumer(
    async (event) => {
      for (const record of event.Records) await forward.sendFromHandler(`job for ${record.messageId}`, 0);
    },
    { batchSize: 3, pollIntervalMs: 20 },
  );
  try {
    for (let round = 0; round < 200 && (await ingest.stats()).ready + (await ingest.stats()).inflight > 0; round++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await consumer.stop();
    const wal = readFileSync(`${db.name}-wal`);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const frameBytes = 24 + pageSize;
    const frames = Math.floor((wal.length - 32) / frameBytes);
    const recovered = (walBytes: Buffer): { ingest: Set<string>; jobs: Set<string> } => {
      const copy = join(dir, 'copy.db');
      for (const suffix of ['', '-wal', '-shm']) rmQuiet(`${copy}${suffix}`);
      copyFileSync(db.name, copy);
      writeFileSync(`${copy}-wal`, walBytes);
      const after = new Database(copy);
      try {
        const rows = after.prepare('SELECT queue, id, body FROM queue_message').all() as { queue: string; id: string; body: string }[];
        return {
          ingest: new Set(rows.filter((row) => row.queue === 'ingest').map((row) => row.id)),
          jobs: new Set(rows.filter((row) => row.queue === 'forward').map((row) => row.body.replace('job for ', ''))),
        };
      } finally {
        after.close();
      }
    };

    // Act: every prefix at a frame boundary, and each frame lost with the ones after it kept
    const states = [];
    for (let kept = 0; kept <= frames; kept++) states.push(recovered(wal.subarray(0, 32 + kept * frameBytes)));
    const holes = [];
    for (let lost = 0; lost < frames; lost += 3) {
      const bytes = Buffer.from(wal);
      bytes.fill(0, 32 + lost * frameBytes + 24, 32 + (lost + 1) * frameBytes);
      holes.push({ lost, state: recovered(bytes), prefix: states[lost] });
    }

    // Assess: no message gone from the ingest queue without its job; the prefixes include
    // some where part of the messages were handled (so the check had something to check)
    for (const state of [...states, ...holes.map((hole) => hole.state)]) {
      for (const id of ids) if (!state.ingest.has(id)) expect(state.jobs.has(id), `${id} deleted without its job`).toBe(true);
    }
    const handled = states.map((state) => ids.filter((id) => !state.ingest.has(id)).length);
    expect(handled.at(-1)).toBe(12);
    expect(handled.some((count) => count > 0 && count < 12)).toBe(true);
    for (const hole of holes) expect(hole.state).toEqual(hole.prefix);
  } finally {
    await consumer.stop();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}
