// The contract of local mode's durable SQS stand-ins (file-queue.ts, sqlite/queue.ts):
// delivery order, delays, the visibility timeout after a failure and ChangeMessageVisibility,
// partial batch failures, and no message lost when the consumer dies, whether abandoned in
// this process or SIGKILLed as a real child process (queue-child.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileMessageVisibility } from '../../lambdas/adapters/local/file-message-visibility.ts';
import type { ConsumerOptions, LocalQueue, QueueConsumer } from '../../lambdas/adapters/local/local-queue.ts';
import { InvalidInputError } from '../../lambdas/core/errors.ts';

const CHILD = resolve(import.meta.dirname, 'queue-child.ts');

export interface LocalQueueKit {
  /** Passed to queue-child.ts: which queue the child opens. */
  kind: 'file' | 'sqlite';
  /** A queue instance named `name` under `dir`; a second call opens the same queue again (a restart). */
  open(dir: string, name: string, visibilityTimeoutSeconds: number): LocalQueue;
  closeAll(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Delivery {
  record: SQSRecord;
  at: number;
  batch: number;
}

export function describeLocalQueue(title: string, kit: LocalQueueKit): void {
  describe(title, () => {
    let dir: string;
    const consumers: QueueConsumer[] = [];
    const children: ChildProcess[] = [];

    /** Starts a consumer that records every delivery; `decide` returns the batch response. */
    function consume(
      queue: LocalQueue,
      decide: (event: SQSEvent, batch: number) => Promise<SQSBatchResponse | void> = async () => undefined,
      options: ConsumerOptions = {},
    ): { deliveries: Delivery[]; consumer: QueueConsumer } {
      const deliveries: Delivery[] = [];
      let batch = 0;
      const consumer = queue.startConsumer(
        async (event) => {
          batch += 1;
          for (const record of event.Records) deliveries.push({ record, at: Date.now(), batch });
          return decide(event, batch);
        },
        { pollIntervalMs: 50, onError: () => undefined, ...options },
      );
      consumers.push(consumer);
      return { deliveries, consumer };
    }

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), `${kit.kind}-queue-`));
    });

    afterEach(async () => {
      for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(consumers.splice(0).map((consumer) => Promise.race([consumer.stop(), sleep(2_000)])));
      kit.closeAll();
      await rm(dir, { recursive: true, force: true });
    });

    it('delivers SQS-shaped records oldest first and deletes what the handler took', async () => {
      // Prepare
      const queue = kit.open(dir, 'ingest', 30);
      const sent: string[] = [];
      for (let n = 0; n < 7; n++) sent.push(await queue.send(JSON.stringify({ n, text: 'Grüße €' })));

      // Act
      const { deliveries } = consume(queue, undefined, { batchSize: 3 });
      await waitFor('7 deliveries', () => (deliveries.length >= 7 ? true : undefined));
      await waitFor('empty queue', async () => ((await queue.depth()) === 0 ? true : undefined));

      // Assess
      expect(deliveries.map((d) => d.record.messageId)).toEqual(sent);
      expect(deliveries.map((d) => d.batch)).toEqual([1, 1, 1, 2, 2, 2, 3]);
      const record = deliveries[0]!.record;
      expect(JSON.parse(record.body)).toEqual({ n: 0, text: 'Grüße €' });
      expect(record).toMatchObject({
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:local:000000000000:ingest',
        awsRegion: 'local',
        messageAttributes: {},
        md5OfBody: createHash('md5').update(record.body, 'utf8').digest('hex'),
      });
      expect(record.attributes.ApproximateReceiveCount).toBe('1');
      expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
      expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(record.attributes.SentTimestamp));
      expect(record.receiptHandle).toBeTruthy();
      await sleep(200);
      expect(deliveries).toHaveLength(7);
      expect(await queue.stats()).toEqual({ ready: 0, delayed: 0, inflight: 0 });
    });

    it('holds a delayed message back until its delay has passed', async () => {
      // Prepare
      const queue = kit.open(dir, 'queue', 30);
      const sentAt = Date.now();
      const late = await queue.send('late', 1);
      const early = await queue.send('early');
      const statsBefore = await queue.stats();

      // Act
      const { deliveries } = consume(queue);
      await waitFor('both', () => (deliveries.length >= 2 ? true : undefined));

      // Assess
      expect(statsBefore).toEqual({ ready: 1, delayed: 1, inflight: 0 });
      expect(deliveries.map((d) => d.record.messageId)).toEqual([early, late]);
      expect(deliveries[1]!.at - sentAt).toBeGreaterThanOrEqual(1_000);
    });

    it('runs beforeSettle after the handler and before it removes anything; when it fails, the batch comes back', async () => {
      // Prepare
      const queue = kit.open(dir, 'queue', 1);
      const ids = [await queue.send('one'), await queue.send('two')];
      const settles: Array<{ deliveredBefore: number; depth: number }> = [];
      let deliveredCount = 0;

      // Act: the first fsync fails, the second succeeds
      const { deliveries } = consume(
        queue,
        async (event) => {
          deliveredCount += event.Records.length;
        },
        {
          batchSize: 2,
          beforeSettle: async () => {
            settles.push({ deliveredBefore: deliveredCount, depth: await queue.depth() });
            if (settles.length === 1) throw new Error('fsync failed');
          },
        },
      );
      await waitFor('redelivery of both', () => (deliveries.length >= 4 ? true : undefined), 5_000);
      await waitFor('empty queue', async () => ((await queue.depth()) === 0 ? true : undefined));

      // Assess
      expect(deliveries.map((d) => d.record.messageId)).toEqual([...ids, ...ids]);
      expect(settles).toEqual([
        { deliveredBefore: 2, depth: 2 },
        { deliveredBefore: 4, depth: 2 },
      ]);
    });

    it('makes a message visible again only after the visibility timeout when the handler throws', async () => {
      // Prepare
      const queue = kit.open(dir, 'queue', 1);
      const id = await queue.send('flaky');

      // Act
      const { deliveries } = consume(queue, async (_event, batch) => {
        if (batch === 1) throw new Error('primary down');
      });
      await waitFor('first delivery', () => (deliveries.length >= 1 ? true : undefined));
      await sleep(300);
      const statsBetween = await queue.stats();
      await waitFor('redelivery', () => (deliveries.length >= 2 ? true : undefined), 5_000);
      await waitFor('deleted', async () => ((await queue.depth()) === 0 ? true : undefined));

      // Assess
      expect(statsBetween).toEqual({ ready: 0, delayed: 0, inflight: 1 });
      expect(deliveries.map((d) => d.record.messageId)).toEqual([id, id]);
      expect(deliveries.map((d) => d.record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
      // Visible again one visibility timeout after the first receive, not earlier.
      expect(deliveries[1]!.at - Number(deliveries[0]!.record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(1_000);
      expect(deliveries[1]!.record.attributes.ApproximateFirstReceiveTimestamp).toBe(
        deliveries[0]!.record.attributes.ApproximateFirstReceiveTimestamp,
      );
    });

    it('changeVisibility (ChangeMessageVisibility): a failed message comes back when the time set there runs out, not after the queue timeout', async () => {
      // Prepare: an hour's visibility timeout, which the handler shortens to 1 s before it fails
      const queue = kit.open(dir, 'queue', 3_600);
      const visibility = new FileMessageVisibility(queue);
      const id = await queue.send('flaky');
      const other = await queue.send('fine');

      // Act
      const { deliveries } = consume(
        queue,
        async (event, batch) => {
          if (batch !== 1) return { batchItemFailures: [] };
          const flaky = event.Records.find((record) => record.messageId === id)!;
          await visibility.retryAfter(flaky.receiptHandle, 1);
          return { batchItemFailures: [{ itemIdentifier: id }] };
        },
        { batchSize: 10 },
      );
      await waitFor('first batch', () => (deliveries.length >= 2 ? true : undefined));
      const statsBetween = await queue.stats();
      await waitFor('redelivery', () => (deliveries.length >= 3 ? true : undefined), 10_000);
      await waitFor('deleted', async () => ((await queue.depth()) === 0 ? true : undefined));

      // Assess: only the failed one again, at its second receive, at least the second asked for after the change
      expect(statsBetween).toEqual({ ready: 0, delayed: 0, inflight: 1 });
      expect(deliveries.map((d) => d.record.messageId)).toEqual([id, other, id]);
      expect(deliveries[2]!.record.attributes.ApproximateReceiveCount).toBe('2');
      expect(deliveries[2]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(1_000);
    });

    it('changeVisibility refuses a message that is not in flight, and a time SQS would refuse', async () => {
      // Prepare
      const queue = kit.open(dir, 'queue', 30);
      await queue.send('m');
      let handle = '';
      const { deliveries } = consume(queue, async (event) => {
        handle = event.Records[0]!.receiptHandle;
        await expect(queue.changeVisibility(handle, 43_201)).rejects.toThrow(InvalidInputError);
        await expect(queue.changeVisibility(handle, 1.5)).rejects.toThrow(InvalidInputError);
      });
      await waitFor('delivery', () => (deliveries.length >= 1 ? true : undefined));
      await waitFor('deleted', async () => ((await queue.depth()) === 0 ? true : undefined));

      // Act / Assess: deleted, and a handle nobody received
      await expect(queue.changeVisibility(handle, 10)).rejects.toThrow(/not in flight/);
      await expect(queue.changeVisibility('no-such-handle', 10)).rejects.toThrow(/not in flight/);
    });

    it('retries only the items listed in batchItemFailures, and the whole batch for an unknown identifier', async () => {
      // Prepare
      const queue = kit.open(dir, 'queue', 1);
      const ids: string[] = [];
      for (let n = 0; n < 4; n++) ids.push(await queue.send(`m${n}`));

      // Act: batch 1 fails m1 and m3; batch 2 (m1, m3) names an id not in the batch
      const { deliveries } = consume(
        queue,
        async (_event, batch) => {
          if (batch === 1) return { batchItemFailures: [{ itemIdentifier: ids[1]! }, { itemIdentifier: ids[3]! }] };
          if (batch === 2) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
          return { batchItemFailures: [] };
        },
        { batchSize: 10 },
      );
      await waitFor('third batch', () => (deliveries.some((d) => d.batch === 3) && deliveries.length >= 8 ? true : undefined), 10_000);
      await waitFor('deleted', async () => ((await queue.depth()) === 0 ? true : undefined));

      // Assess
      const byBatch = (b: number) => deliveries.filter((d) => d.batch === b).map((d) => d.record.body);
      expect(byBatch(1)).toEqual(['m0', 'm1', 'm2', 'm3']);
      expect(byBatch(2)).toEqual(['m1', 'm3']);
      expect(byBatch(3)).toEqual(['m1', 'm3']);
      expect(deliveries.filter((d) => d.batch === 3).map((d) => d.record.attributes.ApproximateReceiveCount)).toEqual(['3', '3']);
    });

    it('redelivers at once after a restart what the dead consumer had in flight, without waiting for the lease', async () => {
      // Prepare: the first consumer takes everything and never finishes (a process that hangs, then dies)
      const before = kit.open(dir, 'queue', 300);
      const ids = [await before.send('a'), await before.send('b'), await before.send('c')];
      let releaseHung!: () => void;
      const hung = new Promise<void>((r) => (releaseHung = r));
      const first = consume(before, async () => {
        await hung;
        throw new Error('the old process is gone');
      });
      await waitFor('first consumer holds all', () => (first.deliveries.length === 3 ? true : undefined));
      const statsAtCrash = await before.stats();

      // Act: a new instance on the same directory, as after a restart
      const after = kit.open(dir, 'queue', 300);
      const second = consume(after);
      await waitFor('redelivery', () => (second.deliveries.length === 3 ? true : undefined), 5_000);
      releaseHung();
      await waitFor('deleted', async () => ((await after.depth()) === 0 ? true : undefined));

      // Assess
      expect(statsAtCrash).toEqual({ ready: 0, delayed: 0, inflight: 3 });
      expect(second.deliveries.map((d) => d.record.messageId).sort()).toEqual([...ids].sort());
      expect(second.deliveries.map((d) => d.record.attributes.ApproximateReceiveCount)).toEqual(['2', '2', '2']);
      await sleep(300);
      expect(first.deliveries).toHaveLength(3);
      expect(second.deliveries).toHaveLength(3);
    });

    it('loses nothing when the consuming process is SIGKILLed in the middle of a batch', async () => {
      // Prepare
      const queue = kit.open(dir, 'queue', 300);
      const sent: string[] = [];
      for (let n = 0; n < 40; n++) sent.push(await queue.send(`message ${n}`));
      const log = join(dir, 'child.log');
      await writeFile(log, '');
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, kit.kind, 'consume', dir, 'queue', log, '4'], { stdio: 'inherit' });
      children.push(child);
      const readLog = async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean);
      await waitFor('child hangs in batch 4', async () => ((await readLog()).includes('hang') ? true : undefined), 30_000);

      // Act
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const lines = await readLog();
      const done = new Set(lines.filter((l) => l.startsWith('done ')).map((l) => l.split(' ')[2]!));
      const hungIds = lines.filter((l) => l.startsWith('recv 4 ')).map((l) => l.split(' ')[2]!);
      const statsAfterKill = await queue.stats();
      const restarted = kit.open(dir, 'queue', 300);
      const { deliveries } = consume(restarted);
      await waitFor('the rest', () => (deliveries.length >= sent.length - done.size ? true : undefined), 10_000);
      await sleep(300);

      // Assess
      expect(done.size).toBe(15); // three finished batches of five, deleted before batch 4 started
      expect(hungIds).toHaveLength(5);
      expect(statsAfterKill.inflight).toBe(5);
      const received = deliveries.map((d) => d.record.messageId);
      expect(new Set(received).size).toBe(received.length);
      expect(received.sort()).toEqual(sent.filter((id) => !done.has(id)).sort());
      for (const delivery of deliveries) {
        expect(delivery.record.attributes.ApproximateReceiveCount).toBe(hungIds.includes(delivery.record.messageId) ? '2' : '1');
      }
      expect(await restarted.depth()).toBe(0);
    });

    it('loses no acknowledged send when the sending process is SIGKILLed, and picks up its messages while consuming', async () => {
      // Prepare: a consumer in this process, a sender in another one
      const queue = kit.open(dir, 'queue', 300);
      const { deliveries, consumer } = consume(queue);
      await consumer.started;
      const log = join(dir, 'sender.log');
      await writeFile(log, '');
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, kit.kind, 'send', dir, 'queue', log, '100000', '16'], {
        stdio: 'inherit',
      });
      children.push(child);
      const sentIds = async () =>
        (await readFile(log, 'utf8'))
          .split('\n')
          .filter((l) => l.startsWith('sent '))
          .map((l) => l.split(' ')[1]!);

      // Act
      await waitFor('200 acknowledged sends', async () => ((await sentIds()).length >= 200 ? true : undefined), 30_000);
      // It may have sent all it was asked to and exited already.
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const acknowledged = await sentIds();
      // Delivered through fs.watch: the rescan interval is far longer than this wait.
      await waitFor(
        'every acknowledged send delivered',
        () => {
          const received = new Set(deliveries.map((d) => d.record.messageId));
          return acknowledged.every((id) => received.has(id)) ? true : undefined;
        },
        15_000,
      );
      await waitFor('queue drained', async () => ((await queue.depth()) === 0 ? true : undefined), 15_000);

      // Assess
      for (const delivery of deliveries) expect(JSON.parse(delivery.record.body)).toMatchObject({ n: expect.any(Number) });
      const received = deliveries.map((d) => d.record.messageId);
      expect(new Set(received).size).toBe(received.length);
      // Sent but not yet acknowledged when killed: may or may not be there, never half.
      expect(received.length).toBeGreaterThanOrEqual(acknowledged.length);
      expect(received.length).toBeLessThanOrEqual(acknowledged.length + 16);
    });

    it('lets timers and I/O run between batches while a backlog is consumed by a handler that never waits', async () => {
      // Prepare: a backlog of 50 batches; the queue's own calls are synchronous except fsync.
      const queue = kit.open(dir, 'queue', 30);
      await Promise.all(Array.from({ length: 500 }, (_, n) => queue.send(JSON.stringify({ n }))));
      let deliveredWhenTimerRan: number | null = null;

      // Act
      const { deliveries, consumer } = consume(queue, undefined, { batchSize: 10 });
      await consumer.started;
      setTimeout(() => (deliveredWhenTimerRan = deliveries.length), 0);
      await waitFor('500 deliveries', () => (deliveries.length >= 500 ? true : undefined));

      // Assess: the timer did not wait for the whole backlog.
      expect(deliveredWhenTimerRan).not.toBeNull();
      expect(deliveredWhenTimerRan!).toBeLessThan(500);
    });

    it('refuses what SQS would refuse', async () => {
      // Prepare
      const queue = kit.open(dir, 'queue', 30);

      // Act
      const attempts = [queue.send('x', 901), queue.send('x', -1), queue.send('x', 1.5), queue.send('x'.repeat(256 * 1024 + 1))].map((p) =>
        p.then(
          () => null,
          (e: unknown) => e,
        ),
      );

      // Assess
      for (const error of await Promise.all(attempts)) expect(error).toBeInstanceOf(InvalidInputError);
      expect(await queue.depth()).toBe(0);
    });
  });
}
