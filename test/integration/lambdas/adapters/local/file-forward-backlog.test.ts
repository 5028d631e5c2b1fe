// The local forward backlog: every job in the file queue, delayed ones included, and the
// age of the oldest by its receivedAt (not by when it was last re-queued).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileForwardBacklog } from '../../../../../lambdas/adapters/local/file-forward-backlog.ts';
import { FileQueue } from '../../../../../lambdas/adapters/local/file-queue.ts';

describe('FileForwardBacklog', () => {
  let dir: string;
  let queue: FileQueue;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'forward-backlog-'));
    queue = new FileQueue(join(dir, 'forward'), { visibilityTimeoutSeconds: 30 });
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('is empty for an empty queue', async () => {
    expect(await new FileForwardBacklog(queue).read(new Date())).toEqual({ jobs: 0, oldestAgeSeconds: null });
  });

  it('counts ready and delayed jobs and ages the oldest by its receivedAt', async () => {
    const now = new Date('2030-03-01T12:00:00.000Z');
    await queue.send(JSON.stringify({ sesMessageId: 'a', receivedAt: '2030-03-01T11:50:00.000Z', attempt: 0 }));
    await queue.send(JSON.stringify({ sesMessageId: 'b', receivedAt: '2030-03-01T11:20:00.000Z', attempt: 3 }), 900);
    await queue.send('not a job');
    expect(await new FileForwardBacklog(queue).read(now)).toEqual({ jobs: 3, oldestAgeSeconds: 40 * 60 });
  });
});
