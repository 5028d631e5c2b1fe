// The file queue against the local queues' contract (test/support/local-queue-contract.ts),
// and the forward queue's job format on it.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clampDelay, FileForwardQueue } from '../../../../../lambdas/adapters/local/file-forward-queue.ts';
import { FileQueue } from '../../../../../lambdas/adapters/local/file-queue.ts';
import type { ForwardJob } from '../../../../../lambdas/core/model.ts';
import { describeLocalQueue } from '../../../../support/local-queue-contract.ts';
import { fileQueueKit } from '../../../../support/local-queue-kits.ts';
import { waitFor } from '../../../../support/wait.ts';

describeLocalQueue('FileQueue', fileQueueKit);

describe('FileForwardQueue', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-forward-queue-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('queues the job as JSON with the delay clamped to 0..900 seconds', async () => {
    // Prepare
    const queue = new FileQueue(dir, { visibilityTimeoutSeconds: 30 });
    const forwardQueue = new FileForwardQueue(queue);
    const job: ForwardJob = { sesMessageId: 'abc123', receivedAt: '2026-11-28T10:00:00.000Z', attempt: 2 };

    // Act
    await forwardQueue.enqueue(job, 3600);
    await forwardQueue.enqueue({ ...job, attempt: 3 }, -5);
    const stats = await queue.stats();
    const received: string[] = [];
    const consumer = queue.startConsumer(
      async (event) => {
        for (const record of event.Records) received.push(record.body);
      },
      { pollIntervalMs: 20 },
    );
    await waitFor('the undelayed job', async () => (received.length >= 1 ? true : undefined), 15_000, 20);
    await consumer.stop();
    const delayedFile = (await readdir(join(dir, 'ready')))[0]!;

    // Assess
    expect(stats).toEqual({ ready: 1, delayed: 1, inflight: 0 });
    expect(received.map((body) => JSON.parse(body))).toEqual([{ ...job, attempt: 3 }]);
    const visibleAt = Number(delayedFile.slice(0, 15));
    expect(visibleAt - Date.now()).toBeGreaterThan(890_000);
    expect(visibleAt - Date.now()).toBeLessThanOrEqual(900_000);
    expect([clampDelay(0.2), clampDelay(Number.NaN), clampDelay(899.5), clampDelay(Infinity)]).toEqual([1, 0, 900, 900]);
  });
});
