// Local mode's resend worker and the CLI's way to it: the same Lambda handler as in AWS on
// a file queue under <dataDir>/queues/resend, one worker per data directory (the running
// stack's, or the CLI's own), jobs and audit entries in the local store (docs/design.md §5).

import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { FileMessageVisibility } from '../adapters/local/file-message-visibility.ts';
import { type ConsumerOptions, FileQueue } from '../adapters/local/file-queue.ts';
import { FileResendQueue } from '../adapters/local/file-resend-queue.ts';
import { localRawMailStore } from '../adapters/local/local-raw-mail-store.ts';
import { isAlive } from '../adapters/local/process-alive.ts';
import { startSmtpSink } from '../adapters/local/smtp-sink.ts';
import { SmtpRelayAdapter, type SmtpRelayOptions } from '../adapters/smtp/smtp-relay.ts';
import { ENV } from '../contract/environment.ts';
import { SERVICE } from '../contract/metrics.ts';
import { splitPrimarySessions } from '../contract/primary-sessions.ts';
import { InvalidInputError, ShadowmailError } from '../core/errors.ts';
import { DEFAULT_RESEND_CONFIG, type ResendConfig, type ResendStartDeps } from '../core/resend.ts';
import { SessionBoundRelay } from '../core/session-bound-relay.ts';
import { createObservability, type Observability } from '../handlers/observability.ts';
import { createResendHandler } from '../handlers/resend.ts';
import type { AuditEvent, AuditFilter, AuditLog, AuditPage } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { DirectoryStore } from '../ports/directory.ts';
import type { MessageIndex } from '../ports/message-index.ts';
import type { LeaseResult, OnceGate } from '../ports/once-gate.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import type { ResendJobStore, ResendQueue } from '../ports/resend-jobs.ts';
import type { SmtpRelay } from '../ports/smtp-relay.ts';
import { readEnv, resendMaxAttemptsSchema } from './env.ts';
import type { LocalConfig } from './local-config.ts';
import {
  acquireDataDirLock,
  type LocalPaths,
  localPaths,
  ownerOnlyFiles,
  prepareDataDir,
  type RuntimeInfo,
  readRuntimeInfo,
} from './local-data-dir.ts';
import { localContext } from './local-lambda.ts';
import { type LocalStore, openLocalStore, refuseLegacyStore } from './local-store.ts';

const LOCAL_RESEND_WORKER = 'local-resend';
const localResendEnvSchema = z.object({ [ENV.resendMaxAttempts]: resendMaxAttemptsSchema });

export function resendQueueDir(dataDir: string): string {
  return join(dataDir, 'queues', 'resend');
}

function workerMarker(dataDir: string): string {
  return join(resendQueueDir(dataDir), 'worker.json');
}

/** The resend settings of local mode: the pipeline's retry timing, attempts from ENV.resendMaxAttempts (as in AWS). */
export function localResendConfig(config: LocalConfig, env: NodeJS.ProcessEnv = process.env): ResendConfig {
  const raw = env[ENV.resendMaxAttempts];
  // An empty value counts as unset, as an empty line in a shell profile means "no setting".
  const { [ENV.resendMaxAttempts]: maxAttempts } = readEnv(localResendEnvSchema, { [ENV.resendMaxAttempts]: raw === '' ? undefined : raw });
  return {
    ...DEFAULT_RESEND_CONFIG,
    stackId: config.stackId,
    leaseMs: config.leaseMs,
    maxAttempts,
    retryBaseSeconds: config.retryBaseSeconds,
    retryMaxDelaySeconds: config.retryMaxDelaySeconds,
  };
}

export interface LocalResendOptions {
  /** The local store: the index, the jobs, the audit log, and its fsync before a job is removed. */
  store: Pick<LocalStore, 'index' | 'resendJobs' | 'audit' | 'makeDurable'>;
  rawStore: RawMailStore;
  relay: SmtpRelay;
  paths: LocalPaths;
  clock: Clock;
  config: LocalConfig;
  /** Consumer tuning (default: localResendConsumer(config)). */
  consumer?: ConsumerOptions;
  /** Overrides of localResendConfig(config). */
  resend?: Partial<ResendConfig>;
  /** Logger and metrics (default: Powertools, as the stack's other workers). */
  observability?: Observability;
}

export interface LocalResend {
  /** What the admin pages and the CLI start, list and cancel jobs with. */
  startDeps: ResendStartDeps;
  jobs: ResendJobStore;
  audit: AuditLog;
  queue: ResendQueue;
  files: FileQueue;
  stop(): Promise<void>;
}

/** Starts the resend worker on <dataDir>/queues/resend; resolves once it consumes. */
export async function startLocalResend(options: LocalResendOptions): Promise<LocalResend> {
  const resendConfig = { ...localResendConfig(options.config), ...options.resend };
  const files = new FileQueue(resendQueueDir(options.paths.root), { visibilityTimeoutSeconds: Math.ceil(resendConfig.leaseMs / 1000) });
  const queue = new FileResendQueue(files);
  const { index, resendJobs: jobs, audit } = options.store;
  const handler = createResendHandler({
    index: withInProcessGates(index),
    rawStore: options.rawStore,
    relay: options.relay,
    jobs,
    queue,
    retryVisibility: new FileMessageVisibility(files),
    clock: options.clock,
    workerId: LOCAL_RESEND_WORKER,
    config: resendConfig,
    ...(options.observability ?? createObservability(SERVICE.resend)),
  });
  const consumer = files.startConsumer((event: SQSEvent) => handler(event, localContext('resend')), {
    ...localResendConsumer(options.config),
    // A file queue: its delete is a rename outside the store's log, which the log's order
    // does not cover (design.md 12.28), so what the handler wrote is fsynced first.
    beforeSettle: () => options.store.makeDurable(),
    ...options.consumer,
  });
  await consumer.started;
  const marker = workerMarker(options.paths.root);
  await writeFile(marker, JSON.stringify({ pid: process.pid, startedAt: options.clock.now().toISOString() }));
  return {
    startDeps: { index, jobs, queue, audit, clock: options.clock, config: resendConfig },
    jobs,
    audit,
    queue,
    files,
    stop: async () => {
      await consumer.stop();
      if ((await markerPid(options.paths.root)) === process.pid) await rm(marker, { force: true });
    },
  };
}

/** The pid in worker.json when that process is alive, else null. */
export async function localResendWorkerPid(dataDir: string): Promise<number | null> {
  const pid = await markerPid(dataDir);
  return pid !== null && isAlive(pid) ? pid : null;
}

async function markerPid(dataDir: string): Promise<number | null> {
  try {
    const { pid } = JSON.parse(await readFile(workerMarker(dataDir), 'utf8')) as { pid?: unknown };
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * The index with the steps' gates also guarded within this process: the fixed owner
 * lets a restarted worker take over at once, and this keeps two concurrent copies of
 * one step in this process from both getting in.
 */
function withInProcessGates<Index extends OnceGate>(inner: Index): Index {
  const held = new Set<string>();
  const gates: OnceGate = {
    async acquireOnce(key, owner, now, leaseMs): Promise<LeaseResult> {
      if (held.has(key)) return 'busy';
      held.add(key);
      try {
        const result = await inner.acquireOnce(key, owner, now, leaseMs);
        if (result !== 'acquired') held.delete(key);
        return result;
      } catch (error) {
        held.delete(key);
        throw error;
      }
    },
    async completeOnce(key, owner) {
      try {
        await inner.completeOnce(key, owner);
      } finally {
        held.delete(key);
      }
    },
    async releaseOnce(key, owner) {
      try {
        await inner.releaseOnce(key, owner);
      } finally {
        held.delete(key);
      }
    },
  };
  return new Proxy(inner, {
    get(target, property) {
      if (property in gates) return gates[property as keyof typeof gates];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The relay local mode uses: the configured primary, or the built-in sink on `sinkPort`,
 * at most SHADOWMAIL_PRIMARY_MAX_SESSIONS sessions at once for all who share it.
 */
export function localRelay(config: LocalConfig, sinkPort: number | null): SessionBoundRelay {
  // the adapter's idle sessions count against the same bound (Exchange counts them too)
  const bounded = (options: SmtpRelayOptions) =>
    new SessionBoundRelay(new SmtpRelayAdapter({ ...options, maxSessions: config.primaryMaxSessions }), config.primaryMaxSessions);
  if (config.primary) {
    return bounded({
      host: config.primary.host,
      port: config.primary.port,
      tls: config.primary.implicitTls ? 'implicit' : 'starttls-opportunistic',
    });
  }
  if (sinkPort === null) throw new ShadowmailError('NO_PRIMARY', 'no primary configured and no sink running');
  return bounded({ host: '127.0.0.1', port: sinkPort, tls: 'none' });
}

/** The resend worker's consumer, as in AWS: one step per receive, its share of the sessions to the primary as workers. */
export function localResendConsumer(config: Pick<LocalConfig, 'primaryMaxSessions'>): { batchSize: number; concurrency: number } {
  return { batchSize: 1, concurrency: splitPrimarySessions(config.primaryMaxSessions).resend };
}

// ---- the CLI's session ------------------------------------------------------------------

export interface LocalResendSession {
  index: MessageIndex;
  jobs: ResendJobStore;
  audit: AuditLog;
  /** The received messages (rows of the store and files), for export. */
  rawStore: RawMailStore;
  queue: ResendQueue;
  startDeps: ResendStartDeps;
  /**
   * `worker`: a running process (the local stack, or another CLI) runs the worker.
   * `in-process`: nobody does; startWorker() runs it here.
   */
  mode: 'worker' | 'in-process';
  /** Where the data lives (`running stack (pid …)` or the data directory). */
  where: string;
  /** Starts the worker in this process (mode in-process); resolves once it consumes. */
  startWorker(clock: Clock): Promise<void>;
  close(): Promise<void>;
}

/** Local mode's store as a CLI command opens it, with the lock it took for that. */
export interface LocalTable {
  store: LocalStore;
  /** The running stack's primary sink, if it has one. */
  sinkPort: number | null;
  where: string;
  /** The running stack, or null when this process took the data directory. */
  running: RuntimeInfo | null;
}

/**
 * Opens local mode's store file for a CLI command: beside the running stack (WAL lets
 * both write), or, with no stack running, after taking the data directory (so `npm start`
 * waits for us). A data directory without a store is refused unless `create`, one of an
 * earlier version (dynalite's folder) always.
 */
export async function openLocalTable(
  config: LocalConfig,
  closers: Array<() => Promise<void>>,
  create = false,
  runningOnly = false,
): Promise<LocalTable> {
  const paths = localPaths(config.dataDir);
  const running = await readRuntimeInfo(paths);
  if (!running && runningOnly) throw new ShadowmailError('NOT_RUNNING', `local mode is not running on ${config.dataDir} (yet)`);
  await refuseLegacyStore(paths);
  let sinkPort: number | null;
  let where: string;
  if (running) {
    sinkPort = running.sinkPort;
    where = `the running local stack (pid ${running.pid})`;
  } else {
    if (create) await prepareDataDir(paths);
    else {
      await access(paths.database).catch(() => {
        throw new ShadowmailError(
          'NO_DATA',
          `no shadowmail data in ${config.dataDir} (start local mode with npm start, or pass --data-dir)`,
        );
      });
    }
    const release = await acquireDataDirLock(paths);
    closers.push(release);
    sinkPort = null;
    where = config.dataDir;
  }
  // WAL lets this process write beside the running stack; what it creates stays owner-only.
  ownerOnlyFiles();
  const store = openLocalStore(paths.database);
  closers.push(async () => store.close());
  return { store, sinkPort, where, running };
}

/**
 * The running local stack's message index, for a CLI command that needs the stack itself
 * (shadowmail probe sends to its SMTP port and follows the message in its store).
 */
export async function openRunningLocalIndex(
  config: LocalConfig,
): Promise<{ index: MessageIndex; runtime: RuntimeInfo; close(): Promise<void> }> {
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) await closer().catch(() => undefined);
  };
  try {
    // runningOnly: the data directory is the running stack's, never taken here.
    const { store, running } = await openLocalTable(config, closers, false, true);
    return { index: store.index, runtime: running!, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Local mode's audit log for a CLI command that writes nothing else into the store (the
 * failover switch): reached like the resend session's, and created with the data
 * directory when local mode never ran there, so the entry is waiting when it starts.
 */
export async function openLocalAuditLog(
  config: LocalConfig,
  options: { runningOnly?: boolean } = {},
): Promise<{ audit: AuditLog; directory: DirectoryStore; where: string; close(): Promise<void> }> {
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) await closer().catch(() => undefined);
  };
  try {
    const { store, where } = await openLocalTable(config, closers, true, options.runningOnly ?? false);
    return {
      audit: store.audit,
      // The synced directory in the same store: who failover notices go to.
      directory: store.directory,
      where,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Opens the data directory for resend commands: the store file beside the running stack,
 * or, with no stack running, after taking the data directory (so `npm start` waits for
 * us) — and the built-in sink, when no primary is
 * configured, once the worker starts.
 */
export async function openLocalResendSession(config: LocalConfig, clock: Clock): Promise<LocalResendSession> {
  const paths = localPaths(config.dataDir);
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) await closer().catch(() => undefined);
  };
  try {
    const table = await openLocalTable(config, closers);
    const { store, where } = table;
    let { sinkPort } = table;
    const { index, resendJobs: jobs, audit } = store;
    const queue = new FileResendQueue(
      new FileQueue(resendQueueDir(paths.root), { visibilityTimeoutSeconds: Math.ceil(config.leaseMs / 1000) }),
    );
    const resendConfig = localResendConfig(config);
    const mode = (await localResendWorkerPid(paths.root)) === null ? 'in-process' : 'worker';
    const rawStore = localRawMailStore(paths.raw, store.rawRows);
    return {
      index,
      jobs,
      audit,
      rawStore,
      queue,
      mode,
      where,
      startDeps: { index, jobs, queue, audit, clock, config: resendConfig },
      startWorker: async (workerClock: Clock) => {
        if (!config.primary && sinkPort === null) {
          const sink = await startSmtpSink({ host: '127.0.0.1', port: 0, dir: paths.primarySink });
          closers.push(() => sink.close());
          sinkPort = sink.port;
        }
        const relay = localRelay(config, sinkPort);
        closers.push(() => relay.close());
        const worker = await startLocalResend({
          store,
          rawStore,
          relay,
          paths,
          clock: workerClock,
          config,
          observability: quietObservability(),
        });
        closers.push(() => worker.stop());
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * For a worker inside the CLI: stdout belongs to the command (its --json), so only
 * errors are logged (to stderr) and metrics are dropped instead of printed as EMF.
 */
function quietObservability(): Observability {
  const observability = createObservability(SERVICE.resend);
  observability.logger.setLogLevel('ERROR');
  const { metrics } = observability;
  metrics.publishStoredMetrics = () => {
    metrics.clearMetrics();
    return metrics;
  };
  return observability;
}

/**
 * Local mode's audit log as seen from the CLI: the store file is opened here, so a restart
 * of the running stack (a kill during an outage, a drill) does not break it; should a write
 * still fail (the file's write lock held past busy_timeout), it re-opens and tries again for a
 * while instead of leaving a switch unrecorded.
 */
export class ReopeningLocalAuditLog implements AuditLog {
  constructor(
    private readonly config: LocalConfig,
    private opened: { audit: AuditLog; directory?: DirectoryStore; close(): Promise<void> },
    private readonly patienceMs = 20_000,
  ) {}

  async append(event: AuditEvent): Promise<void> {
    const deadline = Date.now() + this.patienceMs;
    let failedBefore = false;
    for (;;) {
      try {
        await this.opened.audit.append(event);
        return;
      } catch (error) {
        // "exists" after a failed try: that try was written, only its answer was lost.
        if (error instanceof InvalidInputError && failedBefore) return;
        if (error instanceof InvalidInputError || Date.now() >= deadline) throw error;
        failedBefore = true;
        await this.opened.close().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 500));
        // Only through a running stack while there is time: taking the data directory
        // ourselves would make the stack's restart fail on the lock. At the end, anyway.
        const last = Date.now() >= deadline - 1_000;
        this.opened = await openLocalAuditLog(this.config, { runningOnly: !last }).catch(() => this.opened);
      }
    }
  }

  list(filter: AuditFilter): Promise<AuditPage> {
    return this.opened.audit.list(filter);
  }

  /** The synced directory through the same (re-opened) store: failover notices read who to tell. */
  readonly directory: Pick<DirectoryStore, 'readState'> = {
    readState: () => {
      if (!this.opened.directory) throw new ShadowmailError('NO_DIRECTORY', 'this audit log was opened without the directory');
      return this.opened.directory.readState();
    },
  };

  close(): Promise<void> {
    return this.opened.close();
  }
}

/** openLocalAuditLog that survives a restart of the running stack (see ReopeningLocalAuditLog). */
export async function openReopeningLocalAuditLog(config: LocalConfig, patienceMs?: number): Promise<ReopeningLocalAuditLog> {
  return new ReopeningLocalAuditLog(config, await openLocalAuditLog(config), patienceMs);
}
