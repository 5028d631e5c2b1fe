// What local mode's durable SQS stand-ins share (file-queue.ts, sqlite/queue.ts): the
// limits they mirror, the consumer's options and the queue's face to its users.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ConfigurationError } from '../../core/errors.ts';

/** SQS limits the local queue mirrors, so what works locally also works in AWS. */
export const MAX_DELAY_SECONDS = 900;
/** The classic SQS message size limit; kept as the conservative bound. */
export const MAX_BODY_BYTES = 256 * 1024;

export interface ConsumerOptions {
  batchSize?: number;
  /** Longest sleep when nothing is due (sends of this process and fs.watch wake sooner). */
  pollIntervalMs?: number;
  /** Batches handled at the same time, like Lambda's maximum concurrency. */
  concurrency?: number;
  /** Where handler exceptions and queue I/O errors go; the default logs to stderr. */
  onError?: (error: unknown, context: string) => void;
  /**
   * Runs after the handler and before any message of the batch is removed: what the handler
   * wrote must be on disk before its job can no longer be redone (local mode: the store's
   * fsync, one per batch). If it throws, the whole batch is put back.
   */
  beforeSettle?: () => void | Promise<void>;
}

export type SqsLikeHandler = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

export interface QueueConsumer {
  /** Stops taking batches and waits for the batches in progress. */
  stop(): Promise<void>;
  /** Resolves once leftover leases were reclaimed and the ready set was scanned. */
  readonly started: Promise<void>;
}

/** Approximate counts in the sense of SQS's ApproximateNumberOfMessages* attributes. */
export interface QueueStats {
  /** Visible now. */
  ready: number;
  /** Sent with a delay that has not run out yet, never received. */
  delayed: number;
  /** Received and not deleted: leased, or failed and waiting for the visibility timeout. */
  inflight: number;
}

/** A local queue as local mode's wiring, the forward backlog and the retry visibility use it. */
export interface LocalQueue {
  /** Resolves with the message id once the message is durable. */
  send(body: string, delaySeconds?: number): Promise<string>;
  /**
   * SQS's ChangeMessageVisibility for a message a consumer of this instance holds: it
   * becomes visible again `seconds` from now (0 to 43,200) unless its handler succeeds
   * first. Rejects when the message is not in flight here (settled, or its lease expired).
   */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /** Meant for health checks and benchmarks, not hot paths. */
  stats(): Promise<QueueStats>;
  /** Messages not yet deleted, whatever their state. */
  depth(): Promise<number>;
  /** The bodies of the messages not yet deleted, whatever their state (what SQS cannot show). */
  bodies(): Promise<string[]>;
  /** Delivers due messages to `handler` as SQS events until stopped. */
  startConsumer(handler: SqsLikeHandler, options?: ConsumerOptions): QueueConsumer;
}

/** Lambda's partial batch response rules: an identifier not in the batch fails the whole batch. */
export function failuresOf(response: Awaited<ReturnType<SqsLikeHandler>>, batchIds: string[]): Set<string> {
  const ids = new Set(batchIds);
  const failures = response?.batchItemFailures;
  if (!failures || failures.length === 0) return new Set();
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return ids;
    failed.add(id);
  }
  return failed;
}

/** A consumer's options, checked, with their defaults. */
export function consumerSettings(options: ConsumerOptions): { batchSize: number; pollIntervalMs: number; concurrency: number } {
  const batchSize = options.batchSize ?? 10;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new ConfigurationError('batchSize', `must be an integer from 1 to 10000, got ${batchSize}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConfigurationError('concurrency', `must be a positive integer, got ${concurrency}`);
  }
  return { batchSize, pollIntervalMs: options.pollIntervalMs ?? 200, concurrency };
}

interface Sleeper {
  /** When its timeout ends (epoch ms), unless a wake() or wakeOne() comes first. */
  deadline: number;
  readonly delayMs: number;
  readonly done: () => void;
}

/**
 * Where a consumer's idle workers sleep until a timeout or a wake(). One timer serves them
 * all: when it fires, only the sleeper whose timeout ended first wakes, and the others'
 * timeouts start again. That one worker's look at the queue is for all of them, and it
 * wakes the next when more is due (consumeUntilStopped). Eight idle workers with a timer
 * each woke the process eight times a poll interval (docs/design.md 12.31).
 */
export class Sleepers {
  private readonly sleepers: Sleeper[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  sleep(delayMs: number): Promise<void> {
    return new Promise<void>((resolveWait) => {
      const sleeper: Sleeper = { deadline: Date.now() + delayMs, delayMs, done: resolveWait };
      this.sleepers.push(sleeper);
      this.arm();
    });
  }

  wake(): void {
    for (const sleeper of this.sleepers.splice(0)) sleeper.done();
    this.arm();
  }

  /** Workers asleep now. */
  get waiting(): number {
    return this.sleepers.length;
  }

  /** Wakes the worker that has slept longest: one new message needs one worker, not all of them. */
  wakeOne(): void {
    const sleeper = this.sleepers.shift();
    if (sleeper === undefined) return;
    sleeper.done();
    this.arm();
  }

  /** The timer for the earliest deadline, or none while nobody sleeps. */
  private arm(): void {
    let earliest = Infinity;
    for (const sleeper of this.sleepers) earliest = Math.min(earliest, sleeper.deadline);
    if (earliest === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = earliest;
    if (earliest === Infinity) return;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, earliest - Date.now()));
  }

  /** The timer was armed for the earliest deadline (arm() moves it when that changes): that sleeper wakes. */
  private onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = Date.now();
    let first: Sleeper | undefined;
    for (const sleeper of this.sleepers) if (first === undefined || sleeper.deadline < first.deadline) first = sleeper;
    if (first !== undefined) {
      this.sleepers.splice(this.sleepers.indexOf(first), 1);
      for (const sleeper of this.sleepers) sleeper.deadline = Math.max(sleeper.deadline, now + sleeper.delayMs);
      first.done();
    }
    this.arm();
  }
}

/**
 * Runs the handler on a batch as Lambda's SQS event source does and returns the ids to put
 * back: those the partial batch response lists, all when it throws, and all when
 * beforeSettle fails after a success (what the handler wrote is not on disk then).
 */
export async function handleBatch(
  handler: SqsLikeHandler,
  event: SQSEvent,
  ids: string[],
  options: Pick<ConsumerOptions, 'beforeSettle'> & { onError: (error: unknown, context: string) => void },
): Promise<Set<string>> {
  let failed: Set<string>;
  try {
    failed = failuresOf(await handler(event), ids);
  } catch (error) {
    options.onError(error, 'handler');
    failed = new Set(ids);
  }
  if (failed.size < ids.length && options.beforeSettle !== undefined) {
    try {
      await options.beforeSettle();
    } catch (error) {
      options.onError(error, 'before settle');
      failed = new Set(ids);
    }
  }
  return failed;
}

/** Lets timers and I/O in: the queues' calls are synchronous (fsync.ts), so a backlog and a handler that never waits would starve them. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** What a consumer's worker loop needs from its queue (consumeUntilStopped). */
export interface ConsumerLoop<M> {
  started: Promise<void>;
  isStopped(): boolean;
  /** Leases up to a batch of due messages; none when nothing is due. */
  take(): M[] | Promise<M[]>;
  /** When the next known message is due (epoch ms), or null when none is known. */
  nextDue(): number | null;
  /**
   * nextDue() is a query over every message, other processes' sends included, not what
   * this process has seen: a worker asks it before each lease but the first after a
   * batch was due, and sleeps when nothing is due, instead of leasing nothing in a write
   * transaction.
   */
  nextDueIsComplete?: boolean;
  /** Messages handed to this consumer already leased (sqlite/queue.ts): take() returns them without a lease. */
  hasHanded?(): boolean;
  deliver(batch: M[]): Promise<void>;
  sleepers: Sleepers;
  pollIntervalMs: number;
  onError(error: unknown, context: string): void;
}

/** One worker of a consumer: takes and delivers batches until stopped, sleeping while nothing is due. */
export async function consumeUntilStopped<M>(loop: ConsumerLoop<M>): Promise<void> {
  // Synchronous from the query to the sleeper's registration: a send in between cannot
  // happen, and a later one wakes a sleeper (Sleepers).
  const idleUntil = (next: number | null): Promise<void> => {
    const untilDue = next === null ? Infinity : Math.max(1, next - Date.now());
    return loop.sleepers.sleep(Math.min(loop.pollIntervalMs, untilDue));
  };
  const idle = (): Promise<void> => idleUntil(loop.nextDue());
  try {
    await loop.started;
  } catch {
    return;
  }
  // With a complete nextDue() a worker asks it (a read) before it leases (a write
  // transaction) whenever it may find nothing: after a batch, after finding nothing, and
  // after a sleep, which a timer ends as often as a send (issue 18: idle workers polling
  // with empty leases cost more per message at a steady rate than the messages did).
  let askFirst = false;
  while (!loop.isStopped()) {
    await yieldToEventLoop();
    if (askFirst && loop.hasHanded?.() !== true) {
      const next = loop.nextDue();
      if (next === null || next > Date.now()) {
        await idleUntil(next);
        continue;
      }
    }
    askFirst = loop.nextDueIsComplete === true;
    let batch: M[];
    const handed = loop.hasHanded?.() === true;
    try {
      batch = await loop.take();
    } catch (error) {
      loop.onError(error, 'receive');
      await idle();
      continue;
    }
    if (batch.length === 0) {
      if (askFirst) continue;
      // Something still due (an index entry that was stale): look again at once.
      const next = loop.nextDue();
      if (next === null || next > Date.now()) await idle();
      continue;
    }
    // A worker that found due messages on its own (a poll, a wake) wakes the next one if
    // more are due: the other sleepers' timeouts started again when its look ended.
    if (!handed && loop.sleepers.waiting > 0) {
      const next = loop.nextDue();
      if (next !== null && next <= Date.now()) loop.sleepers.wakeOne();
    }
    await loop.deliver(batch);
  }
}
