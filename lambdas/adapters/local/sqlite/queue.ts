// A durable, SQS-like queue in local mode's store file: rows of one table instead of one
// file per message (file-queue.ts, which it replaced for the ingest and forward queues,
// design.md 12.24). A send is one INSERT and the write-ahead log's fsync, shared with every
// other commit waiting for one (database.ts makeDurable), so concurrent senders share an
// fsync instead of each creating, fsyncing and renaming a file and fsyncing its directory.
// Receive, settle and put back are single statements; like the file queue's renames they
// are not fsynced on their own (a SIGKILL keeps the log's page cache; a lost receive or
// delete is a redelivery, which the handlers expect). Same semantics as the file queue:
// visibility time, leases owned by `<pid>.<token>`, at start the leases of dead processes
// and of earlier instances in this process come back at once.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { Transaction } from 'better-sqlite3';
import { ConfigurationError, InvalidInputError } from '../../../core/errors.ts';
import { MAX_VISIBILITY_SECONDS } from '../../../ports/message-visibility.ts';
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
} from '../local-queue.ts';
import { isAlive } from '../process-alive.ts';
import { ensureSchema, type LocalDatabase, makeDurable } from './database.ts';

const QUEUE_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS queue_message (
     seq INTEGER PRIMARY KEY,
     queue TEXT NOT NULL,
     id TEXT NOT NULL UNIQUE,
     visible_at INTEGER NOT NULL,
     sent_at INTEGER NOT NULL,
     receive_count INTEGER NOT NULL DEFAULT 0,
     first_receive_at INTEGER NOT NULL DEFAULT 0,
     owner TEXT,
     body TEXT NOT NULL)`,
  // Ready messages in the order they are due; leased ones by lease expiry (the sweep).
  'CREATE INDEX IF NOT EXISTS queue_message_ready ON queue_message (queue, visible_at, seq) WHERE owner IS NULL',
  'CREATE INDEX IF NOT EXISTS queue_message_leased ON queue_message (queue, visible_at) WHERE owner IS NOT NULL',
] as const;

export interface SqliteQueueOptions {
  visibilityTimeoutSeconds: number;
  region?: string;
  /** How often expired leases are put back. */
  sweepIntervalMs?: number;
}

interface Row {
  seq: number;
  id: string;
  visible_at: number;
  sent_at: number;
  receive_count: number;
  first_receive_at: number;
  owner: string | null;
  body: string;
}

interface Leased {
  id: string;
  owner: string;
  receiveCount: number;
  firstReceiveAt: number;
  sentAt: number;
  body: string;
  receiptHandle: string;
}

/** Consumers in this thread, by store file and queue: a send wakes them at once. */
const liveConsumers = new Map<string, Set<Consumer>>();

export class SqliteQueue implements LocalQueue {
  readonly visibilityTimeoutMs: number;
  readonly arn: string;
  readonly region: string;
  readonly sweepIntervalMs: number;
  /** @internal */ readonly key: string;
  /** Lease owner tokens of this instance's consumers; any other token of this process is abandoned. */
  private readonly ownTokens = new Set<string>();
  /** Messages this instance's consumers hold, by receipt handle. */
  private readonly leases = new Map<string, Leased>();
  private readonly statements;
  private readonly leaseDue: Transaction<(owner: string, limit: number) => Leased[]>;

  constructor(
    private readonly db: LocalDatabase,
    readonly name: string,
    options: SqliteQueueOptions,
  ) {
    const timeout = options.visibilityTimeoutSeconds;
    if (!Number.isFinite(timeout) || timeout < 0 || timeout > MAX_VISIBILITY_SECONDS) {
      throw new ConfigurationError('visibilityTimeoutSeconds', `must be between 0 and ${MAX_VISIBILITY_SECONDS}, got ${timeout}`);
    }
    ensureSchema(db, QUEUE_SCHEMA);
    this.visibilityTimeoutMs = Math.round(timeout * 1000);
    this.region = options.region ?? 'local';
    this.arn = `arn:aws:sqs:${this.region}:000000000000:${name}`;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 1_000;
    this.key = `${db.name}\0${name}`;
    this.statements = {
      insert: db.prepare<[string, string, number, number, string]>(
        'INSERT OR IGNORE INTO queue_message (queue, id, visible_at, sent_at, body) VALUES (?, ?, ?, ?, ?)',
      ),
      insertLeased: db.prepare<[string, string, number, number, number, string, string]>(
        'INSERT INTO queue_message (queue, id, visible_at, sent_at, receive_count, first_receive_at, owner, body) VALUES (?, ?, ?, ?, 1, ?, ?, ?)',
      ),
      due: db.prepare<[string, number, number], Row>(
        'SELECT * FROM queue_message WHERE queue = ? AND owner IS NULL AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?',
      ),
      lease: db.prepare<[number, number, string, number]>(
        'UPDATE queue_message SET visible_at = ?, receive_count = receive_count + 1, first_receive_at = ?, owner = ? WHERE seq = ? AND owner IS NULL',
      ),
      moveLease: db.prepare<[number, string, string, number]>(
        'UPDATE queue_message SET visible_at = ? WHERE id = ? AND owner = ? AND receive_count = ?',
      ),
      unhand: db.prepare<[number, string, string]>(
        'UPDATE queue_message SET visible_at = ?, owner = NULL, receive_count = 0, first_receive_at = 0 WHERE id = ? AND owner = ? AND receive_count = 1',
      ),
      release: db.prepare<[string, string, number]>(
        'UPDATE queue_message SET owner = NULL WHERE id = ? AND owner = ? AND receive_count = ?',
      ),
      // Still ours, or put back by the sweep and not received again: deleted either way (file-queue.ts remove()).
      remove: db.prepare<[string, number, string]>(
        'DELETE FROM queue_message WHERE id = ? AND receive_count = ? AND (owner = ? OR owner IS NULL)',
      ),
      expired: db.prepare<[number, string, number]>(
        'UPDATE queue_message SET visible_at = ?, owner = NULL WHERE queue = ? AND owner IS NOT NULL AND visible_at <= ?',
      ),
      owners: db.prepare<[string], { owner: string }>('SELECT DISTINCT owner FROM queue_message WHERE queue = ? AND owner IS NOT NULL'),
      reclaim: db.prepare<[number, string, string]>('UPDATE queue_message SET visible_at = ?, owner = NULL WHERE queue = ? AND owner = ?'),
      nextDue: db.prepare<[string], { at: number | null }>(
        'SELECT MIN(visible_at) AS at FROM queue_message WHERE queue = ? AND owner IS NULL',
      ),
      states: db.prepare<[string], Pick<Row, 'visible_at' | 'receive_count' | 'owner'>>(
        'SELECT visible_at, receive_count, owner FROM queue_message WHERE queue = ?',
      ),
      bodies: db.prepare<[string], { body: string }>('SELECT body FROM queue_message WHERE queue = ? ORDER BY seq'),
    };
    this.leaseDue = db.transaction((owner: string, limit: number) => this.leaseDueRows(owner, limit));
  }

  /** Resolves with the message id once the message is on disk (the log's fsync, shared). */
  async send(body: string, delaySeconds = 0): Promise<string> {
    const sent = this.put(body, delaySeconds);
    try {
      await makeDurable(this.db);
    } finally {
      sent.handOver();
    }
    return sent.id;
  }

  /**
   * Like send, without waiting for the fsync: for the handler of a consumer of a queue in
   * the same store. The consumer deletes its own message in a later commit of the same
   * write-ahead log, and a power cut keeps a prefix of that log's commits (design.md
   * 12.28): the delete is never kept without this message. Until then a crash redoes the
   * handler, which sends again.
   */
  async sendFromHandler(body: string, delaySeconds = 0): Promise<string> {
    const sent = this.put(body, delaySeconds);
    sent.handOver();
    return sent.id;
  }

  /**
   * A message due now while a worker of a consumer in this process sleeps is written
   * already leased to that consumer and handed to it: one INSERT, where a wake-up would
   * cost the worker a read and a lease transaction (issue 18). One sleeping worker is
   * counted for each message handed, so a busy consumer gets none (what is due in the
   * store is never passed over for a stream of handed messages). Otherwise the message
   * is written ready and a sleeping worker of each consumer is woken.
   */
  private put(body: string, delaySeconds: number): { id: string; handOver(): void } {
    const id = randomUUID();
    const consumer = delaySeconds === 0 ? [...(liveConsumers.get(this.key) ?? [])].find((c) => c.canTakeOne()) : undefined;
    if (consumer === undefined) {
      this.write(body, delaySeconds, id);
      return { id, handOver: () => this.wakeConsumers() };
    }
    checkBody(body);
    const now = Date.now();
    const leased = this.leasedRow(id, consumer.owner, now, now, body);
    this.statements.insertLeased.run(this.name, id, now + this.visibilityTimeoutMs, now, now, consumer.owner, body);
    consumer.reserve();
    return { id, handOver: () => consumer.receive(leased) };
  }

  /**
   * Writes a message with a given id unless one with that id is there already, without
   * waiting for the fsync (the caller makes it durable: importing a file queue's messages).
   */
  write(body: string, delaySeconds: number, id: string): string {
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) {
      throw new InvalidInputError(`delaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}, got ${delaySeconds}`);
    }
    checkBody(body);
    const now = Date.now();
    this.statements.insert.run(this.name, id, now + delaySeconds * 1000, now, body);
    return id;
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_SECONDS) {
      throw new InvalidInputError(`a visibility timeout is a whole number of seconds from 0 to ${MAX_VISIBILITY_SECONDS}, got ${seconds}`);
    }
    const lease = this.leases.get(receiptHandle);
    if (!lease) throw new InvalidInputError(`message ${receiptHandle} is not in flight in this process`);
    const moved = this.statements.moveLease.run(Date.now() + seconds * 1000, lease.id, lease.owner, lease.receiveCount);
    if (moved.changes === 0) throw new InvalidInputError(`message ${receiptHandle} is not in flight any more (its lease expired)`);
  }

  async stats(): Promise<QueueStats> {
    const now = Date.now();
    const stats: QueueStats = { ready: 0, delayed: 0, inflight: 0 };
    for (const row of this.statements.states.iterate(this.name)) {
      if (row.owner !== null) stats.inflight++;
      else if (row.visible_at <= now) stats.ready++;
      else if (row.receive_count === 0) stats.delayed++;
      else stats.inflight++;
    }
    return stats;
  }

  async depth(): Promise<number> {
    const { ready, delayed, inflight } = await this.stats();
    return ready + delayed + inflight;
  }

  async bodies(): Promise<string[]> {
    return this.statements.bodies.all(this.name).map((row) => row.body);
  }

  startConsumer(handler: SqsLikeHandler, options: ConsumerOptions = {}): QueueConsumer {
    const consumer = new Consumer(this, handler, options);
    return { stop: () => consumer.stop(), started: consumer.started };
  }

  // ---- used by Consumer ----

  /** @internal Leases up to `limit` due messages for `owner`, oldest first. */
  take(owner: string, limit: number): Leased[] {
    return this.leaseDue.immediate(owner, limit);
  }

  /** The body of take(), in one transaction function made once: db.transaction() builds four wrappers per call. */
  private leaseDueRows(owner: string, limit: number): Leased[] {
    const now = Date.now();
    const expiry = now + this.visibilityTimeoutMs;
    const taken: Leased[] = [];
    for (const row of this.statements.due.all(this.name, now, limit)) {
      const firstReceiveAt = row.first_receive_at || now;
      if (this.statements.lease.run(expiry, firstReceiveAt, owner, row.seq).changes === 0) continue;
      taken.push(this.leasedRow(row.id, owner, firstReceiveAt, row.sent_at, row.body, row.receive_count + 1));
    }
    return taken;
  }

  /** A lease this instance holds (its receipt handle names the receive). */
  private leasedRow(id: string, owner: string, firstReceiveAt: number, sentAt: number, body: string, receiveCount = 1): Leased {
    const leased: Leased = { id, owner, receiveCount, firstReceiveAt, sentAt, body, receiptHandle: `${id}.${receiveCount}.${owner}` };
    this.leases.set(leased.receiptHandle, leased);
    return leased;
  }

  /** @internal Failed: visible again when its visibility time (this receive's, or what changeVisibility set) runs out. */
  putBack(lease: Leased): void {
    this.leases.delete(lease.receiptHandle);
    this.statements.release.run(lease.id, lease.owner, lease.receiveCount);
    this.wakeConsumers();
  }

  /** @internal Handed over (put) but never given to the handler: ready now, as if never received. */
  unhand(lease: Leased): void {
    this.leases.delete(lease.receiptHandle);
    this.statements.unhand.run(Date.now(), lease.id, lease.owner);
  }

  /** @internal */
  remove(lease: Leased): void {
    this.leases.delete(lease.receiptHandle);
    this.statements.remove.run(lease.id, lease.receiveCount, lease.owner);
  }

  /**
   * @internal Expired leases come back; at start also those whose owner can never finish
   * them. Returns how many messages came back.
   */
  sweep(atStart: boolean): number {
    const now = Date.now();
    let back = this.statements.expired.run(now, this.name, now).changes;
    for (const { owner } of this.statements.owners.all(this.name)) {
      if (this.isAbandoned(owner, atStart)) back += this.statements.reclaim.run(now, this.name, owner).changes;
    }
    return back;
  }

  /** @internal When the next ready message is due, or null when there is none. */
  nextDue(): number | null {
    return this.statements.nextDue.get(this.name)?.at ?? null;
  }

  /** @internal */
  registerToken(token: string): void {
    this.ownTokens.add(token);
  }

  /** @internal */
  unregisterToken(token: string): void {
    this.ownTokens.delete(token);
  }

  private isAbandoned(owner: string, atStart: boolean): boolean {
    const [pidText, token] = owner.split('.');
    const pid = Number(pidText);
    if (pid === process.pid) return atStart && !this.ownTokens.has(token ?? '');
    return !isAlive(pid);
  }

  /** A message was added or put back: one sleeping worker of each consumer looks (a worker that is busy looks again when it is done). */
  private wakeConsumers(): void {
    for (const consumer of liveConsumers.get(this.key) ?? []) consumer.wakeOne();
  }
}

class Consumer {
  readonly started: Promise<void>;
  private readonly token = randomBytes(8).toString('hex');
  /** @internal */ readonly owner = `${process.pid}.${this.token}`;
  /** Messages sent to this consumer already leased (SqliteQueue.put), and how many are on their way. */
  private readonly handed: Leased[] = [];
  private reserved = 0;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly beforeSettle: ConsumerOptions['beforeSettle'];
  private readonly onError: (error: unknown, context: string) => void;
  private readonly workers: Promise<void>[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  private readonly sleepers = new Sleepers();
  private stopped = false;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly queue: SqliteQueue,
    private readonly handler: SqsLikeHandler,
    options: ConsumerOptions,
  ) {
    const { batchSize, pollIntervalMs, concurrency } = consumerSettings(options);
    this.batchSize = batchSize;
    this.pollIntervalMs = pollIntervalMs;
    this.onError = options.onError ?? ((error, context) => console.error(`[queue ${queue.name}] ${context}:`, error));
    this.beforeSettle = options.beforeSettle;
    queue.registerToken(this.token);
    let consumers = liveConsumers.get(queue.key);
    if (!consumers) {
      consumers = new Set();
      liveConsumers.set(queue.key, consumers);
    }
    consumers.add(this);
    this.started = this.start();
    this.started.catch((error) => this.onError(error, 'start'));
    for (let index = 0; index < concurrency; index++) this.workers.push(this.work());
  }

  wake(): void {
    this.sleepers.wake();
  }

  wakeOne(): void {
    this.sleepers.wakeOne();
  }

  /** Whether a message handed now would find a worker asleep that no other message on its way counts on (a handed one has woken its worker already). */
  canTakeOne(): boolean {
    return !this.stopped && this.sleepers.waiting > this.reserved;
  }

  reserve(): void {
    this.reserved++;
  }

  /** A message leased to this consumer when it was sent: a worker takes it; after stop() it is put back. */
  receive(leased: Leased): void {
    this.reserved--;
    if (this.stopped) {
      this.unhandQuietly(leased);
      return;
    }
    this.handed.push(leased);
    this.sleepers.wakeOne();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      if (this.sweeper) clearInterval(this.sweeper);
      this.wake();
      await Promise.allSettled([this.started, ...this.workers]);
      if (this.sweeper) clearInterval(this.sweeper);
      // handed over but never taken: visible again now, not when the lease runs out
      for (const leased of this.handed.splice(0)) this.unhandQuietly(leased);
      liveConsumers.get(this.queue.key)?.delete(this);
      this.queue.unregisterToken(this.token);
    })();
    return this.stopping;
  }

  private unhandQuietly(leased: Leased): void {
    try {
      this.queue.unhand(leased);
    } catch (error) {
      // The lease stays; the sweep makes the message visible again when it expires.
      this.onError(error, 'put back');
    }
  }

  private async start(): Promise<void> {
    this.queue.sweep(true);
    if (this.stopped) return;
    this.sweeper = setInterval(() => {
      try {
        // Workers poll for other processes' sends; a sweep wakes them only for what it put back.
        if (this.queue.sweep(false) > 0) this.wake();
      } catch (error) {
        this.onError(error, 'lease sweep');
      }
    }, this.queue.sweepIntervalMs);
  }

  private work(): Promise<void> {
    return consumeUntilStopped({
      started: this.started,
      isStopped: () => this.stopped,
      take: () => (this.handed.length > 0 ? this.handed.splice(0, this.batchSize) : this.queue.take(this.owner, this.batchSize)),
      nextDue: () => this.queue.nextDue(),
      nextDueIsComplete: true,
      hasHanded: () => this.handed.length > 0,
      deliver: (batch) => this.deliver(batch),
      sleepers: this.sleepers,
      pollIntervalMs: this.pollIntervalMs,
      onError: this.onError,
    });
  }

  private async deliver(batch: Leased[]): Promise<void> {
    const event: SQSEvent = { Records: batch.map((message) => this.record(message)) };
    const ids = batch.map((message) => message.id);
    const failed = await handleBatch(this.handler, event, ids, { beforeSettle: this.beforeSettle, onError: this.onError });
    for (const message of batch) {
      try {
        if (failed.has(message.id)) this.queue.putBack(message);
        else this.queue.remove(message);
      } catch (error) {
        // The lease stays; the sweep makes the message visible again when it expires.
        this.onError(error, 'settle');
      }
    }
  }

  private record(message: Leased): SQSRecord {
    return {
      messageId: message.id,
      receiptHandle: message.receiptHandle,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'LOCAL',
        ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(message.body, 'utf8').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.queue.arn,
      awsRegion: this.queue.region,
    };
  }
}

function checkBody(body: string): void {
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    throw new InvalidInputError(`message body of ${bytes} bytes exceeds the ${MAX_BODY_BYTES}-byte queue limit`);
  }
}
