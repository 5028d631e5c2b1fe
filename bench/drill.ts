// `npm run drill`: the continuity drill. Replays, on one machine, the day the primary
// (Exchange, here a real Postfix) fails — normal flow, the primary stopped, hanging and
// answering 4xx, AD FS down too, `failover on` and two users signing in by SMS code in Chromium, the backlog draining — with
// shadowmail SIGKILLed at seeded moments; fails on any lost message (bench/README.md).
//   npm run drill [-- --quick] [-- --seed N] [-- --keep]   → bench/drill.json
// Needs root, Debian's postfix and chromium. Not a test: run it on purpose.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { demoUsers } from '../lambdas/adapters/local/demo-directory.ts';
import { localPaths } from '../lambdas/wiring/local-data-dir.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { CORPUS_ROOT, readCorpusManifest } from '../test/support/corpus.ts';
import { localEnv, PROJECT_ROOT, runCli } from '../test/support/local-process.ts';
import { type PostfixInstance, startPostfix } from '../test/support/postfix.ts';
import { freePort } from '../test/support/wait.ts';
import { type AcceptedMessage, accountDeliveries, type DeliveryAccounting } from './drill/accounting.ts';
import { type CorpusPick, MessageFactory, RetryingSender, type SendRecord, sleep } from './drill/mail-stream.ts';
import { MaildirScanner, type ScannedCopy } from './drill/maildir-scan.ts';
import { SeededRandom } from './drill/seeded-random.ts';
import { ShadowmailSupervisor } from './drill/shadowmail-process.ts';
import { type ProxyMode, type SwitchingProxy, startSwitchingProxy } from './drill/switching-proxy.ts';
import { WebmailUser } from './drill/webmail-user.ts';
import { busyPercent, machineCpuTimes } from './procfs.ts';
import { distribution, round } from './stats.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DRILL_USAGE = `usage: npm run drill [-- --quick] [-- --seed N] [-- --keep] [-- --out FILE]
  Replays the day Exchange fails on this machine (bench/README.md); writes FILE (default bench/drill.json).
  Needs root, Debian's postfix and chromium.`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/drill.json' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (args.help) {
  console.log(DRILL_USAGE);
  process.exit(0);
}
const seed = args.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(args.seed);
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`drill: --seed must be a whole number ≥ 0, not ${JSON.stringify(args.seed)}`);
  process.exit(2);
}

const DOMAIN = 'corp.test';
const MAILBOXES = ['alice', 'bob', 'admin', ...Array.from({ length: 16 }, (_, i) => `user${String(i + 1).padStart(2, '0')}`)];
const ALIASES: Record<string, string> = { info: 'alice' };
const FORWARD_TO = `user07@${DOMAIN}`;
/** The demo directory's made-up mobile number of a demo user: where their sign-in code goes. */
const demoMobile = (user: string): string => {
  const mobile = demoUsers(DOMAIN).find((demo) => demo.email === `${user}@${DOMAIN}`)?.mobile;
  if (!mobile) throw new Error(`the demo directory has no mobile number for ${user}`);
  return mobile;
};

const settings = args.quick
  ? {
      mode: 'quick' as const,
      ratePerSecond: 5,
      phaseSeconds: { normal: 15, stopped: 14, hang: 14, tempfail: 12, recovery: 25 },
      killEverySeconds: [8, 15] as const,
      retryBaseSeconds: 1,
      retryMaxDelaySeconds: 8,
      failoverOnAfterSeconds: 2,
      webmailDeadlineSeconds: 150,
      deliveryDeadlineSeconds: 120,
    }
  : {
      mode: 'full' as const,
      ratePerSecond: 6,
      phaseSeconds: { normal: 75, stopped: 45, hang: 50, tempfail: 45, recovery: 90 },
      killEverySeconds: [20, 40] as const,
      retryBaseSeconds: 2,
      retryMaxDelaySeconds: 16,
      failoverOnAfterSeconds: 5,
      webmailDeadlineSeconds: 200,
      deliveryDeadlineSeconds: 240,
    };
const common = {
  corpusShare: 0.25,
  /** Corpus messages above this size are left out, to keep a 2-core machine's rate steady. */
  corpusMaxBytes: 1_500_000,
  senderMaxInFlight: 40,
  senderRetryBaseMs: 500,
  senderRetryMaxMs: 5_000,
  /** The webmail's flag cache (the default): users see `failover on` within this time. */
  failoverCacheSeconds: 30,
  settleSeconds: 5,
};

const rng = new SeededRandom(seed);
const runId = `d${seed.toString(36)}${Date.now().toString(36).slice(-4)}`;
const startedAtMs = Date.now();
const clock = (): number => round((Date.now() - startedAtMs) / 1000, 2);
let phase = 'setup';
/** Errors no part of the drill handled: they fail the drill, but its cleanup and report still run. */
const unhandled: string[] = [];
process.on('unhandledRejection', (error) => {
  unhandled.push(String((error as Error)?.stack ?? error).slice(0, 500));
  log(`unhandled error: ${String(error)}`);
});
const phases: { name: string; startSeconds: number; endSeconds: number | null; primary: string }[] = [];

function log(line: string): void {
  process.stderr.write(`[drill ${clock().toFixed(1).padStart(6)} s ${phase.padEnd(15)}] ${line}\n`);
}

function enterPhase(name: string, primary: string): void {
  const now = clock();
  const last = phases.at(-1);
  if (last) last.endSeconds = now;
  phases.push({ name, startSeconds: now, endSeconds: null, primary });
  phase = name;
  log(`— phase ${name}: ${primary}`);
}

function command(file: string, argv: string[]): string | null {
  try {
    return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Sleeps up to `ms`, waking early when `stop()` turns true. */
async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !stop()) await sleep(Math.min(250, until - Date.now()));
}

function corpusPicks(): { picks: CorpusPick[]; note: string } {
  if (!existsSync(join(CORPUS_ROOT, 'MANIFEST.tsv'))) return { picks: [], note: `no corpus at ${CORPUS_ROOT}: generated mail only` };
  const rows = readCorpusManifest(['message', 'xss-message']);
  const picks = rows.filter((row) => row.bytes <= common.corpusMaxBytes).map((row) => ({ path: row.path, bytes: row.bytes }));
  return {
    picks,
    note: `${picks.length} of ${rows.length} corpus messages (kinds message, xss-message; ≤ ${common.corpusMaxBytes} bytes), read in place from ${CORPUS_ROOT}`,
  };
}

// ---------------------------------------------------------------------------------------

if (process.getuid?.() !== 0) {
  console.error('drill: needs root (the postfix command refuses to run otherwise)');
  process.exit(2);
}
if (command('postconf', ['-d', '-h', 'mail_version']) === null) {
  console.error('drill: Postfix is not installed (apt-get install postfix)');
  process.exit(2);
}

const cpuBefore = machineCpuTimes();
const loadAtStart = loadavg()[0]!;
const work = await mkdtemp(join(tmpdir(), 'shadowmail-drill-'));
// Postfix's daemons (user postfix) read the alias map from here
await chmod(work, 0o755);
const dataDir = join(work, 'shadowmail-data');
log(`seed ${seed}, run ${runId}, ${settings.mode} mode, work directory ${work}`);

let postfix: PostfixInstance | undefined;
let proxy: SwitchingProxy | undefined;
let supervisor: ShadowmailSupervisor | undefined;
let browser: Browser | undefined;
let exitCode = 1;

try {
  // ---- the primary: Postfix delivering into Maildirs, info@ an alias of alice, behind the proxy
  const aliasMap = join(work, 'virtual_aliases');
  await writeFile(
    aliasMap,
    Object.entries(ALIASES)
      .map(([alias, target]) => `${alias}@${DOMAIN} ${target}@${DOMAIN}\n`)
      .join(''),
  );
  const past = new Date(Date.now() - 60_000); // Postfix waits before reading a file changed in the last second
  await utimes(aliasMap, past, past);
  postfix = await startPostfix({ domain: DOMAIN, users: MAILBOXES, mainCf: { virtual_alias_maps: `texthash:${aliasMap}` } });
  proxy = await startSwitchingProxy({ upstream: { host: postfix.host, port: postfix.port } });
  const primary = postfix;
  const gate = proxy;
  log(`primary: Postfix on ${postfix.port}, reached through the switching proxy on ${proxy.port}`);

  // ---- shadowmail on fixed ports (they must survive restarts)
  const smtpPort = await freePort();
  const env: Record<string, string> = {
    SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${proxy.port}`,
    SHADOWMAIL_SMTP_PORT: String(smtpPort),
    // The webmail sends as SES does in AWS: to the recipients' MX, which for the company's
    // own domain is shadowmail itself — so replies to colleagues are accepted during the
    // outage, show in their webmail inbox and reach Exchange with the backlog.
    SHADOWMAIL_OUTBOUND: `smtp://127.0.0.1:${smtpPort}`,
    SHADOWMAIL_HTTP_PORT: String(await freePort()),
    SHADOWMAIL_OIDC_PORT: String(await freePort()),
    SHADOWMAIL_DOMAINS: DOMAIN,
    // The drill's mailboxes (user01…) are Postfix's, not the demo directory's: without a
    // catch-all, local mode's door would refuse them at RCPT TO (issue 17).
    SHADOWMAIL_CATCH_ALL_DOMAINS: DOMAIN,
    SHADOWMAIL_RETRY_BASE_SECONDS: String(settings.retryBaseSeconds),
    SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: String(settings.retryMaxDelaySeconds),
    SHADOWMAIL_FAILOVER_CACHE_SECONDS: String(common.failoverCacheSeconds),
  };
  const sup = new ShadowmailSupervisor(dataDir, env, work, { seconds: clock, phase: () => phase, log, proxy });
  supervisor = sup;
  // whatever ends the drill, no shadowmail is left running (Postfix stops itself the same way)
  process.once('exit', () => sup.killNow());
  await sup.start();
  const base = `http://127.0.0.1:${env.SHADOWMAIL_HTTP_PORT}`;
  log(
    `shadowmail up (pid ${sup.process.child.pid}) in ${sup.lives[0]!.startupSeconds} s: SMTP ${env.SHADOWMAIL_SMTP_PORT}, webmail ${base}`,
  );
  const cliEnv = localEnv(dataDir);
  browser = await launchChromium();
  const chromium = browser;

  // ---- the mail
  const corpus = corpusPicks();
  log(corpus.note);
  const factory = new MessageFactory(
    rng.fork('messages'),
    runId,
    { domain: DOMAIN, mailboxes: MAILBOXES, aliases: ALIASES, colleagues: MAILBOXES.filter((local) => local.startsWith('user')) },
    corpus.picks,
    CORPUS_ROOT,
    corpus.picks.length > 0 ? common.corpusShare : 0,
  );
  const sender = new RetryingSender({
    host: '127.0.0.1',
    port: Number(env.SHADOWMAIL_SMTP_PORT),
    rng: rng.fork('sender'),
    maxInFlight: common.senderMaxInFlight,
    retryBaseMs: common.senderRetryBaseMs,
    retryMaxMs: common.senderRetryMaxMs,
  });
  const maildirs = new Map(MAILBOXES.map((user) => [user, primary.maildir(user)]));
  const scanner = new MaildirScanner(maildirs);

  // delivery progress: drill id → recipient → first delivery time
  const firstDelivery = new Map<string, Map<string, number>>();
  const owed = (record: SendRecord): string[] => {
    const refused = new Set(record.refusedRecipients.map((r) => r.toLowerCase()));
    return [...new Set(record.message.recipients.map((r) => r.toLowerCase()))].filter((r) => !refused.has(r));
  };
  /** When every owed recipient of an accepted message had a copy, or null. */
  const completedAt = (record: SendRecord): number | null => {
    const got = firstDelivery.get(record.message.drillId);
    if (!got) return null;
    let latest = 0;
    for (const recipient of owed(record)) {
      const at = got.get(recipient);
      if (at === undefined) return null;
      latest = Math.max(latest, at);
    }
    return latest;
  };
  const noteCopies = (copies: ScannedCopy[]) => {
    for (const copy of copies) {
      const perRecipient = firstDelivery.get(copy.drillId) ?? new Map<string, number>();
      firstDelivery.set(copy.drillId, perRecipient);
      const earlier = perRecipient.get(copy.recipient);
      if (earlier === undefined || copy.deliveredAtMs < earlier) perRecipient.set(copy.recipient, copy.deliveredAtMs);
    }
  };
  const acceptedRecords = () => sender.records.filter((record) => record.acceptedAtMs !== null);
  const undelivered = () => acceptedRecords().filter((record) => completedAt(record) === null);

  // ---- the backlog and the kill while it drains
  let primaryBackAtMs: number | null = null;
  let backlog: SendRecord[] = [];
  let backlogRecipients = 0;
  let peakUndelivered = 0;
  let drainKill: Promise<unknown> | null = null;
  const drainKillFraction = rng.fork('drain').between(0.15, 0.45);
  let monitoring = true;
  const monitor = (async () => {
    while (monitoring) {
      try {
        noteCopies(await scanner.scan());
      } catch (error) {
        log(`Maildir scan failed (tried again): ${String(error)}`);
      }
      peakUndelivered = Math.max(peakUndelivered, undelivered().length);
      if (primaryBackAtMs !== null && drainKill === null && backlog.length > 0) {
        const done = backlog.filter((record) => completedAt(record) !== null).length;
        if (done >= drainKillFraction * backlog.length && done < backlog.length) {
          log(`backlog ${done}/${backlog.length} delivered: kill while it drains`);
          drainKill = sup.killAndRestart('while the backlog drains').catch((error: unknown) => log(`drain kill failed: ${String(error)}`));
        }
      }
      await sleep(400);
    }
  })();

  // ---- the stream and the kills, running through every phase
  let streaming = true;
  const streamRng = rng.fork('stream');
  const stream = (async () => {
    const interval = 1000 / settings.ratePerSecond;
    let next = Date.now();
    while (streaming) {
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      if (!streaming) break;
      await sender.submit(factory.next(phase));
      next += interval * streamRng.between(0.5, 1.5);
      // after back-pressure a sender catches up, but not with more than 5 s of mail at once
      next = Math.max(next, Date.now() - 5_000);
    }
  })();
  let chaosOn = true;
  const chaosRng = rng.fork('kills');
  const chaos = (async () => {
    while (chaosOn) {
      const [min, max] = settings.killEverySeconds;
      await sleepUnless(chaosRng.between(min, max) * 1000, () => !chaosOn);
      if (!chaosOn) break;
      await sup.killAndRestart('random').catch((error: unknown) => log(`kill failed: ${String(error)}`));
    }
  })();

  const setPrimary = (mode: ProxyMode) => gate.setMode(mode);
  const { phaseSeconds } = settings;

  // 1. normal flow
  enterPhase('normal', 'Postfix up, proxy passes through');
  await sleep(phaseSeconds.normal * 1000);

  // 2a. Postfix stopped; the admin declares the outage
  const postfixStoppedAtMs = Date.now();
  await primary.stop();
  // The site is down, and AD FS with it: staff sign in by SMS code (break-glass).
  const idpDown = await runCli(['idp', 'down'], cliEnv);
  if (idpDown.code !== 0) throw new Error(`idp down exited ${idpDown.code}: ${idpDown.stderr}`);
  enterPhase('outage-stopped', 'Postfix stopped (connections reset), AD FS down');
  const outageStartedAtMs = Date.now();

  // 3. users in the webmail: they look as soon as Outlook fails (the status page says
  //    "normal operation", and the flag cache keeps that for up to its cache time)
  let failoverOnAtMs: number | null = null;
  const webmailDeadline = outageStartedAtMs + settings.webmailDeadlineSeconds * 1000;
  const users = (['alice', 'bob'] as const).map(
    (user) =>
      new WebmailUser({
        browser: chromium,
        base,
        user,
        domain: DOMAIN,
        smsCode: { outbox: localPaths(dataDir).smsOutbox, mobile: demoMobile(user) },
        outageMarker: `${runId} outage-`,
        failoverOnAtMs: () => failoverOnAtMs,
        clock,
        phase: () => phase,
        log,
      }),
  );
  const webmail = Promise.all(
    users.map(async (user) => {
      if (!(await user.signInAndRead(webmailDeadline))) return;
      await user.reply(webmailDeadline);
      await user.forward(FORWARD_TO, webmailDeadline);
    }),
  );

  // the admin declares the outage
  await sleep(settings.failoverOnAfterSeconds * 1000);
  failoverOnAtMs = Date.now();
  const failoverOn = await runCli(
    ['failover', 'on', '--message', 'Exchange is down. Use this webmail until further notice.', '--reason', `continuity drill ${runId}`],
    cliEnv,
  );
  const failoverCliSeconds = round((Date.now() - failoverOnAtMs) / 1000, 2);
  if (failoverOn.code !== 0) throw new Error(`failover on exited ${failoverOn.code}: ${failoverOn.stderr}`);
  log(`failover on (CLI took ${failoverCliSeconds} s)`);

  await sleep(Math.max(0, phaseSeconds.stopped * 1000 - (Date.now() - outageStartedAtMs)));

  // 2b. connections accepted, never answered (Postfix runs again behind the proxy)
  setPrimary({ kind: 'hang' });
  enterPhase('outage-hang', 'proxy accepts connections and never answers');
  await primary.start();
  await sleep(phaseSeconds.hang * 1000);

  // 2c. 4xx: first 421 at the greeting, then 451 to every recipient
  setPrimary({ kind: 'tempfail', at: 'greeting' });
  enterPhase('outage-4xx', 'proxy answers 421 at the greeting, later 451 to each RCPT');
  await sleep((phaseSeconds.tempfail * 1000) / 2);
  setPrimary({ kind: 'tempfail', at: 'rcpt' });
  log('proxy now answers 451 to each RCPT');
  await sleep((phaseSeconds.tempfail * 1000) / 2);

  // 4. the primary is back; the backlog drains
  setPrimary({ kind: 'pass' });
  primaryBackAtMs = Date.now();
  enterPhase('recovery', 'Postfix up, proxy passes through');
  noteCopies(await scanner.scan());
  backlog = undelivered();
  backlogRecipients = backlog.reduce(
    (sum, record) => sum + owed(record).filter((r) => !firstDelivery.get(record.message.drillId)?.has(r)).length,
    0,
  );
  log(`backlog: ${backlog.length} messages (${backlogRecipients} recipient deliveries) owed to the primary`);
  const recoveryEndsAt = primaryBackAtMs + phaseSeconds.recovery * 1000;

  // users finish; what the outage made them send in vain they send again now; then failover off
  await webmail;
  await Promise.all(
    users.map(async (user) => {
      const retryDeadline = Date.now() + 60_000;
      const last = (kind: 'reply' | 'forward') => user.report.sends.filter((send) => send.kind === kind).at(-1)?.outcome;
      if (!user.report.bodyShown) return;
      if (last('reply') !== 'sent' && last('reply') !== 'error') await user.reply(retryDeadline);
      if (last('forward') !== 'sent' && last('forward') !== 'error') await user.forward(FORWARD_TO, retryDeadline);
    }),
  );
  const idpUp = await runCli(['idp', 'up'], cliEnv);
  if (idpUp.code !== 0) throw new Error(`idp up exited ${idpUp.code}: ${idpUp.stderr}`);
  const failoverOff = await runCli(['failover', 'off', '--reason', `continuity drill ${runId}: primary back`], cliEnv);
  if (failoverOff.code !== 0) throw new Error(`failover off exited ${failoverOff.code}: ${failoverOff.stderr}`);
  const failoverOffAtSeconds = clock();
  log('failover off');
  await sleep(Math.max(0, recoveryEndsAt - Date.now()));

  // end of the stream: every message must still be accepted, then delivered
  streaming = false;
  await stream;
  enterPhase('final-delivery', 'stream stopped; waiting for the last deliveries');
  const neverAccepted = await sender.finish(60_000);
  const deliveryDeadline = Date.now() + settings.deliveryDeadlineSeconds * 1000;
  while (undelivered().length > 0 && Date.now() < deliveryDeadline) {
    // kills go on until the backlog has drained and the kill while draining happened
    if (backlog.every((record) => completedAt(record) !== null) && drainKill !== null) chaosOn = false;
    await sleep(500);
  }
  chaosOn = false;
  await chaos;
  await drainKill;
  // a relay re-sent after a kill arrives right after the restart; give it time to land
  await sleep(common.settleSeconds * 1000);
  monitoring = false;
  await monitor;
  noteCopies(await scanner.scan());
  const undeliveredAtEnd = undelivered();

  // trace what shadowmail knows of any loss, while it still runs
  const lostTraces: Record<string, unknown> = {};
  for (const record of undeliveredAtEnd.slice(0, 10)) {
    const messageId = record.message.messageId;
    if (!messageId) continue;
    const traced = await runCli(['trace', '--message-id', messageId, '--json'], cliEnv);
    lostTraces[record.message.drillId] = traced.code === 0 ? JSON.parse(traced.stdout || 'null') : traced.stderr.trim();
  }
  const postfixQueueAtEnd = await primary.queueSize();
  await sup.stop();
  const endSeconds = clock();
  phases.at(-1)!.endSeconds = endSeconds;

  // ---- the verdict
  const accepted: AcceptedMessage[] = acceptedRecords().map((record) => ({
    drillId: record.message.drillId,
    messageId: record.message.messageId ?? `(corpus ${record.message.source}, no Message-ID)`,
    recipients: owed(record),
    queueIds: record.queueIds,
    ambiguousTries: record.ambiguousTries,
  }));
  const interruptions = [postfixStoppedAtMs, ...sup.kills.map((kill) => kill.atMs)];
  const accounting = accountDeliveries(accepted, scanner.copies, { atMs: interruptions, slackMs: 10_000 });

  const kills = sup.kills;
  const drainEndMs =
    backlog.length > 0 && backlog.every((record) => completedAt(record) !== null)
      ? Math.max(...backlog.map((record) => completedAt(record)!))
      : null;
  const drainFirstMs = backlog.length > 0 ? Math.min(...backlog.map((record) => completedAt(record) ?? Infinity)) : null;
  const backSeconds = round((primaryBackAtMs - startedAtMs) / 1000, 2);
  const drainEndSeconds = drainEndMs === null ? null : round((drainEndMs - startedAtMs) / 1000, 2);
  const killsWhileDraining = kills.filter(
    (kill) => kill.atSeconds >= backSeconds && (drainEndSeconds === null || kill.atSeconds <= drainEndSeconds),
  );
  const relaysInFlightAtKills = kills.reduce((sum, kill) => sum + kill.relayConnectionsOpen + kill.relayConnectionsClosedLastSecond, 0);

  const rtoPerUser = users.map((user) => user.report.inboxWithOutageMailAfter).filter((value): value is number => value !== null);
  const rtoSeconds = rtoPerUser.length > 0 ? Math.min(...rtoPerUser) : null;
  const offeredAfter = users.map((user) => user.report.signInOfferedAfter).filter((value): value is number => value !== null);
  const failoverOnAt = failoverOnAtMs as number;
  // a restart empties the flag cache: a kill between `failover on` and sign-in shortens the RTO
  const killsBeforeSignIn =
    offeredAfter.length === 0
      ? []
      : kills.filter((kill) => kill.atMs >= failoverOnAt && kill.atMs <= failoverOnAt + Math.min(...offeredAfter) * 1000);

  const failures: string[] = [];
  if (accounting.lost.length > 0) {
    failures.push(
      `LOST: ${accounting.lost.length} accepted messages missing at the primary: ${accounting.lost
        .slice(0, 50)
        .map((lost) => `${lost.drillId} <${lost.messageId}> for ${lost.recipients.join(', ')}`)
        .join('; ')}`,
    );
  }
  if (accounting.unexplained.length > 0)
    failures.push(`unexplained copies at the primary: ${JSON.stringify(accounting.unexplained.slice(0, 10))}`);
  if (accounting.unexplainedRelayDuplicates.length > 0) {
    failures.push(
      `relayed twice without a kill or primary stop between the copies: ${JSON.stringify(accounting.unexplainedRelayDuplicates.slice(0, 10))}`,
    );
  }
  if (neverAccepted.length > 0)
    failures.push(
      `${neverAccepted.length} messages never accepted by shadowmail: ${neverAccepted
        .slice(0, 20)
        .map((r) => `${r.message.drillId} (${r.lastError})`)
        .join('; ')}`,
    );
  const permanentlyRefused = sender.records.filter((record) => record.permanentRefusal !== null);
  if (permanentlyRefused.length > 0)
    failures.push(
      `${permanentlyRefused.length} messages refused with 5xx: ${permanentlyRefused
        .slice(0, 10)
        .map((r) => `${r.message.drillId} ${r.message.source}: ${r.permanentRefusal}`)
        .join('; ')}`,
    );
  if (rtoSeconds === null) failures.push('no user saw mail received during the outage in the webmail');
  for (const user of users) {
    for (const kind of ['reply', 'forward'] as const) {
      if (!user.report.sends.some((send) => send.kind === kind && send.outcome === 'sent'))
        failures.push(
          `${user.report.user}'s ${kind} was never sent: ${JSON.stringify(user.report.sends.filter((send) => send.kind === kind))}`,
        );
    }
  }
  if (killsWhileDraining.length === 0) failures.push('no kill happened while the backlog drained');
  if (unhandled.length > 0)
    failures.push(`the drill itself hit ${unhandled.length} unhandled errors: ${unhandled.slice(0, 3).join(' | ')}`);
  if (sup.unexpectedExits > 0) failures.push(`shadowmail exited by itself ${sup.unexpectedExits} times`);

  const complaints = await lifeComplaints(work);
  const cpuBusy = busyPercent(cpuBefore, machineCpuTimes());
  const phaseCounts = phases.map((p) => {
    const from = startedAtMs + p.startSeconds * 1000;
    const to = startedAtMs + (p.endSeconds ?? endSeconds) * 1000;
    return {
      ...p,
      seconds: round((p.endSeconds ?? endSeconds) - p.startSeconds, 2),
      messagesCreated: sender.records.filter((record) => record.message.phase === p.name).length,
      messagesAccepted: sender.records.filter(
        (record) => record.acceptedAtMs !== null && record.acceptedAtMs >= from && record.acceptedAtMs < to,
      ).length,
      kills: kills.filter((kill) => kill.phase === p.name).length,
    };
  });
  const records = sender.records;
  const webmailMailAtPrimary = {
    replies: scanner.others.filter((other) => /^Re: Drill /i.test(other.subject ?? '')).length,
    forwards: scanner.others.filter((other) => other.mailbox === FORWARD_TO.split('@')[0] && /^Fwd: Drill /i.test(other.subject ?? ''))
      .length,
  };

  const result = {
    what: 'continuity drill: shadowmail local mode through a primary outage with SIGKILLs; see bench/drill.ts',
    measuredAt: new Date(startedAtMs).toISOString(),
    mode: settings.mode,
    seed,
    runId,
    verdict: { ok: failures.length === 0, failures },
    messages: {
      submitted: records.length,
      accepted: accounting.messagesAccepted,
      acceptedAtFirstTry: records.filter((record) => record.acceptedAtMs !== null && record.tries === 1).length,
      fromCorpus: records.filter((record) => record.message.source !== 'generated').length,
      generated: records.filter((record) => record.message.source === 'generated').length,
      toAlias: records.filter((record) => record.message.recipients.some((r) => r.startsWith('info@'))).length,
      withBcc: records.filter((record) => record.message.bcc.length > 0).length,
      recipients: accounting.recipientsExpected,
      meanRecipientsPerMessage: round(accounting.recipientsExpected / Math.max(1, accounting.messagesAccepted), 2),
      delivered: accounting.recipientsDelivered,
      messagesFullyDelivered: accounting.messagesDelivered,
      lost: accounting.lost.length,
      lostMessages: accounting.lost,
      lostTraces,
      neverAccepted: neverAccepted.map((record) => ({ drillId: record.message.drillId, lastError: record.lastError })),
      permanentlyRefused: permanentlyRefused.map((record) => ({
        drillId: record.message.drillId,
        source: record.message.source,
        reply: record.permanentRefusal,
      })),
      recipientsRefusedInAcceptedTransactions: records.reduce((sum, record) => sum + record.refusedRecipients.length, 0),
    },
    smtpClient: {
      what: 'the MTA-like sender: one connection per try, retry with backoff on anything but 250 or 5xx',
      tries: records.reduce((sum, record) => sum + record.tries, 0),
      temporaryRefusals: records.reduce((sum, record) => sum + record.temporaryRefusals, 0),
      connectionFailures: records.reduce((sum, record) => sum + record.connectionFailures, 0),
      ambiguousTries: records.reduce((sum, record) => sum + record.ambiguousTries, 0),
      messagesWithAnAmbiguousTry: records.filter((record) => record.ambiguousTries > 0).length,
      messagesRetried: records.filter((record) => record.tries > 1).length,
    },
    duplicatesAtPrimary: {
      relayDuplicateMessages: accounting.relayDuplicateMessages,
      relayDuplicatesUnexplained: accounting.unexplainedRelayDuplicates.length,
      relayDuplicateRule:
        "a relay duplicate (same shadowmail queue id, same recipient, two copies) is allowed only with a kill or the primary's stop between its copies: " +
        "the primary's 250 arrived but was not recorded (the in-doubt window of test/system/scenarios/kill-restart.test.ts)",
      relaysInFlightAtKills,
      relayDuplicates: accounting.relayDuplicates,
      senderDuplicateMessages: accounting.senderDuplicateMessages,
      senderDuplicates: accounting.senderDuplicates,
      unexplained: accounting.unexplained,
    },
    kills: {
      count: kills.length,
      midRelay: kills.filter((kill) => kill.midRelay).length,
      whileDraining: killsWhileDraining.length,
      restartSeconds: distribution(
        kills.map((kill) => kill.restartSeconds),
        2,
      ),
      list: kills,
    },
    rto: {
      seconds: rtoSeconds,
      definition:
        '`shadowmail failover on` issued → first user sees mail received during the outage in the inbox (AD FS taken down with the primary: signed in by SMS code from the outbox, Chromium). ' +
        'The users opened the webmail at the start of the outage, before `failover on`, so the flag cache held "off" for up to its cache time; a restart in between empties that cache',
      failoverCacheSeconds: common.failoverCacheSeconds,
      failoverCliSeconds,
      killsBetweenFailoverOnAndSignInOffered: killsBeforeSignIn.length,
      perUser: users.map((user) => ({
        user: user.report.user,
        seconds: user.report.inboxWithOutageMailAfter,
        signedInBy: user.report.signedInBy,
        signedInAfter: user.report.signedInAfter,
        codesRequested: user.report.codesRequested,
      })),
    },
    webmail: {
      users: users.map((user) => user.report),
      sentMailFoundAtPrimary: webmailMailAtPrimary,
      note: "the webmail sends through SHADOWMAIL_OUTBOUND = shadowmail's own SMTP listener (in AWS: SES to the MX, which is SES), so replies to colleagues are accepted during the outage and reach the primary with the backlog; a send refused while shadowmail restarts after a kill is sent again later",
      failoverOffAtSeconds,
    },
    backlog: {
      atPrimaryBackMessages: backlog.length,
      atPrimaryBackRecipientDeliveries: backlogRecipients,
      peakUndeliveredMessages: peakUndelivered,
      primaryBackAtSeconds: backSeconds,
      drainedAtSeconds: drainEndSeconds,
      drainSeconds: drainEndMs === null ? null : round((drainEndMs - primaryBackAtMs) / 1000, 2),
      drainRateMessagesPerSecond:
        drainEndMs === null || backlog.length === 0 ? null : round(backlog.length / ((drainEndMs - primaryBackAtMs) / 1000), 1),
      firstToLastRateMessagesPerSecond:
        drainEndMs === null || drainFirstMs === null || drainEndMs <= drainFirstMs
          ? null
          : round(backlog.length / ((drainEndMs - drainFirstMs) / 1000), 1),
      retrySettings: {
        SHADOWMAIL_RETRY_BASE_SECONDS: settings.retryBaseSeconds,
        SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: settings.retryMaxDelaySeconds,
      },
      note: 'drain time counts from the moment the primary answers again; deferred messages wait for their retry time (at most the max delay) first',
    },
    memory: {
      peakRssMiB: sup.peakRssMiB(),
      what: 'highest VmHWM (kernel peak RSS) of the shadowmail process over all its lives, read every 500 ms and just before each kill',
      peakSampledTreeRssMiB: sup.peakSampledTreeRssMiB(),
      lives: sup.lives,
    },
    phases: phaseCounts,
    primary: {
      postfix: command('postconf', ['-d', '-h', 'mail_version']),
      proxyConnectionsAccepted: gate.accepted(),
      postfixQueueAtEnd,
      otherMailAtPrimary: scanner.others.length,
    },
    shadowmailLog: complaints,
    machine: {
      node: process.version,
      platform: `${process.platform} ${release()}`,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cpuCount: availableParallelism(),
      memoryGiB: round(totalmem() / 1024 ** 3, 1),
      chromium: chromium.version(),
      loadAverage1mAtStart: round(loadAtStart, 2),
      loadAverage1mAtEnd: round(loadavg()[0]!, 2),
      cpuBusyPercentDuringRun: round(cpuBusy, 0),
      note: 'the machine is shared: other work on it shows in the load average and slows every figure',
    },
    settings: { ...settings, ...common, mailboxes: MAILBOXES.length, aliases: ALIASES, corpus: corpus.note },
    totalSeconds: endSeconds,
  };
  const outFile = resolve(PROJECT_ROOT, args.out);
  await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);
  printSummary(result, accounting, outFile);
  exitCode = failures.length === 0 ? 0 : 1;
} catch (error) {
  log(`drill aborted: ${(error as Error).stack ?? String(error)}`);
  exitCode = 1;
} finally {
  await browser?.close().catch(() => undefined);
  await supervisor?.stop().catch(() => undefined);
  await proxy?.close().catch(() => undefined);
  await postfix?.destroy().catch(() => undefined);
  if (exitCode === 0 && !args.keep) await rm(work, { recursive: true, force: true });
  else log(`work directory kept: ${work}`);
}
process.exit(exitCode);

// ---------------------------------------------------------------------------------------

async function lifeComplaints(dir: string): Promise<{ warnLines: number; errorLines: number; first: string[] }> {
  let warnLines = 0;
  let errorLines = 0;
  const first: string[] = [];
  for (const name of (await readdir(dir)).filter((file) => file.startsWith('shadowmail-life-')).sort()) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      const level = /"level":"(WARN|ERROR)"/.exec(line)?.[1];
      if (!level) continue;
      if (level === 'WARN') warnLines += 1;
      else errorLines += 1;
      if (first.length < 5) first.push(`${name}: ${line.slice(0, 300)}`);
    }
  }
  return { warnLines, errorLines, first };
}

/** The report this run wrote as JSON (built above, field by field); printed, not processed. */
// biome-ignore lint/suspicious/noExplicitAny: the shape is the literal built in the run, out of this scope.
type DrillReport = any;

function printSummary(result: DrillReport, accounting: DeliveryAccounting, outFile: string): void {
  const m = result.messages;
  const k = result.kills;
  const b = result.backlog;
  const lines = [
    '',
    `Continuity drill (${result.mode}, seed ${result.seed}, ${result.totalSeconds} s) — ${result.verdict.ok ? 'PASSED' : 'FAILED'}`,
    `  messages   ${m.accepted} accepted of ${m.submitted} submitted (${m.fromCorpus} from the corpus, ${m.toAlias} to the info@ alias, ${m.withBcc} with Bcc), ${m.recipients} envelope recipients`,
    `  delivered  ${m.delivered} of ${m.recipients} recipient copies at the primary; lost ${m.lost}`,
    `  duplicates at the primary: ${accounting.relayDuplicateMessages} messages relayed twice in the in-doubt window of a kill or the primary's stop ` +
      `(${result.kills.midRelay} kills hit ${result.duplicatesAtPrimary.relaysInFlightAtKills} relays in flight; ${accounting.unexplainedRelayDuplicates.length} unexplained); ` +
      `${accounting.senderDuplicateMessages} stored twice after an unanswered try of the sender`,
    `  sender     ${result.smtpClient.tries} tries: ${result.smtpClient.connectionFailures} connection failures, ${result.smtpClient.temporaryRefusals} 4xx, ${result.smtpClient.ambiguousTries} ambiguous (no reply after the data)`,
    `  kills      ${k.count} SIGKILLs (${k.midRelay} mid-relay, ${k.whileDraining} while the backlog drained); restart p50 ${k.restartSeconds.p50} s, max ${k.restartSeconds.max} s`,
    `  RTO        ${result.rto.seconds ?? '—'} s from \`failover on\` to the first user reading outage mail (flag cache ${result.rto.failoverCacheSeconds} s` +
      `${result.rto.killsBetweenFailoverOnAndSignInOffered > 0 ? ', emptied by a kill before sign-in' : ', not emptied by a kill'})`,
    ...result.webmail.users.map(
      (user: DrillReport) =>
        `    ${user.user.padEnd(6)} sign-in offered ${user.signInOfferedAfter ?? '—'} s, inbox ${user.inboxWithOutageMailAfter ?? '—'} s, read ${user.readAfter ?? '—'} s; ` +
        `${user.sends.map((send: DrillReport) => `${send.kind} ${send.outcome} in ${send.phase}`).join(', ') || 'no sends'}; ${user.stepRetries} step retries`,
    ),
    `  backlog    ${b.atPrimaryBackMessages} messages (${b.atPrimaryBackRecipientDeliveries} recipient copies) when the primary came back; drained in ${b.drainSeconds ?? '—'} s ` +
      `= ${b.drainRateMessagesPerSecond ?? '—'} msg/s (${b.firstToLastRateMessagesPerSecond ?? '—'} msg/s first to last)`,
    `  memory     peak RSS ${result.memory.peakRssMiB ?? '—'} MiB (VmHWM over ${result.memory.lives.length} process lives)`,
    `  phases     ${result.phases.map((p: DrillReport) => `${p.name} ${p.seconds} s`).join(', ')}`,
    `  machine    ${result.machine.cpuCount} CPUs, load ${result.machine.loadAverage1mAtStart} → ${result.machine.loadAverage1mAtEnd}, ${result.machine.cpuBusyPercentDuringRun} % busy during the run`,
    ...(result.verdict.failures as string[]).map((failure) => `  FAILURE    ${failure}`),
    `  written to ${outFile}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
