// A durable, SQS-like queue in a directory: local mode's stand-in for SQS, feeding the
// same Lambda handlers with SQS-shaped events. Every state of a message is a file name
// (tmp/, ready/, inflight/ with visibility time, order and lease in the name) and every
// change one atomic rename, so a SIGKILL at any moment leaves each message in exactly
// one place. Leases, sweeps and the ready heap: docs/design.md §9.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type FSWatcher, readFileSync, renameSync, unlinkSync, watch } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { ConfigurationError, InvalidInputError } from '../../core/errors.ts';
import { MAX_VISIBILITY_SECONDS } from '../../ports/message-visibility.ts';
import { syncShared, writeDurably } from './fsync.ts';
import {
  type ConsumerOptions,
  consumerSettings,
  consumeUntilStopped,
  handleBatch,
  type LocalQueue,
  MAX_BODY_BYTES,
  MAX_DELAY_SECONDS,
  type QueueConsumer,
  type QueueStats,
  Sleepers,
  type SqsLikeHandler,
} from './local-queue.ts';
import { isAlive } from './process-alive.ts';

export { type ConsumerOptions, MAX_BODY_BYTES, MAX_DELAY_SECONDS, type QueueConsumer, type QueueStats, type SqsLikeHandler };

export interface FileQueueOptions {
  visibilityTimeoutSeconds: number;
  /** Used for eventSourceARN; defaults to the directory's base name. */
  queueName?: string;
  region?: string;
  /** Safety-net rescan of ready/ for files written by other processes. */
  rescanIntervalMs?: number;
  /** How often expired leases are put back. */
  sweepIntervalMs?: number;
}

interface MessageName {
  /** ready: when it becomes visible; inflight: when the lease runs out. */
  at: number;
  /** Send time (15 digits) + per-process sequence (6 digits): ties broken by send order. */
  order: string;
  id: string;
  receiveCount: number;
  firstReceiveAt: number;
  /** Leases only: `<pid>.<token>`. */
  owner?: string;
}

interface Leased {
  name: MessageName;
  file: string;
  body: string;
  receiptHandle: string;
}

const READY_PATTERN = /^(\d{15})_(\d{21})_([0-9a-f-]{36})_(\d{1,9})_(\d{1,15})\.msg$/;
const LEASE_PATTERN = /^(\d{15})_(\d{21})_([0-9a-f-]{36})_(\d{1,9})_(\d{1,15})_(\d{1,10}\.[0-9a-f]{1,32})\.msg$/;
const STALE_TMP_MS = 60 * 60 * 1000;

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

function readyName(name: MessageName): string {
  return `${pad(name.at, 15)}_${name.order}_${name.id}_${name.receiveCount}_${name.firstReceiveAt}.msg`;
}

function leaseName(name: MessageName): string {
  return `${pad(name.at, 15)}_${name.order}_${name.id}_${name.receiveCount}_${name.firstReceiveAt}_${name.owner}.msg`;
}

function parseName(file: string, pattern: RegExp): MessageName | null {
  const match = pattern.exec(file);
  if (!match) return null;
  return {
    at: Number(match[1]),
    order: match[2]!,
    id: match[3]!,
    receiveCount: Number(match[4]),
    firstReceiveAt: Number(match[5]),
    ...(match[6] === undefined ? {} : { owner: match[6] }),
  };
}

const isNotFound = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';

/** Consumers running in this process, by ready directory: sends wake them without a scan. */
const liveConsumers = new Map<string, Set<Consumer>>();

function offerToLocalConsumers(readyDir: string, file: string): void {
  for (const consumer of liveConsumers.get(readyDir) ?? []) consumer.offer(file, true);
}

let sendSequence = 0;

export class FileQueue implements LocalQueue {
  readonly dir: string;
  readonly visibilityTimeoutMs: number;
  private readonly readyDir: string;
  private readonly inflightDir: string;
  private readonly tmpDir: string;
  private readonly arn: string;
  private readonly region: string;
  private readonly rescanIntervalMs: number;
  private readonly sweepIntervalMs: number;
  /** Lease owner tokens of this instance's consumers; any other token of this process is abandoned. */
  private readonly ownTokens = new Set<string>();
  /** Messages this instance's consumers hold, by the receipt handle their handler got. */
  private readonly leases = new Map<string, Leased>();
  private dirsReady: Promise<void> | null = null;

  constructor(dir: string, options: FileQueueOptions) {
    const timeout = options.visibilityTimeoutSeconds;
    if (!Number.isFinite(timeout) || timeout < 0 || timeout > MAX_VISIBILITY_SECONDS) {
      throw new ConfigurationError('visibilityTimeoutSeconds', `must be between 0 and ${MAX_VISIBILITY_SECONDS}, got ${timeout}`);
    }
    this.dir = resolve(dir);
    this.visibilityTimeoutMs = Math.round(timeout * 1000);
    this.readyDir = join(this.dir, 'ready');
    this.inflightDir = join(this.dir, 'inflight');
    this.tmpDir = join(this.dir, 'tmp');
    this.region = options.region ?? 'local';
    this.arn = `arn:aws:sqs:${this.region}:000000000000:${options.queueName ?? basename(this.dir)}`;
    this.rescanIntervalMs = options.rescanIntervalMs ?? 10_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
  }

  /**
   * Resolves with the message id once the message is durable: body written to a
   * temporary file and fsynced, renamed into ready/, and the directory fsynced.
   */
  async send(body: string, delaySeconds = 0): Promise<string> {
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) {
      throw new InvalidInputError(`delaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}, got ${delaySeconds}`);
    }
    const bytes = Buffer.from(body, 'utf8');
    if (bytes.length > MAX_BODY_BYTES) {
      throw new InvalidInputError(`message body of ${bytes.length} bytes exceeds the ${MAX_BODY_BYTES}-byte queue limit`);
    }
    await this.ensureDirectories();
    const now = Date.now();
    sendSequence = (sendSequence + 1) % 1_000_000;
    const name: MessageName = {
      at: now + delaySeconds * 1000,
      order: pad(now, 15) + pad(sendSequence, 6),
      id: randomUUID(),
      receiveCount: 0,
      firstReceiveAt: 0,
    };
    const temporary = join(this.tmpDir, `${name.id}.tmp`);
    const file = readyName(name);
    // The hot path's renames, reads and unlinks are synchronous: fsync.ts says why.
    try {
      await writeDurably(temporary, bytes);
      renameSync(temporary, join(this.readyDir, file));
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await syncShared(this.readyDir);
    offerToLocalConsumers(this.readyDir, file);
    return name.id;
  }

  /**
   * SQS's ChangeMessageVisibility for a message a consumer of this instance holds: it
   * becomes visible again `seconds` from now (0 to 43,200) unless its handler succeeds
   * first. Rejects when the message is not in flight here (settled, or its lease expired).
   */
  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_SECONDS) {
      throw new InvalidInputError(`a visibility timeout is a whole number of seconds from 0 to ${MAX_VISIBILITY_SECONDS}, got ${seconds}`);
    }
    const lease = this.leases.get(receiptHandle);
    if (!lease) throw new InvalidInputError(`message ${receiptHandle} is not in flight in this process`);
    const name: MessageName = { ...lease.name, at: Date.now() + seconds * 1000 };
    const file = join(this.inflightDir, leaseName(name));
    try {
      renameSync(lease.file, file);
    } catch (error) {
      if (isNotFound(error)) throw new InvalidInputError(`message ${receiptHandle} is not in flight any more (its lease expired)`);
      throw error;
    }
    lease.name = name;
    lease.file = file;
  }

  /** Counts by listing the directories: meant for health checks and benchmarks, not hot paths. */
  async stats(): Promise<QueueStats> {
    await this.ensureDirectories();
    const now = Date.now();
    const stats: QueueStats = { ready: 0, delayed: 0, inflight: 0 };
    for (const file of await readdir(this.readyDir)) {
      const name = parseName(file, READY_PATTERN);
      if (!name) continue;
      if (name.at <= now) stats.ready++;
      else if (name.receiveCount === 0) stats.delayed++;
      else stats.inflight++;
    }
    for (const file of await readdir(this.inflightDir)) {
      if (LEASE_PATTERN.test(file)) stats.inflight++;
    }
    return stats;
  }

  /** Messages not yet deleted, whatever their state. */
  async depth(): Promise<number> {
    const { ready, delayed, inflight } = await this.stats();
    return ready + delayed + inflight;
  }

  /**
   * The bodies of the messages not yet deleted, whatever their state (what SQS cannot
   * show, and local mode's backlog watcher reads). A message moved between listing and
   * reading is skipped. Reads every file: for a check a minute, not a hot path.
   */
  async bodies(): Promise<string[]> {
    await this.ensureDirectories();
    const bodies: string[] = [];
    for (const [dir, pattern] of [
      [this.readyDir, READY_PATTERN],
      [this.inflightDir, LEASE_PATTERN],
    ] as const) {
      for (const file of await readdir(dir)) {
        if (!pattern.test(file)) continue;
        try {
          bodies.push(await readFile(join(dir, file), 'utf8'));
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    }
    return bodies;
  }

  /**
   * Delivers due messages to `handler` as SQS events until stopped. Use one FileQueue
   * instance per directory in a process: a starting consumer takes over the leases of
   * other instances of its own process (what a restart in the same process leaves).
   */
  startConsumer(handler: SqsLikeHandler, options: ConsumerOptions = {}): QueueConsumer {
    const consumer = new Consumer(this, handler, options);
    return { stop: () => consumer.stop(), started: consumer.started };
  }

  // ---- used by Consumer ----

  /** @internal */
  paths(): { ready: string; inflight: string; tmp: string } {
    return { ready: this.readyDir, inflight: this.inflightDir, tmp: this.tmpDir };
  }

  /** @internal */
  settings(): { arn: string; region: string; rescanIntervalMs: number; sweepIntervalMs: number } {
    return { arn: this.arn, region: this.region, rescanIntervalMs: this.rescanIntervalMs, sweepIntervalMs: this.sweepIntervalMs };
  }

  /** @internal A message a consumer took: changeVisibility may move its lease until it is settled. */
  trackLease(lease: Leased): void {
    this.leases.set(lease.receiptHandle, lease);
  }

  /** @internal */
  untrackLease(lease: Leased): void {
    this.leases.delete(lease.receiptHandle);
  }

  /** @internal */
  registerToken(token: string): void {
    this.ownTokens.add(token);
  }

  /** @internal */
  unregisterToken(token: string): void {
    this.ownTokens.delete(token);
  }

  /** @internal A lease whose owner can never finish it. */
  isAbandoned(owner: string, atStart: boolean): boolean {
    const [pidText, token] = owner.split('.');
    const pid = Number(pidText);
    if (pid === process.pid) return atStart && !this.ownTokens.has(token ?? '');
    return !isAlive(pid);
  }

  /** @internal */
  ensureDirectories(): Promise<void> {
    if (!this.dirsReady) {
      const creating = (async () => {
        for (const path of [this.readyDir, this.inflightDir, this.tmpDir]) await mkdir(path, { recursive: true });
      })();
      // A failed mkdir (e.g. a permission fixed later) must not stick forever.
      creating.catch(() => {
        if (this.dirsReady === creating) this.dirsReady = null;
      });
      this.dirsReady = creating;
    }
    return this.dirsReady;
  }
}

/** A min-heap of ready file names; the names sort by visibility time, then send order. */
class NameHeap {
  private readonly items: string[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): string | undefined {
    return this.items[0];
  }

  push(item: string): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent]! <= item) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = item;
  }

  pop(): string | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]! < items[left]! ? right : left;
      if (items[child]! >= last) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = last;
    return top;
  }
}

class Consumer {
  readonly started: Promise<void>;
  private readonly token = randomBytes(8).toString('hex');
  private readonly owner = `${process.pid}.${this.token}`;
  private readonly heap = new NameHeap();
  /** Names in the heap, so a file is indexed once however it was announced. */
  private readonly indexed = new Set<string>();
  /**
   * Names this process put into or took out of ready/: their watch events are an
   * echo (in either order) and are ignored. Two generations, rotated at each rescan,
   * keep it bounded; a late echo after rotation costs one failed rename, nothing more.
   */
  private echoes = new Set<string>();
  private olderEchoes = new Set<string>();
  private readonly paths: { ready: string; inflight: string; tmp: string };
  private readonly settings: { arn: string; region: string; rescanIntervalMs: number; sweepIntervalMs: number };
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly beforeSettle: ConsumerOptions['beforeSettle'];
  private readonly onError: (error: unknown, context: string) => void;
  private readonly workers: Promise<void>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private watcher: FSWatcher | null = null;
  private readonly sleepers = new Sleepers();
  private stopped = false;
  private rescanning = false;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly queue: FileQueue,
    private readonly handler: SqsLikeHandler,
    options: ConsumerOptions,
  ) {
    const { batchSize, pollIntervalMs, concurrency } = consumerSettings(options);
    this.batchSize = batchSize;
    this.pollIntervalMs = pollIntervalMs;
    this.onError = options.onError ?? ((error, context) => console.error(`[file-queue ${queue.dir}] ${context}:`, error));
    this.beforeSettle = options.beforeSettle;
    this.paths = queue.paths();
    this.settings = queue.settings();
    queue.registerToken(this.token);
    let consumers = liveConsumers.get(this.paths.ready);
    if (!consumers) {
      consumers = new Set();
      liveConsumers.set(this.paths.ready, consumers);
    }
    consumers.add(this);

    this.started = this.start();
    this.started.catch((error) => this.onError(error, 'start'));
    for (let index = 0; index < concurrency; index++) this.workers.push(this.work());
  }

  /** Announces a ready file: sent or put back by this process (local), or seen by a scan or the watcher. */
  offer(file: string, local: boolean): void {
    if (local) this.echoes.add(file);
    if (this.stopped || this.indexed.has(file)) return;
    if (!READY_PATTERN.test(file)) return;
    this.indexed.add(file);
    this.heap.push(file);
    this.wake();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      for (const timer of this.timers) clearInterval(timer);
      this.watcher?.close();
      this.wake();
      await Promise.allSettled([this.started, ...this.workers]);
      // start() may have got as far as these after stop() began.
      for (const timer of this.timers) clearInterval(timer);
      this.watcher?.close();
      liveConsumers.get(this.paths.ready)?.delete(this);
      this.queue.unregisterToken(this.token);
    })();
    return this.stopping;
  }

  private async start(): Promise<void> {
    await this.queue.ensureDirectories();
    await this.sweepLeases(true);
    await this.sweepTemporaryFiles();
    if (this.stopped) return;
    this.startWatching();
    await this.rescan();
    if (this.stopped) return;
    this.timers.push(
      setInterval(() => void this.rescan().catch((error) => this.onError(error, 'rescan')), this.settings.rescanIntervalMs),
      setInterval(() => void this.sweepLeases(false).catch((error) => this.onError(error, 'lease sweep')), this.settings.sweepIntervalMs),
    );
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.paths.ready, (_event, file) => {
        if (file === null) {
          void this.rescan().catch((error) => this.onError(error, 'rescan'));
          return;
        }
        const name = String(file);
        if (this.echoes.has(name) || this.olderEchoes.has(name)) return;
        this.offer(name, false);
      });
      this.watcher.on('error', (error) => {
        // The periodic rescan keeps things going without the watcher.
        this.onError(error, 'watch');
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (error) {
      this.onError(error, 'watch');
    }
  }

  private async rescan(): Promise<void> {
    // A scan of a huge backlog can outlast the interval; one at a time is enough.
    if (this.rescanning) return;
    this.rescanning = true;
    try {
      const files = await readdir(this.paths.ready);
      this.olderEchoes = this.echoes;
      this.echoes = new Set();
      for (const file of files) this.offer(file, false);
    } finally {
      this.rescanning = false;
    }
  }

  /**
   * Puts back expired leases, and at start the leases of consumers that are gone:
   * their process died, or (same pid) they belong to another FileQueue instance.
   */
  private async sweepLeases(atStart: boolean): Promise<void> {
    const now = Date.now();
    for (const file of await readdir(this.paths.inflight)) {
      const name = parseName(file, LEASE_PATTERN);
      if (!name) continue;
      let visibleAt: number;
      if (name.at <= now) visibleAt = name.at;
      else if (name.owner !== this.owner && this.queue.isAbandoned(name.owner ?? '', atStart)) visibleAt = now;
      else continue;
      const back = readyName({ ...name, at: visibleAt });
      try {
        await rename(join(this.paths.inflight, file), join(this.paths.ready, back));
        offerToLocalConsumers(this.paths.ready, back);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  private async sweepTemporaryFiles(): Promise<void> {
    const cutoff = Date.now() - STALE_TMP_MS;
    for (const file of await readdir(this.paths.tmp)) {
      const path = join(this.paths.tmp, file);
      try {
        if ((await stat(path)).mtimeMs < cutoff) await unlink(path);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  private wake(): void {
    this.sleepers.wake();
  }

  private nextDue(): number | null {
    const next = this.heap.peek();
    return next === undefined ? null : Number(next.slice(0, 15));
  }

  private work(): Promise<void> {
    return consumeUntilStopped({
      started: this.started,
      isStopped: () => this.stopped,
      take: () => this.receive(),
      nextDue: () => this.nextDue(),
      deliver: (batch) => this.deliver(batch),
      sleepers: this.sleepers,
      pollIntervalMs: this.pollIntervalMs,
      onError: this.onError,
    });
  }

  /** Takes up to batchSize due messages: each one is a rename ready → inflight. */
  private async receive(): Promise<Leased[]> {
    const now = Date.now();
    const due: string[] = [];
    while (due.length < this.batchSize) {
      const next = this.heap.peek();
      if (next === undefined || Number(next.slice(0, 15)) > now) break;
      this.heap.pop();
      this.indexed.delete(next);
      due.push(next);
    }
    if (due.length === 0) return [];
    const leaseExpiry = now + this.queue.visibilityTimeoutMs;
    const taken = await Promise.all(
      due.map(async (file): Promise<Leased | null> => {
        const ready = parseName(file, READY_PATTERN);
        if (!ready) return null;
        const name: MessageName = {
          ...ready,
          at: leaseExpiry,
          receiveCount: ready.receiveCount + 1,
          firstReceiveAt: ready.firstReceiveAt || now,
          owner: this.owner,
        };
        const lease = leaseName(name);
        const path = join(this.paths.inflight, lease);
        this.echoes.add(file);
        try {
          renameSync(join(this.paths.ready, file), path);
        } catch (error) {
          // Gone: another consumer took it, or the index entry was stale.
          if (isNotFound(error)) return null;
          throw error;
        }
        try {
          const leased: Leased = { name, file: path, body: readFileSync(path, 'utf8'), receiptHandle: lease };
          this.queue.trackLease(leased);
          return leased;
        } catch (error) {
          // The lease expired and was swept already (a very slow disk); it will come back.
          if (isNotFound(error)) return null;
          throw error;
        }
      }),
    );
    return taken.filter((message): message is Leased => message !== null);
  }

  private async deliver(batch: Leased[]): Promise<void> {
    const event: SQSEvent = { Records: batch.map((message) => this.record(message)) };
    const failed = await handleBatch(
      this.handler,
      event,
      batch.map((message) => message.name.id),
      { beforeSettle: this.beforeSettle, onError: this.onError },
    );
    await Promise.all(
      batch.map(async (message) => {
        try {
          if (failed.has(message.name.id)) await this.putBack(message);
          else await this.remove(message);
        } catch (error) {
          // The lease stays; the sweep makes the message visible again when it expires.
          this.onError(error, 'settle');
        } finally {
          this.queue.untrackLease(message);
        }
      }),
    );
  }

  private record(message: Leased): SQSRecord {
    const { name } = message;
    return {
      messageId: name.id,
      receiptHandle: message.receiptHandle,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(name.receiveCount),
        SentTimestamp: String(Number(name.order.slice(0, 15))),
        SenderId: 'LOCAL',
        ApproximateFirstReceiveTimestamp: String(name.firstReceiveAt),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(message.body, 'utf8').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.settings.arn,
      awsRegion: this.settings.region,
    };
  }

  /** Failed: visible again when the visibility timeout of this receive (or the one changeVisibility set) runs out, as in SQS. */
  private async putBack(message: Leased): Promise<void> {
    const back = readyName(message.name);
    try {
      renameSync(message.file, join(this.paths.ready, back));
    } catch (error) {
      if (isNotFound(error)) return; // the lease expired and the sweep put it back already
      throw error;
    }
    offerToLocalConsumers(this.paths.ready, back);
  }

  private async remove(message: Leased): Promise<void> {
    try {
      unlinkSync(message.file);
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    // The handler outlived the lease and the sweep put the message back; unless it was
    // received again meanwhile, delete that copy too rather than deliver it twice.
    try {
      unlinkSync(join(this.paths.ready, readyName(message.name)));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** A message left in a queue directory: what a store-backed queue takes over (sqlite/queue-import.ts). */
export interface LeftoverMessage {
  id: string;
  body: string;
  /** When it becomes visible (ready) or its lease runs out (in flight). */
  visibleAt: number;
  /** Taken by a consumer (which, when the queue is taken over, is gone). */
  inFlight: boolean;
  path: string;
}

/** The messages in `dir`'s ready/ and inflight/, oldest first; a file that vanished while listing is skipped. */
export async function leftoverMessages(dir: string): Promise<LeftoverMessage[]> {
  const found: Array<LeftoverMessage & { order: string }> = [];
  for (const [sub, pattern] of [
    ['ready', READY_PATTERN],
    ['inflight', LEASE_PATTERN],
  ] as const) {
    const path = join(dir, sub);
    let files: string[];
    try {
      files = await readdir(path);
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    for (const file of files) {
      const name = parseName(file, pattern);
      if (!name) continue;
      try {
        found.push({
          id: name.id,
          body: await readFile(join(path, file), 'utf8'),
          visibleAt: name.at,
          inFlight: sub === 'inflight',
          path: join(path, file),
          order: name.order,
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }
  return found.sort((a, b) => a.order.localeCompare(b.order)).map(({ order: _order, ...message }) => message);
}
