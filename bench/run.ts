// `npm run bench`: the performance figures of shadowmail on this machine — ingest
// throughput, peak RSS of a 40 MiB parse, relay latency and throughput against Postfix
// as a backup MX, webmail server time, Lambda bundle sizes and cold import times — written to bench/results.json and printed.
// Not a test: nothing is asserted. Sections and knobs (BENCH_*): bench/README.md;
// a section that cannot run (no corpus, not root, no Postfix) is recorded as skipped.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDynamoDbClient } from '../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../lambdas/adapters/aws/message-table.ts';
import { openLocalStore } from '../lambdas/wiring/local-store.ts';
import { startEmbeddedDynalite } from '../test/support/embedded-dynalite.ts';
import { startLocal } from '../test/support/local-process.ts';
import { measureIngestRss, type ParseMeasurement, writeLargeMessage } from '../test/support/measure-ingest-rss.ts';
import { MemoryMessageIndex } from '../test/support/memory-message-index.ts';
import { startPostfix } from '../test/support/postfix.ts';
import { DeliveryWatcher } from './delivery-watcher.ts';
import { type Goal, issue18Goals } from './goals.ts';
import { type IngestThroughput, measureIngest, readCorpus } from './ingest-throughput.ts';
import { lambdaBundlesSummary, measureLambdaBundles } from './lambda-bundles.ts';
import { startNodeRelay } from './node-relay.ts';
import { busyPercent, machineCpuTimes, memoryOf, peakRssMiB, processTree, treeCpuSeconds } from './procfs.ts';
import { type PhaseResult, type RelayTarget, runPhase } from './relay-bench.ts';
import { delay, MIB, median, round } from './stats.ts';
import { measureWebmail, webmailSummary } from './webmail-bench.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpusRoot = resolve(projectRoot, '../shared/corpus');
const outFile = resolve(projectRoot, process.env.BENCH_OUT ?? 'bench/results.json');

const settings = {
  steadyRatePerSecond: numberSetting('BENCH_RATE', 50),
  steadySeconds: numberSetting('BENCH_SECONDS', 20),
  burstSeconds: numberSetting('BENCH_BURST_SECONDS', 10),
  burstMaxMessages: 10_000,
  burstConnections: 4,
  corpusPasses: numberSetting('BENCH_PASSES', 3),
  largeMessageBytes: 40 * MIB,
  bundleImportRuns: numberSetting('BENCH_BUNDLE_RUNS', 15),
  cpuProfileDir: process.env.BENCH_CPU_PROF_DIR || null,
  backlogMessages: numberSetting('BENCH_BACKLOG', 1000),
  /**
   * Pairs of phases of both relays taken in turn (both up at once): a steady phase and a
   * burst of each, for ratios the machine's drift moves less; 0 leaves them out.
   */
  burstPairs: numberSetting('BENCH_BURST_PAIRS', 3, 0),
  /** Length of each steady phase in the pairs (at the steady rate, one connection). */
  pairSteadySeconds: numberSetting('BENCH_PAIR_STEADY_SECONDS', 10),
  /** Another checkout of shadowmail (npm ci done there) whose local mode runs beside this one's, in turn: an A/B of two builds. */
  versus: process.env.BENCH_VERSUS ? resolve(process.env.BENCH_VERSUS) : null,
  versusRounds: numberSetting('BENCH_VERSUS_ROUNDS', 6),
  /**
   * Messages each relay gets, back to back on the burst's connections, before anything is
   * measured. A relay runs for days; V8 compiles local mode's hot paths over its first few
   * thousand messages: at 50 msg/s from a cold start its CPU per message fell for ~4,000
   * messages before it levelled off (bench/README.md), so 500 at the steady rate left the
   * steady phase measuring a process still warming up.
   */
  warmupMessages: numberSetting('BENCH_WARMUP', 2000),
  /** Both relays retry a deferred message after 1 s, then 2 s at most, so the drain shows their pace, not their schedule. */
  retryBaseSeconds: 1,
  retryMaxDelaySeconds: 2,
};

/** The warm-up's bound in time, should a relay be far slower than expected (2,000 messages take ~15 s here). */
const WARMUP_BOUND_MS = 120_000;
/** After the last message of the backlog was accepted: long enough for every one to be tried and deferred at least once. */
const BACKLOG_SETTLE_MS = 3_000;
/** What the relays log while the primary is down on purpose (not counted as warnings). */
const backlogComplaint = /ECONNREFUSED|Connection refused|status=deferred|connect to .* refused|deferred|retry/i;
const only = new Set(
  (process.env.BENCH_ONLY ?? 'ingest,rss,webmail,bundles,shadowmail,postfix,noderelay').split(',').map((part) => part.trim()),
);

type Section<T> = T | { skipped: string };

function numberSetting(name: string, fallback: number, least = Number.MIN_VALUE): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!(parsed >= least)) {
    throw new Error(`${name} must be ${least === Number.MIN_VALUE ? 'a positive number' : `a number of at least ${least}`}, not ${value}`);
  }
  return parsed;
}

function log(line: string): void {
  process.stderr.write(`[bench ${((performance.now() - benchStart) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}

async function section<T>(name: string, enabled: boolean, body: () => Promise<T>): Promise<Section<T>> {
  if (!enabled) return { skipped: 'not selected (BENCH_ONLY)' };
  log(`${name} …`);
  try {
    return await body();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    log(`${name} skipped: ${reason}`);
    return { skipped: reason };
  }
}

function command(file: string, args: string[]): string | null {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function machineFacts() {
  const before = machineCpuTimes();
  await delay(1000);
  const busy = busyPercent(before, machineCpuTimes());
  return {
    node: process.version,
    platform: `${process.platform} ${release()}`,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: availableParallelism(),
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    loadAverage1mAtStart: round(loadavg()[0]!, 2),
    /** Other work on the machine in the second before the benchmark started, percent of all CPUs. */
    cpuBusyPercentBeforeStart: round(busy, 0),
    /** fsync cost depends on it: every relay in the benchmark fsyncs here. */
    tmpFileSystem: command('stat', ['-f', '-c', '%T', tmpdir()]),
    postfix: command('postconf', ['-d', '-h', 'mail_version']),
  };
}

// ------------------------------------------------------------------------------
// 1. ingest throughput

async function ingestWithMemoryIndex(): Promise<IngestThroughput> {
  const rows = readCorpus(corpusRoot);
  const index = new MemoryMessageIndex();
  return measureIngest({
    label: 'in-memory (test/support/memory-message-index.ts)',
    corpusRoot,
    rows,
    index,
    addresses: index,
    warmupMessages: rows.length,
    passes: settings.corpusPasses,
  });
}

async function ingestWithDynalite(work: string): Promise<IngestThroughput> {
  const rows = readCorpus(corpusRoot);
  // persisted like local mode's, so LevelDB's writes are part of the figure
  const dynalite = await startEmbeddedDynalite({ path: join(work, 'dynalite'), host: '127.0.0.1', port: 0 });
  const client = makeDynamoDbClient(dynalite.endpoint);
  try {
    await createMessageTable(client, 'shadowmail-bench');
    return await measureIngest({
      label: 'DynamoDbMessageIndex on embedded dynalite (LevelDB on disk)',
      corpusRoot,
      rows,
      index: new DynamoDbMessageIndex({ client, tableName: 'shadowmail-bench' }),
      addresses: new DynamoDbDirectoryStore({ client, tableName: 'shadowmail-bench' }),
      warmupMessages: 40,
      passes: Math.max(1, Math.min(2, settings.corpusPasses)),
    });
  } finally {
    client.destroy();
    await dynalite.close();
  }
}

/** Local mode's index since issue 18: the SQLite store on disk (WAL, commits at NORMAL, one fsync per message), as local mode opens it. */
async function ingestWithSqlite(work: string): Promise<IngestThroughput> {
  const rows = readCorpus(corpusRoot);
  const store = openLocalStore(join(work, 'sqlite', 'shadowmail.db'));
  try {
    return await measureIngest({
      label: 'SqliteMessageIndex on the local store (SQLite file, WAL, one fsync per message)',
      corpusRoot,
      rows,
      index: store.index,
      afterEach: () => store.makeDurable(),
      addresses: store.directory,
      warmupMessages: 40,
      passes: Math.max(1, Math.min(2, settings.corpusPasses)),
    });
  } finally {
    store.close();
  }
}

// ------------------------------------------------------------------------------
// 2. peak RSS of a 40 MiB message

async function largeMessageRss() {
  const shape = (m: ParseMeasurement) => ({
    messageMiB: round(m.bytes / MIB, 1),
    peakRssMiB: m.peakRssMb,
    seconds: m.seconds,
    mibPerSecond: m.mbPerSecond,
  });
  const baseline = await measureIngestRss('text', 4096);
  const attachment = await measureIngestRss('attachment', settings.largeMessageBytes);
  const text = await measureIngestRss('text', settings.largeMessageBytes);
  return {
    what: "MailparserMimeParser.summarize over a file stream in a fresh child process (test/support/measure-ingest-rss.ts); peak = the child's maxRSS",
    baselinePeakRssMiB: baseline.peakRssMb,
    attachment: shape(attachment),
    text: shape(text),
  };
}

// ------------------------------------------------------------------------------
// 3. relay: shadowmail local mode and Postfix, to the same kind of primary

/**
 * The primary both relays deliver to: a Postfix from test/support/postfix.ts (the
 * project's stand-in for Exchange) delivering into a Maildir. Not local mode's
 * built-in sink: smtp-server holds every new connection 100 ms before its greeting
 * (early-talker check), a floor that Exchange does not have and that would hide
 * the relays' own latency.
 */
interface Primary {
  port: number;
  newDir: string;
  /** Down (connections refused) and back up, for the backlog phase. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

async function startPrimary(): Promise<Primary> {
  const primary = await startPostfix({ domain: 'corp.test', users: ['alice'] });
  try {
    // virtual(8) creates the Maildir on first delivery; the watcher needs new/ before that
    const maildir = primary.maildir('alice');
    for (const sub of ['', 'tmp', 'new', 'cur']) {
      await mkdir(join(maildir, sub), { recursive: true, mode: 0o700 });
      await chown(join(maildir, sub), 65534, 65534);
    }
    return {
      port: primary.port,
      newDir: join(maildir, 'new'),
      down: () => primary.stop(),
      up: () => primary.start(),
      stop: () => primary.destroy(),
    };
  } catch (error) {
    await primary.destroy();
    throw error;
  }
}

interface RelayRun {
  target: string;
  setup: string;
  startupSeconds: number;
  steady: PhaseResult;
  burst: PhaseResult;
  largeMessage: PhaseResult;
  /** settings.backlogMessages sent while the primary is down, then the primary back: the drain. */
  backlog: PhaseResult;
  /** Kernel high-water mark of the main process over the whole run (VmHWM); shadowmail only. */
  peakRssMiB: number | null;
  /** The same just before the large message was sent: if lower, the large message set the peak. */
  peakRssBeforeLargeMessageMiB: number | null;
  idleMemoryMiB: { rss: number; pss: number } | null;
  watcher: { byWatch: number; byScan: number; unrecognised: number };
  warningsLogged: number;
  firstWarnings: string[];
}

type RelayStarter = (primaryPort: number) => Promise<{
  target: Omit<RelayTarget, 'watcher'>;
  setup: string;
  stop(): Promise<void>;
  /** Warning and error lines the target logged (a relay that retried shows here). */
  complaints(): Promise<string[]>;
}>;

interface StartedRelay {
  target: RelayTarget;
  started: Awaited<ReturnType<RelayStarter>>;
  primary: Primary;
  startupSeconds: number;
  /** Stops the target, the watcher and the primary, whatever state they are in. */
  stop(): Promise<void>;
}

/** A fresh primary with its delivery watcher, and the target relaying to it. */
async function startRelay(name: string, start: RelayStarter): Promise<StartedRelay> {
  const primary = await startPrimary();
  const watcher = new DeliveryWatcher(primary.newDir);
  let stopTarget: (() => Promise<void>) | null = null;
  const stop = async (): Promise<void> => {
    watcher.stop();
    await stopTarget?.().catch((error: unknown) => log(`${name}: stop failed: ${String(error)}`));
    await primary.stop();
  };
  try {
    await watcher.start();
    const startedAt = performance.now();
    const started = await start(primary.port);
    stopTarget = started.stop;
    const startupSeconds = round((performance.now() - startedAt) / 1000, 2);
    return { target: { ...started.target, watcher }, started, primary, startupSeconds, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function relayRun(name: string, largeFile: string, start: RelayStarter): Promise<RelayRun> {
  const relay = await startRelay(name, start);
  const { target, started, primary, startupSeconds } = relay;
  const watcher = target.watcher;
  try {
    log(`${name}: up in ${startupSeconds} s; warm-up`);
    await warmUp(target, `${name}-warmup`);
    const idleReading = memoryOf(target.pids());
    const idle = { rss: round(idleReading.rssMiB, 1), pss: round(idleReading.pssMiB, 1) };
    const count = Math.round(settings.steadyRatePerSecond * settings.steadySeconds);
    log(`${name}: steady ${settings.steadyRatePerSecond} msg/s × ${settings.steadySeconds} s`);
    const steady = await runPhase(target, {
      run: `${name}-steady`,
      rate: settings.steadyRatePerSecond,
      count,
      connections: 1,
      deliveryTimeoutMs: 30_000,
    });
    log(`${name}: burst, ${settings.burstConnections} connections sending back to back for ${settings.burstSeconds} s`);
    const burst = await runPhase(target, {
      run: `${name}-burst`,
      rate: Infinity,
      count: settings.burstMaxMessages,
      durationMs: settings.burstSeconds * 1000,
      connections: settings.burstConnections,
      deliveryTimeoutMs: 60_000,
    });
    const peakBeforeLarge = target.peakRssMiB?.() ?? null;
    log(`${name}: one ${round(settings.largeMessageBytes / MIB, 0)} MiB message`);
    const largeMessage = await runPhase(target, {
      run: `${name}-large`,
      rate: Infinity,
      count: 1,
      connections: 1,
      deliveryTimeoutMs: 60_000,
      rawFile: { path: largeFile, messageId: 'large-attachment@sender.example', bytes: settings.largeMessageBytes },
    });
    log(`${name}: backlog of ${settings.backlogMessages} messages while the primary is down, then the drain`);
    await primary.down();
    const backlog = await runPhase(target, {
      run: `${name}-backlog`,
      rate: Infinity,
      count: settings.backlogMessages,
      connections: settings.burstConnections,
      deliveryTimeoutMs: 120_000,
      backlog: { settleMs: BACKLOG_SETTLE_MS, release: () => primary.up() },
    });
    const peak = target.peakRssMiB?.() ?? null;
    const complaints = (await started.complaints()).filter((line) => !backlogComplaint.test(line));
    return {
      target: name,
      setup: started.setup,
      startupSeconds,
      steady,
      burst,
      largeMessage,
      backlog,
      peakRssMiB: peak === null ? null : round(peak, 1),
      peakRssBeforeLargeMessageMiB: peakBeforeLarge === null ? null : round(peakBeforeLarge, 1),
      idleMemoryMiB: idle,
      watcher: { ...watcher.seen },
      warningsLogged: complaints.length,
      firstWarnings: complaints.slice(0, 3).map((line) => line.slice(0, 300)),
    };
  } finally {
    await relay.stop();
  }
}

/** settings.warmupMessages closed-loop on the burst's connections, not measured. */
async function warmUp(target: RelayTarget, run: string): Promise<void> {
  await runPhase(target, {
    run,
    rate: Infinity,
    count: settings.warmupMessages,
    durationMs: WARMUP_BOUND_MS,
    connections: settings.burstConnections,
    deliveryTimeoutMs: 60_000,
  });
}

/** One burst of a target as relayRun takes it, after the warm-up. */
function burstPhase(name: string, target: RelayTarget, run: string): Promise<PhaseResult> {
  return runPhase(target, {
    run,
    rate: Infinity,
    count: settings.burstMaxMessages,
    durationMs: settings.burstSeconds * 1000,
    connections: settings.burstConnections,
    deliveryTimeoutMs: 60_000,
  }).then((phase) => {
    log(`${name}: ${phase.deliveredPerSecond} msg/s delivered, ${phase.cpuMsPerMessage} CPU ms/msg`);
    return phase;
  });
}

interface BurstPairs {
  how: string;
  /** shadowmail and postfix: the bursts; steady: the steady phases taken just before them. */
  pairs: {
    order: string;
    shadowmail: PhaseResult;
    postfix: PhaseResult;
    ratio: number | null;
    steady: { shadowmail: PhaseResult; postfix: PhaseResult };
    /** The yardstick's steady phase and burst, taken after the two relays' (no goal is judged on it). */
    nodeRelay?: { steady: PhaseResult; burst: PhaseResult };
  }[];
  /** Median over the pairs of shadowmail's burst rate divided by Postfix's. */
  medianRatio: number | null;
  medianCpuMsPerMessage: { shadowmail: number; postfix: number };
  medianSteadyCpuMsPerMessage: { shadowmail: number; postfix: number };
  nodeRelay?: NodeRelayFloor;
}

/**
 * bench/node-relay.ts in the pairs: node's SMTP libraries alone, keeping nothing. Medians
 * over the pairs; `shadowmailAbove…` is the median of each pair's shadowmail − node relay:
 * what local mode spends beyond the libraries it is built on.
 */
interface NodeRelayFloor {
  what: string;
  cpuMsPerMessage: { steady: number; burst: number };
  ratioToPostfix: { steady: number | null; burst: number | null };
  shadowmailAboveCpuMsPerMessage: { steady: number; burst: number };
}

/**
 * Both relays up at once, each with its own primary, and a steady phase and a burst of each
 * taken in turn (shadowmail first, then Postfix first, …): this machine's speed drifts by
 * ±30 % within minutes, and a ratio of phases seconds apart is moved less by it than one
 * of runs two minutes apart.
 */
async function burstPairs(starters: {
  shadowmail: RelayStarter;
  postfix: RelayStarter;
  nodeRelay: RelayStarter | null;
}): Promise<BurstPairs> {
  const relays: StartedRelay[] = [];
  try {
    const shadowmail = await startRelay('shadowmail', starters.shadowmail);
    relays.push(shadowmail);
    const postfix = await startRelay('postfix', starters.postfix);
    relays.push(postfix);
    const nodeRelay = starters.nodeRelay ? await startRelay('node-relay', starters.nodeRelay) : null;
    if (nodeRelay) relays.push(nodeRelay);
    const warming: [string, StartedRelay][] = [
      ['shadowmail', shadowmail],
      ['postfix', postfix],
    ];
    if (nodeRelay) warming.push(['node-relay', nodeRelay]);
    for (const [name, relay] of warming) await warmUp(relay.target, `${name}-pairs-warmup`);
    const pairs: BurstPairs['pairs'] = [];
    for (let pair = 0; pair < settings.burstPairs; pair++) {
      const shadowmailFirst = pair % 2 === 0;
      log(`pair ${pair + 1} of ${settings.burstPairs}, ${shadowmailFirst ? 'shadowmail' : 'postfix'} first`);
      const order = shadowmailFirst ? (['shadowmail', 'postfix'] as const) : (['postfix', 'shadowmail'] as const);
      const results: Partial<Record<'shadowmail' | 'postfix', PhaseResult>> = {};
      const steady: Partial<Record<'shadowmail' | 'postfix', PhaseResult>> = {};
      const targetOf = (name: 'shadowmail' | 'postfix') => (name === 'shadowmail' ? shadowmail : postfix).target;
      // the steady phases next to each other, then the bursts: each ratio is of phases seconds apart
      for (const name of order) {
        steady[name] = await runPhase(targetOf(name), {
          run: `${name}-pair${pair}-steady`,
          rate: settings.steadyRatePerSecond,
          count: Math.round(settings.steadyRatePerSecond * settings.pairSteadySeconds),
          connections: 1,
          deliveryTimeoutMs: 30_000,
        });
        log(`${name}: steady ${steady[name].cpuMsPerMessage} CPU ms/msg, p99 ${steady[name].deliveryLatencyMs.p99} ms`);
      }
      for (const name of order) results[name] = await burstPhase(name, targetOf(name), `${name}-pair${pair}`);
      pairs.push({
        order: order.join(' then '),
        shadowmail: results.shadowmail!,
        postfix: results.postfix!,
        ratio: ratio(results.shadowmail!.deliveredPerSecond, results.postfix!.deliveredPerSecond),
        steady: { shadowmail: steady.shadowmail!, postfix: steady.postfix! },
        ...(nodeRelay ? { nodeRelay: await yardstickPhases(nodeRelay.target, pair) } : {}),
      });
    }
    const cpu = (name: 'shadowmail' | 'postfix') => round(median(pairs.map((pair) => pair[name].cpuMsPerMessage)), 2);
    const steadyCpu = (name: 'shadowmail' | 'postfix') => round(median(pairs.map((pair) => pair.steady[name].cpuMsPerMessage)), 2);
    const ratios = pairs.map((pair) => pair.ratio).filter((value): value is number => value !== null);
    return {
      how:
        `both relays up at once, each with its own primary Postfix; ${settings.burstPairs} pairs: a steady phase (${settings.steadyRatePerSecond} msg/s × ${settings.pairSteadySeconds} s, 1 connection) and a burst (${settings.burstSeconds} s, ${settings.burstConnections} connections) of each, taken in turn, the first of each pair alternating` +
        (nodeRelay ? '; then, in each pair, the same two phases of the node relay (bench/node-relay.ts, its own primary)' : ''),
      pairs,
      medianRatio: ratios.length > 0 ? round(median(ratios), 2) : null,
      medianCpuMsPerMessage: { shadowmail: cpu('shadowmail'), postfix: cpu('postfix') },
      medianSteadyCpuMsPerMessage: { shadowmail: steadyCpu('shadowmail'), postfix: steadyCpu('postfix') },
      ...(nodeRelay ? { nodeRelay: nodeRelayFloor(pairs) } : {}),
    };
  } finally {
    for (const relay of relays.reverse()) await relay.stop();
  }
}

/** The yardstick's steady phase and burst in one pair, after the two relays'. */
async function yardstickPhases(target: RelayTarget, pair: number): Promise<{ steady: PhaseResult; burst: PhaseResult }> {
  const steady = await runPhase(target, {
    run: `node-relay-pair${pair}-steady`,
    rate: settings.steadyRatePerSecond,
    count: Math.round(settings.steadyRatePerSecond * settings.pairSteadySeconds),
    connections: 1,
    deliveryTimeoutMs: 30_000,
  });
  log(`node-relay: steady ${steady.cpuMsPerMessage} CPU ms/msg, p99 ${steady.deliveryLatencyMs.p99} ms`);
  return { steady, burst: await burstPhase('node-relay', target, `node-relay-pair${pair}`) };
}

function nodeRelayFloor(pairs: BurstPairs['pairs']): NodeRelayFloor {
  const measured = pairs.flatMap((pair) => (pair.nodeRelay ? [{ ...pair, nodeRelay: pair.nodeRelay }] : []));
  const cpu = (pick: (pair: (typeof measured)[number]) => PhaseResult) =>
    round(median(measured.map((pair) => pick(pair).cpuMsPerMessage)), 2);
  const floor = { steady: cpu((pair) => pair.nodeRelay.steady), burst: cpu((pair) => pair.nodeRelay.burst) };
  const above = (shadowmail: (pair: (typeof measured)[number]) => PhaseResult, node: (pair: (typeof measured)[number]) => PhaseResult) =>
    round(median(measured.map((pair) => shadowmail(pair).cpuMsPerMessage - node(pair).cpuMsPerMessage)), 2);
  return {
    what: 'bench/node-relay.ts: smtp-server in, nodemailer out, nothing kept; the floor of local mode on these libraries',
    cpuMsPerMessage: floor,
    ratioToPostfix: {
      steady: ratio(floor.steady, median(measured.map((pair) => pair.steady.postfix.cpuMsPerMessage))),
      burst: ratio(floor.burst, median(measured.map((pair) => pair.postfix.cpuMsPerMessage))),
    },
    shadowmailAboveCpuMsPerMessage: {
      steady: above(
        (pair) => pair.steady.shadowmail,
        (pair) => pair.nodeRelay.steady,
      ),
      burst: above(
        (pair) => pair.shadowmail,
        (pair) => pair.nodeRelay.burst,
      ),
    },
  };
}

interface VersusRun {
  steady: PhaseResult;
  burst: PhaseResult;
}

interface Versus {
  how: string;
  thisTree: { dir: string; commit: string | null };
  other: { dir: string; commit: string | null };
  rounds: { order: string; thisTree: VersusRun; other: VersusRun }[];
  /** Medians over the rounds; `ratio…` is the median of each round's this-tree / other. */
  median: {
    burstCpuMsPerMessage: { thisTree: number; other: number; ratio: number };
    steadyCpuMsPerMessage: { thisTree: number; other: number; ratio: number };
    burstDeliveredPerSecond: { thisTree: number; other: number; ratio: number };
    steadyP99Ms: { thisTree: number; other: number };
  };
}

/**
 * BENCH_VERSUS: local mode of this checkout and of another one, both up at once, each with
 * its own primary, a steady phase and a burst of each taken in turn (the first of each round
 * alternating). What a change saves is often a few percent, and this machine drifts by more
 * than that between runs minutes apart.
 */
async function versusRounds(otherDir: string): Promise<Versus> {
  if (!existsSync(join(otherDir, 'bin/start-local.mjs'))) throw new Error(`BENCH_VERSUS: no bin/start-local.mjs in ${otherDir}`);
  const relays: StartedRelay[] = [];
  try {
    const mine = await startRelay('this tree', shadowmailStarter(work, projectRoot));
    relays.push(mine);
    const other = await startRelay(
      'other tree',
      shadowmailStarter(work, otherDir, process.env.BENCH_VERSUS_NODE_ARGS ?? process.env.BENCH_NODE_ARGS),
    );
    relays.push(other);
    const targets = { thisTree: mine.target, other: other.target };
    for (const [name, target] of Object.entries(targets)) {
      await warmUp(target, `versus-${name}-warmup`);
    }
    const rounds: Versus['rounds'] = [];
    for (let round_ = 0; round_ < settings.versusRounds; round_++) {
      const order = round_ % 2 === 0 ? (['thisTree', 'other'] as const) : (['other', 'thisTree'] as const);
      log(`versus round ${round_ + 1} of ${settings.versusRounds}, ${order[0]} first`);
      const results: Partial<Record<'thisTree' | 'other', VersusRun>> = {};
      for (const name of order) {
        const steady = await runPhase(targets[name], {
          run: `versus-${name}-steady${round_}`,
          rate: settings.steadyRatePerSecond,
          count: Math.round(settings.steadyRatePerSecond * settings.steadySeconds),
          connections: 1,
          deliveryTimeoutMs: 30_000,
        });
        const burst = await burstPhase(name, targets[name], `versus-${name}-burst${round_}`);
        results[name] = { steady, burst };
      }
      rounds.push({ order: order.join(' then '), thisTree: results.thisTree!, other: results.other! });
    }
    const medianOf = (pick: (run: VersusRun) => number) => {
      const thisTree = round(median(rounds.map((r) => pick(r.thisTree))), 2);
      const otherValue = round(median(rounds.map((r) => pick(r.other))), 2);
      return { thisTree, other: otherValue, ratio: round(median(rounds.map((r) => pick(r.thisTree) / pick(r.other))), 3) };
    };
    return {
      how: `local mode of this checkout and of ${otherDir}, both up at once, each with its own primary Postfix; ${settings.versusRounds} rounds of a steady phase (${settings.steadyRatePerSecond} msg/s × ${settings.steadySeconds} s) and a burst (${settings.burstSeconds} s, ${settings.burstConnections} connections) of each, taken in turn, the first of each round alternating`,
      thisTree: { dir: projectRoot, commit: gitCommit(projectRoot) },
      other: { dir: otherDir, commit: gitCommit(otherDir) },
      rounds,
      median: {
        burstCpuMsPerMessage: medianOf((run) => run.burst.cpuMsPerMessage),
        steadyCpuMsPerMessage: medianOf((run) => run.steady.cpuMsPerMessage),
        burstDeliveredPerSecond: medianOf((run) => run.burst.deliveredPerSecond),
        steadyP99Ms: (({ thisTree, other: o }) => ({ thisTree, other: o }))(medianOf((run) => run.steady.deliveryLatencyMs.p99)),
      },
    };
  } finally {
    for (const relay of relays.reverse()) await relay.stop();
  }
}

/** The checkout's commit, with "+ changes" when tracked files differ from it. */
function gitCommit(dir: string): string | null {
  const git = (args: string[]) => command('git', ['-C', dir, ...args]);
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head === null) return null;
  return `${head}${git(['status', '--porcelain', '--untracked-files=no']) ? ' + changes' : ''}`;
}

let shadowmailStarts = 0;

/** Local mode (of this checkout or of `root`) relaying to the primary; each start has a data directory of its own. */
function shadowmailStarter(work: string, root = projectRoot, nodeArgs = process.env.BENCH_NODE_ARGS): RelayStarter {
  requirePostfix();
  return async (primaryPort) => {
    const dataDir = join(work, `shadowmail-data-${++shadowmailStarts}`);
    // The bench's Postfix takes 60 MiB: tell local mode, or its door refuses the 40 MiB
    // message above Exchange's default 36 MB (issue 17); SES's 40 MB still caps it.
    const local = await startLocal(
      dataDir,
      {
        SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${primaryPort}`,
        SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES: String(60 * MIB),
        SHADOWMAIL_RETRY_BASE_SECONDS: String(settings.retryBaseSeconds),
        SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: String(settings.retryMaxDelaySeconds),
      },
      60_000,
      // where local mode's CPU time goes: one .cpuprofile per thread, written when it stops
      [
        ...(settings.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(settings.cpuProfileDir)}`] : []),
        ...(nodeArgs?.split(' ').filter(Boolean) ?? []),
      ],
      root,
    );
    const pid = local.child.pid!;
    return {
      setup:
        'bin/local.ts as a child process (SMTP listener, file queues, the SQLite store on disk, ingest and forward handlers in one process), ' +
        'SHADOWMAIL_PRIMARY pointing at the primary Postfix',
      target: {
        name: 'shadowmail',
        smtpPort: local.runtime.smtpPort,
        pids: () => processTree(pid),
        cpuSeconds: () => treeCpuSeconds(pid),
        peakRssMiB: () => peakRssMiB(pid),
      },
      stop: () => local.kill(),
      complaints: async () =>
        local
          .output()
          .split('\n')
          .filter((line) => /\b(WARN|ERROR)\b|rror:/.test(line)),
    };
  };
}

function requirePostfix(): void {
  if (process.getuid?.() !== 0) throw new Error('Postfix needs root here (the postfix command refuses to run otherwise)');
  if (command('postconf', ['-d', '-h', 'mail_version']) === null) throw new Error('Postfix is not installed (apt-get install postfix)');
}

function postfixStarter(): RelayStarter {
  requirePostfix();
  return async (primaryPort) => {
    const postfix = await startPostfix({
      domain: 'corp.test',
      users: [],
      mainCf: {
        // a backup MX: accept corp.test from anyone, keep nothing, relay it all to the primary
        virtual_mailbox_domains: '',
        relay_domains: 'corp.test',
        relay_transport: `relay:[127.0.0.1]:${primaryPort}`,
        smtpd_relay_restrictions: 'reject_unauth_destination',
        smtpd_recipient_restrictions: 'reject_unauth_destination',
        smtp_tls_security_level: 'none',
        // the backlog phase: deferred mail is tried again after 1 s, then 2 s at most, as shadowmail's
        queue_run_delay: `${settings.retryBaseSeconds}s`,
        minimal_backoff_time: `${settings.retryBaseSeconds}s`,
        maximal_backoff_time: `${settings.retryMaxDelaySeconds}s`,
      },
    });
    const masterPid = Number((await readFile(join(postfix.dir, 'queue', 'pid', 'master.pid'), 'utf8')).trim());
    return {
      setup: `Postfix ${command('postconf', ['-d', '-h', 'mail_version'])} from test/support/postfix.ts: relay_domains=corp.test, relay_transport=relay:[127.0.0.1]:<primary>, defaults otherwise`,
      target: {
        name: 'postfix',
        smtpPort: postfix.port,
        pids: () => processTree(masterPid),
        cpuSeconds: () => treeCpuSeconds(masterPid),
      },
      stop: () => postfix.destroy(),
      complaints: async () =>
        (await postfix.log()).split('\n').filter((line) => /warning:|error:|fatal:|panic:|status=(deferred|bounced)/.test(line)),
    };
  };
}

/** bench/node-relay.ts relaying to the primary: the yardstick of node's SMTP libraries alone. */
function nodeRelayStarter(): RelayStarter {
  return async (primaryPort) => {
    const relay = await startNodeRelay(primaryPort);
    return {
      setup:
        "bench/node-relay.ts as a child process (smtp-server in, a pool of nodemailer connections out, nothing kept), with local mode's node settings",
      target: {
        name: 'node-relay',
        smtpPort: relay.port,
        pids: () => processTree(relay.pid),
        cpuSeconds: () => treeCpuSeconds(relay.pid),
        peakRssMiB: () => peakRssMiB(relay.pid),
      },
      stop: () => relay.stop(),
      complaints: async () => relay.output().split('\n').filter(Boolean),
    };
  };
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return round(a / b, 2);
}

// ------------------------------------------------------------------------------

const benchStart = performance.now();
const measuredAt = new Date().toISOString();
const machine = await machineFacts();
log(`node ${machine.node}, ${machine.cpuCount} CPUs (${machine.cpuModel}), load ${machine.loadAverage1mAtStart}`);
const work = await mkdtemp(join(tmpdir(), 'shadowmail-bench-'));
let results: Record<string, unknown>;
try {
  const memoryIngest = await section('ingest, in-memory index', only.has('ingest'), ingestWithMemoryIndex);
  const dynaliteIngest = await section('ingest, DynamoDB adapter on dynalite', only.has('ingest'), () => ingestWithDynalite(work));
  const sqliteIngest = await section('ingest, SQLite index (local mode)', only.has('ingest'), () => ingestWithSqlite(work));
  const rss = await section('peak RSS of 40 MiB messages', only.has('rss'), largeMessageRss);
  const webmail = await section('webmail server time', only.has('webmail'), () => measureWebmail(work, log));
  const lambdaBundles = await section('Lambda bundles', only.has('bundles'), () =>
    measureLambdaBundles(work, settings.bundleImportRuns, log),
  );

  const largeFile = join(work, 'large-attachment.eml');
  if (only.has('shadowmail') || only.has('postfix')) await writeLargeMessage(largeFile, 'attachment', settings.largeMessageBytes);
  const shadowmail = await section('relay, shadowmail local mode', only.has('shadowmail'), () =>
    relayRun('shadowmail', largeFile, shadowmailStarter(work)),
  );
  const postfix = await section('relay, Postfix alone', only.has('postfix'), () => relayRun('postfix', largeFile, postfixStarter()));
  const pairs = await section('relay, bursts in turn', only.has('shadowmail') && only.has('postfix'), async () => {
    if (settings.burstPairs < 1) throw new Error('BENCH_BURST_PAIRS=0');
    return burstPairs({
      shadowmail: shadowmailStarter(work),
      postfix: postfixStarter(),
      nodeRelay: only.has('noderelay') ? nodeRelayStarter() : null,
    });
  });
  const versus = settings.versus
    ? await section('local mode against another checkout, in turn', true, () => versusRounds(settings.versus!))
    : { skipped: 'BENCH_VERSUS not set' };

  const bothRan = !('skipped' in shadowmail) && !('skipped' in postfix);
  const ratios = bothRan
    ? {
        what: 'shadowmail / Postfix (latency and CPU: lower is better; throughput: higher is better)',
        steadyDeliveryLatencyP50: ratio(shadowmail.steady.deliveryLatencyMs.p50, postfix.steady.deliveryLatencyMs.p50),
        steadyDeliveryLatencyP99: ratio(shadowmail.steady.deliveryLatencyMs.p99, postfix.steady.deliveryLatencyMs.p99),
        maxDeliveredPerSecond: ratio(shadowmail.burst.deliveredPerSecond, postfix.burst.deliveredPerSecond),
        maxAcceptedPerSecond: ratio(shadowmail.burst.acceptedPerSecond, postfix.burst.acceptedPerSecond),
        steadyCpuPerMessage: ratio(shadowmail.steady.cpuMsPerMessage, postfix.steady.cpuMsPerMessage),
        burstCpuPerMessage: ratio(shadowmail.burst.cpuMsPerMessage, postfix.burst.cpuMsPerMessage),
        steadyPeakPss: ratio(shadowmail.steady.peakMemoryMiB.pss, postfix.steady.peakMemoryMiB.pss),
        largeMessageDeliveryLatency: ratio(shadowmail.largeMessage.deliveryLatencyMs.p50, postfix.largeMessage.deliveryLatencyMs.p50),
        backlogDrainPerSecond: ratio(shadowmail.backlog.drain?.perSecond, postfix.backlog.drain?.perSecond),
      }
    : { skipped: 'needs both relay runs' };
  const goals = bothRan
    ? { issue: 18, goals: issue18Goals(shadowmail, postfix, 'skipped' in pairs ? null : pairs) }
    : { skipped: 'needs both relay runs' };

  results = {
    measuredAt,
    machine: { ...machine, loadAverage1mAtEnd: round(loadavg()[0]!, 2) },
    settings,
    units: {
      '…PerSecond': 'per second (messagesPerSecond, deliveredPerSecond: messages; mibPerSecond: MiB)',
      '…Ms, …Ms.p50 etc.': 'milliseconds',
      '…MiB, peakMemoryMiB.rss/pss': 'MiB = 2^20 bytes',
      '…Seconds, seconds': 'seconds',
      '…Percent': 'percent of all CPUs of the machine',
      cpuMsPerMessage: "CPU milliseconds (user + system) of the target's processes per delivered message",
      rss: "resident set size, summed over the target's processes",
      pss: "proportional set size (shared pages split between processes), summed over the target's processes",
      ratios: 'plain numbers: shadowmail figure divided by the Postfix figure',
    },
    ingest: { memoryIndex: memoryIngest, dynaliteIndex: dynaliteIngest, sqliteIndex: sqliteIngest },
    largeMessageParse: rss,
    webmail,
    lambdaBundles,
    relay: {
      how:
        'nodemailer pooled plain SMTP from this process; steady phase on 1 connection, burst on 4; latency from the client seeing 250 ' +
        'to the message file appearing in the Maildir of the primary (inotify on new/, 50 ms rescan as fallback); the primary is ' +
        'a second Postfix (test/support/postfix.ts, virtual(8) into a Maildir), fresh for each target; messages rotate ' +
        "2 short text, 2 text+HTML, 1 with a 150 KiB attachment; all processes share this machine's CPUs",
      shadowmail,
      postfix,
      ratios,
      burstPairs: pairs,
      goals,
      versus,
    },
    durationSeconds: round((performance.now() - benchStart) / 1000, 1),
  };
} finally {
  await rm(work, { recursive: true, force: true });
}

await writeFile(outFile, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${summary(results)}\nwritten to ${outFile}\n`);

// ------------------------------------------------------------------------------
// the printed summary

function summary(r: Record<string, unknown>): string {
  const lines: string[] = [];
  const m = r.machine as Awaited<ReturnType<typeof machineFacts>> & { loadAverage1mAtEnd: number };
  lines.push(`shadowmail benchmark, ${r.measuredAt as string}`);
  lines.push(
    `  node ${m.node}, ${m.cpuCount} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, tmp on ${m.tmpFileSystem}, Postfix ${m.postfix ?? '—'}`,
  );
  lines.push(
    `  machine ${m.cpuBusyPercentBeforeStart} % busy before start, load average ${m.loadAverage1mAtStart} → ${m.loadAverage1mAtEnd}; took ${r.durationSeconds as number} s`,
  );
  if (m.cpuBusyPercentBeforeStart > 20) {
    lines.push('  NOTE: other work was running on this machine; the figures below are pessimistic and noisy');
  }

  const ingest = r.ingest as Record<string, Section<IngestThroughput>>;
  lines.push('', 'Ingest throughput over the corpus (one message at a time)');
  for (const [key, value] of Object.entries(ingest)) {
    if ('skipped' in value) {
      lines.push(`  ${key}: skipped (${value.skipped})`);
      continue;
    }
    lines.push(
      `  ${value.index}: ${value.messagesPerSecond} msg/s, ${value.mibPerSecond} MiB/s ` +
        `(${value.corpusMessages} messages, ${value.corpusMiB} MiB, median of ${value.measuredPasses} passes; ` +
        `per message p50 ${value.perMessageMs.p50} ms, p99 ${value.perMessageMs.p99} ms, max ${value.perMessageMs.max} ms)`,
    );
  }

  const rss = r.largeMessageParse as Section<Awaited<ReturnType<typeof largeMessageRss>>>;
  lines.push('', 'Peak RSS parsing a 40 MiB message (fresh process)');
  if ('skipped' in rss) lines.push(`  skipped (${rss.skipped})`);
  else {
    lines.push(`  baseline (4 KiB message): ${rss.baselinePeakRssMiB} MiB`);
    for (const kind of ['attachment', 'text'] as const) {
      lines.push(`  ${kind}: ${rss[kind].peakRssMiB} MiB peak RSS, ${rss[kind].seconds} s, ${rss[kind].mibPerSecond} MiB/s`);
    }
  }

  lines.push(...webmailSummary(r.webmail as Parameters<typeof webmailSummary>[0]));
  lines.push(...lambdaBundlesSummary(r.lambdaBundles as Parameters<typeof lambdaBundlesSummary>[0]));

  const relay = r.relay as Record<string, Section<RelayRun> | Record<string, unknown>>;
  lines.push(
    '',
    `Relay: SMTP 250 → in the primary's Maildir (${settings.steadyRatePerSecond} msg/s for ${settings.steadySeconds} s; burst ${settings.burstSeconds} s on ${settings.burstConnections} connections)`,
  );
  for (const name of ['shadowmail', 'postfix']) {
    const run = relay[name] as Section<RelayRun>;
    if ('skipped' in run) {
      lines.push(`  ${name}: skipped (${run.skipped})`);
      continue;
    }
    const s = run.steady;
    const b = run.burst;
    const l = run.largeMessage;
    lines.push(`  ${name}`);
    lines.push(
      `    steady: ${s.delivered}/${s.messages} delivered at ${s.acceptedPerSecond} msg/s; latency p50 ${s.deliveryLatencyMs.p50} ms, ` +
        `p95 ${s.deliveryLatencyMs.p95} ms, p99 ${s.deliveryLatencyMs.p99} ms, max ${s.deliveryLatencyMs.max} ms ` +
        `(SMTP accept p50 ${s.acceptLatencyMs.p50} ms, p99 ${s.acceptLatencyMs.p99} ms); ${s.cpuMsPerMessage} CPU ms/msg; ` +
        `peak ${s.peakMemoryMiB.rss} MiB RSS, ${s.peakMemoryMiB.pss} MiB PSS; machine ${s.machineCpuBusyPercent} % busy`,
    );
    lines.push(
      `    burst:  ${b.delivered}/${b.messages} delivered; accepted ${b.acceptedPerSecond} msg/s, delivered ${b.deliveredPerSecond} msg/s; ` +
        `latency p50 ${b.deliveryLatencyMs.p50} ms, p99 ${b.deliveryLatencyMs.p99} ms; ${b.cpuMsPerMessage} CPU ms/msg; ` +
        `peak ${b.peakMemoryMiB.rss} MiB RSS, ${b.peakMemoryMiB.pss} MiB PSS; machine ${b.machineCpuBusyPercent} % busy`,
    );
    lines.push(
      `    40 MiB: ${l.delivered}/${l.messages} delivered${l.firstError ? ` (${l.firstError})` : ''}; accept ${l.acceptLatencyMs.p50} ms, ` +
        `250 → delivered ${l.deliveryLatencyMs.p50} ms; peak ${l.peakMemoryMiB.rss} MiB RSS, ${l.peakMemoryMiB.pss} MiB PSS` +
        (run.peakRssMiB !== null
          ? `; process VmHWM ${run.peakRssBeforeLargeMessageMiB} MiB before it, ${run.peakRssMiB} MiB at the end`
          : ''),
    );
    const k = run.backlog;
    lines.push(
      `    backlog: ${k.delivered}/${k.messages} delivered; ${k.accepted} accepted at ${k.acceptedPerSecond} msg/s while the primary was down; ` +
        `drain ${k.drain?.perSecond ?? '—'} msg/s from the primary's return (${k.drain?.firstToLastPerSecond ?? '—'} msg/s first to last delivery); ` +
        `${k.cpuMsPerMessage} CPU ms/msg; peak ${k.peakMemoryMiB.rss} MiB RSS`,
    );
    if (run.warningsLogged > 0) lines.push(`    ${run.warningsLogged} warning/error lines logged, first: ${run.firstWarnings[0]}`);
    const phases = [s, b, l, k];
    const missing = phases.reduce((sum, phase) => sum + phase.missing, 0);
    const refused = phases.reduce((sum, phase) => sum + phase.failed, 0);
    if (missing + refused > 0) {
      lines.push(`    not delivered: ${missing}, refused: ${refused} (${phases.find((phase) => phase.firstError)?.firstError ?? ''})`);
    }
  }
  const ratios = relay.ratios as Record<string, unknown>;
  if (!('skipped' in ratios)) {
    lines.push(
      `  ratio shadowmail/Postfix: latency p50 ×${ratios.steadyDeliveryLatencyP50 as number}, p99 ×${ratios.steadyDeliveryLatencyP99 as number}; ` +
        `max delivered throughput ×${ratios.maxDeliveredPerSecond as number}; CPU per message steady ×${ratios.steadyCpuPerMessage as number}, ` +
        `burst ×${ratios.burstCpuPerMessage as number}; ` +
        `peak PSS ×${ratios.steadyPeakPss as number}; backlog drain ×${ratios.backlogDrainPerSecond as number}`,
    );
  }
  const pairs = relay.burstPairs as Section<BurstPairs> | undefined;
  if (pairs && !('skipped' in pairs)) {
    lines.push(`  in turn (both relays up, ${pairs.pairs.length} pairs; a steady phase and a burst of each):`);
    for (const pair of pairs.pairs) {
      const steady = pair.steady;
      lines.push(
        `    ${pair.order}, steady: shadowmail ${steady.shadowmail.cpuMsPerMessage} CPU ms/msg, p99 ${steady.shadowmail.deliveryLatencyMs.p99} ms; ` +
          `Postfix ${steady.postfix.cpuMsPerMessage}, p99 ${steady.postfix.deliveryLatencyMs.p99} ms; ` +
          `CPU ×${ratio(steady.shadowmail.cpuMsPerMessage, steady.postfix.cpuMsPerMessage) ?? '—'}`,
      );
      lines.push(
        `    ${pair.order}: shadowmail ${pair.shadowmail.deliveredPerSecond} msg/s at ${pair.shadowmail.cpuMsPerMessage} CPU ms/msg, ` +
          `Postfix ${pair.postfix.deliveredPerSecond} msg/s at ${pair.postfix.cpuMsPerMessage}; ratio ${pair.ratio ?? '—'}, ` +
          `CPU ×${ratio(pair.shadowmail.cpuMsPerMessage, pair.postfix.cpuMsPerMessage) ?? '—'}`,
      );
      if (pair.nodeRelay) {
        lines.push(
          `    then node relay: steady ${pair.nodeRelay.steady.cpuMsPerMessage} CPU ms/msg; burst ${pair.nodeRelay.burst.deliveredPerSecond} msg/s at ${pair.nodeRelay.burst.cpuMsPerMessage}`,
        );
      }
    }
    lines.push(
      `    bursts: median ratio ×${pairs.medianRatio ?? '—'}; median CPU ms/msg shadowmail ${pairs.medianCpuMsPerMessage.shadowmail}, Postfix ${pairs.medianCpuMsPerMessage.postfix}; ` +
        `steady: median CPU ms/msg shadowmail ${pairs.medianSteadyCpuMsPerMessage.shadowmail}, Postfix ${pairs.medianSteadyCpuMsPerMessage.postfix}`,
    );
    const floor = pairs.nodeRelay;
    if (floor) {
      lines.push(
        `    node relay (the libraries alone): median CPU ms/msg steady ${floor.cpuMsPerMessage.steady} (×${floor.ratioToPostfix.steady ?? '—'} Postfix), ` +
          `burst ${floor.cpuMsPerMessage.burst} (×${floor.ratioToPostfix.burst ?? '—'}); shadowmail above it: steady ${floor.shadowmailAboveCpuMsPerMessage.steady}, burst ${floor.shadowmailAboveCpuMsPerMessage.burst}`,
      );
    }
  }
  const goals = relay.goals as Section<{ issue: number; goals: Goal[] }> | undefined;
  if (goals && !('skipped' in goals)) {
    lines.push(`  issue ${goals.issue}'s goals:`);
    for (const goal of goals.goals) {
      lines.push(
        `    ${goal.met ? 'met    ' : 'NOT MET'} ${goal.goal}: ${goal.figure ?? '—'} (${goal.direction} ${goal.limit}; ${goal.basis}; ${goal.detail})`,
      );
    }
  }
  const versus = relay.versus as Section<Versus> | undefined;
  if (versus && !('skipped' in versus)) {
    lines.push(
      `  this tree (${versus.thisTree.commit ?? '?'}) against ${versus.other.dir} (${versus.other.commit ?? '?'}), ${versus.rounds.length} rounds in turn:`,
    );
    for (const r of versus.rounds) {
      const run = (x: VersusRun) =>
        `steady ${x.steady.cpuMsPerMessage} CPU ms/msg p99 ${x.steady.deliveryLatencyMs.p99} ms, burst ${x.burst.deliveredPerSecond} msg/s at ${x.burst.cpuMsPerMessage}`;
      lines.push(`    ${r.order}: this ${run(r.thisTree)} | other ${run(r.other)}`);
    }
    const m = versus.median;
    lines.push(
      `    medians: burst CPU ms/msg ${m.burstCpuMsPerMessage.thisTree} against ${m.burstCpuMsPerMessage.other} (×${m.burstCpuMsPerMessage.ratio}), ` +
        `steady ${m.steadyCpuMsPerMessage.thisTree} against ${m.steadyCpuMsPerMessage.other} (×${m.steadyCpuMsPerMessage.ratio}), ` +
        `burst msg/s ${m.burstDeliveredPerSecond.thisTree} against ${m.burstDeliveredPerSecond.other} (×${m.burstDeliveredPerSecond.ratio}), ` +
        `steady p99 ${m.steadyP99Ms.thisTree} against ${m.steadyP99Ms.other} ms`,
    );
  }
  return lines.join('\n');
}
