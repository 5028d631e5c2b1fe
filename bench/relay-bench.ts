// The relay benchmark run against one target (shadowmail local mode or Postfix):
// a load generator on pooled SMTP connections, the delivery watcher on the
// primary's Maildir, and per-phase CPU and memory of the target's processes. Latency is
// measured from the client's 250 to the moment the primary has delivered the message.
import { createTransport } from 'nodemailer';
import type { DeliveryWatcher } from './delivery-watcher.ts';
import { BENCH_FROM, BENCH_TO, benchMessage } from './messages.ts';
import { busyPercent, type MemoryReading, MemorySampler, machineCpuTimes } from './procfs.ts';
import { type Distribution, delay, distribution, round } from './stats.ts';

export interface RelayTarget {
  name: string;
  smtpPort: number;
  watcher: DeliveryWatcher;
  /** The target's processes now (memory is sampled over them). */
  pids(): number[];
  /** CPU seconds used by the target's processes so far (reaped children included). */
  cpuSeconds(): number;
  /** Kernel peak RSS of the main process, when it is one process (VmHWM). */
  peakRssMiB?(): number | null;
}

interface Sent {
  messageId: string;
  bytes: number;
  startedAt: number;
  acceptedAt: number | null;
  error: string | null;
}

export interface PhaseResult {
  messages: number;
  accepted: number;
  delivered: number;
  /** Accepted but not delivered by the primary when the wait ran out. */
  missing: number;
  failed: number;
  firstError: string | null;
  meanMessageKiB: number;
  /** Client's send to the server's 250, ms. */
  acceptLatencyMs: Distribution;
  /** Server's 250 (as the client saw it) to the file in the primary's Maildir, ms. */
  deliveryLatencyMs: Distribution;
  /** Accepted messages per second over the phase's sending time. */
  acceptedPerSecond: number;
  /**
   * A backlog phase (options.backlog): messages delivered per second from the moment
   * the primary answered again to the last delivery, and from the first delivery to
   * the last (the relay's own pace, without its wait for the next retry).
   */
  drain?: { releasedAfterSeconds: number; perSecond: number; firstToLastPerSecond: number };
  /** Delivered messages per second from the first send to the last delivery. */
  deliveredPerSecond: number;
  /** Target CPU per delivered message, ms (from the first send until all were delivered). */
  cpuMsPerMessage: number;
  /** Peak summed memory of the target's processes, sampled every 250 ms, MiB. */
  peakMemoryMiB: { rss: number; pss: number };
  /** All processes on the machine (benchmark client and primary included), percent of all CPUs. */
  machineCpuBusyPercent: number;
  seconds: number;
}

export interface PhaseOptions {
  run: string;
  /**
   * Open loop: `rate` messages per second, `count` in all, each sent on schedule
   * whether or not the previous one was accepted. Closed loop (`rate` Infinity):
   * every connection sends its next message as soon as the last one got its reply,
   * for `durationMs` or until `count` messages were sent.
   */
  rate: number;
  count: number;
  durationMs?: number;
  connections: number;
  deliveryTimeoutMs: number;
  /** Sends this raw file instead of generated messages (count must be 1). */
  rawFile?: { path: string; messageId: string; bytes: number };
  /**
   * A backlog: the primary is down while the phase sends; once every message was
   * accepted and `settleMs` more have passed (each was tried and deferred), `release`
   * brings the primary back and the drain is timed from there.
   */
  backlog?: { settleMs: number; release(): Promise<void> };
}

export async function runPhase(target: RelayTarget, options: PhaseOptions): Promise<PhaseResult> {
  const transport = createTransport({
    host: '127.0.0.1',
    port: target.smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: options.connections,
    maxMessages: Infinity,
    // a slow 40 MB transfer must not be cut off by nodemailer's defaults
    socketTimeout: 120_000,
  });
  const sampler = new MemorySampler(() => target.pids()).start();
  const cpuBefore = target.cpuSeconds();
  const machineBefore = machineCpuTimes();
  const sends: Promise<void>[] = [];
  const sent: Sent[] = [];
  const phaseStart = performance.now();
  try {
    const send = (seq: number): Promise<void> => {
      const message = options.rawFile
        ? { raw: { path: options.rawFile.path }, messageId: options.rawFile.messageId, bytes: options.rawFile.bytes }
        : (() => {
            const generated = benchMessage(options.run, seq);
            return { raw: generated.raw, messageId: generated.messageId, bytes: generated.raw.length };
          })();
      const record: Sent = {
        messageId: message.messageId,
        bytes: message.bytes,
        startedAt: performance.now(),
        acceptedAt: null,
        error: null,
      };
      sent.push(record);
      return transport.sendMail({ envelope: { from: BENCH_FROM, to: [BENCH_TO] }, raw: message.raw }).then(
        () => {
          record.acceptedAt = performance.now();
        },
        (error: Error) => {
          record.error = error.message;
        },
      );
    };
    if (Number.isFinite(options.rate)) {
      for (let seq = 0; seq < options.count; seq++) {
        const wait = phaseStart + (seq * 1000) / options.rate - performance.now();
        if (wait > 0) await delay(wait);
        sends.push(send(seq));
      }
    } else {
      const end = phaseStart + (options.durationMs ?? Infinity);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < options.count && performance.now() < end) await send(next++);
      };
      for (let connection = 0; connection < options.connections; connection++) sends.push(worker());
    }
    await Promise.all(sends);
    let releasedAt: number | null = null;
    if (options.backlog) {
      await delay(options.backlog.settleMs);
      await options.backlog.release();
      releasedAt = performance.now();
    }
    const accepted = sent.filter((record) => record.acceptedAt !== null);
    const missing = await target.watcher.waitFor(
      accepted.map((record) => record.messageId),
      options.deliveryTimeoutMs,
    );
    const lastAccepted = Math.max(...accepted.map((record) => record.acceptedAt!));
    const deliveries = accepted
      .map((record) => ({ record, at: target.watcher.deliveredAt.get(record.messageId) }))
      .filter((entry): entry is { record: Sent; at: number } => entry.at !== undefined);
    const lastDelivered = Math.max(...deliveries.map((entry) => entry.at));
    const firstDelivered = Math.min(...deliveries.map((entry) => entry.at));
    const cpu = target.cpuSeconds() - cpuBefore;
    const machineBusy = busyPercent(machineBefore, machineCpuTimes());
    const memory: MemoryReading = sampler.stop();
    const firstStart = sent[0]?.startedAt ?? phaseStart;
    return {
      messages: sent.length,
      accepted: accepted.length,
      delivered: deliveries.length,
      missing: missing.length,
      failed: sent.filter((record) => record.error !== null).length,
      firstError: sent.find((record) => record.error !== null)?.error ?? null,
      meanMessageKiB: round(sent.reduce((sum, record) => sum + record.bytes, 0) / sent.length / 1024, 1),
      acceptLatencyMs: distribution(accepted.map((record) => record.acceptedAt! - record.startedAt)),
      deliveryLatencyMs: distribution(deliveries.map((entry) => entry.at - entry.record.acceptedAt!)),
      acceptedPerSecond: round(accepted.length / ((lastAccepted - firstStart) / 1000), 1),
      deliveredPerSecond: round(deliveries.length / ((lastDelivered - firstStart) / 1000), 1),
      ...(releasedAt === null
        ? {}
        : {
            drain: {
              releasedAfterSeconds: round((releasedAt - phaseStart) / 1000, 2),
              perSecond: round(deliveries.length / ((lastDelivered - releasedAt) / 1000), 1),
              firstToLastPerSecond: round(deliveries.length / ((lastDelivered - firstDelivered) / 1000), 1),
            },
          }),
      cpuMsPerMessage: round((cpu * 1000) / Math.max(1, deliveries.length), 2),
      peakMemoryMiB: { rss: round(memory.rssMiB, 1), pss: round(memory.pssMiB, 1) },
      machineCpuBusyPercent: round(machineBusy, 0),
      seconds: round((performance.now() - phaseStart) / 1000, 2),
    };
  } finally {
    sampler.stop();
    transport.close();
  }
}
