// Resend against a real Postfix standing in for Exchange:
// 1. A resend delivers exactly the stored bytes: the Maildir file, without the fields
//    Postfix puts on top, equals the stored raw message plus the two header lines the
//    resend adds (compared with the harness's postfixStoredForm / stripPostfixTrace).
// 2. A bulk resend of 1,000 messages — some recipients refused for good (550), some
//    deferred (450) until the primary takes them, one deferred for good — run by the
//    `shadowmail resend` CLI over local mode's data directory (the SQLite store, file
//    queues), SIGKILLed in the middle and resumed with `resend status JOB --wait`: the
//    counts are exact, every Maildir holds exactly its messages, and a message appears
//    twice only if the job itself reports a relay in doubt (the worker died between the
//    primary's 250 and writing it down).
// Needs root and Debian's postfix.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpRelayAdapter } from '../../../lambdas/adapters/smtp/smtp-relay.ts';
import type { MessageRecord } from '../../../lambdas/core/model.ts';
import { processResendStep, type ResendConfig, startResend } from '../../../lambdas/core/resend.ts';
import { readLocalConfig } from '../../../lambdas/wiring/local-config.ts';
import { localPaths } from '../../../lambdas/wiring/local-data-dir.ts';
import { localResendConsumer } from '../../../lambdas/wiring/local-resend.ts';
import { sampleMessage } from '../../support/header-parser.ts';
import { makeRecord, makeState } from '../../support/index-contract/fixtures.ts';
import { PROJECT_ROOT } from '../../support/local-process.ts';
import { withDataDirStore } from '../../support/local-store.ts';
import { ManualClock, MemoryRawMailStore } from '../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../support/memory-message-index.ts';
import { MemoryAuditLog, MemoryResendJobs, MemoryResendQueue } from '../../support/memory-resend.ts';
import { type PostfixInstance, postfixStoredForm, startPostfix, stripPostfixTrace } from '../../support/postfix.ts';

const DOMAIN = 'corp.test';

describe('a resend delivers to a real MTA exactly the stored bytes', () => {
  let postfix: PostfixInstance;

  beforeAll(async () => {
    postfix = await startPostfix({ domain: DOMAIN, users: ['alice', 'bob'] });
  });
  afterAll(async () => {
    await postfix?.destroy();
  });

  it('adds X-Shadowmail-Resent and the forward stamp on top and changes nothing else, for the chosen recipient only', async () => {
    // Prepare: 8-bit text, a leading dot, a long line, a CRLF/LF mix, an attachment
    const raw = Buffer.concat([
      Buffer.from(
        'From: "Müller, Jürgen" <jm@partner.test>\r\nTo: alice@corp.test, bob@corp.test\r\nSubject: =?utf-8?q?R=C3=BCckfrage?=\r\n' +
          'Message-ID: <resend-bytes@partner.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
          '--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
          'Gr\xfc\xdfe\r\n.a line with a leading dot\r\n' +
          'x'.repeat(1500) +
          '\nLF-only line\n\r\n' +
          '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        'latin1',
      ),
      Buffer.from(`${Buffer.alloc(3000, 7).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n--b1--\r\n`, 'latin1'),
    ]);
    const clock = new ManualClock('2030-03-01T12:00:00.000Z');
    const index = new MemoryMessageIndex();
    const store = new MemoryRawMailStore();
    const record: MessageRecord = makeRecord('ses-bytes', {
      receivedAt: '2030-03-01T11:00:00.000Z',
      envelopeFrom: 'bounces@partner.test',
      envelopeRecipients: ['Alice@corp.test', 'bob@corp.test'],
      expiresAt: Math.floor(clock.now().getTime() / 1000) + 86_400,
      raw: { bucket: 'raw', key: 'ses-bytes' },
    });
    await index.putMessage(record);
    for (const recipient of record.envelopeRecipients)
      await index.createDeliveryState(makeState('ses-bytes', recipient, { receivedAt: record.receivedAt, expiresAt: record.expiresAt }));
    store.put(record.raw, raw);
    const jobs = new MemoryResendJobs();
    const queue = new MemoryResendQueue(() => clock.now().getTime());
    const config: ResendConfig = {
      stackId: 'shadow-test',
      leaseMs: 60_000,
      maxAttempts: 3,
      retryBaseSeconds: 1,
      retryMaxDelaySeconds: 1,
      pageSize: 10,
      jobRetentionDays: 90,
      maxRangeDays: 400,
      maxReceives: 3,
    };
    const relay = new SmtpRelayAdapter({ host: postfix.host, port: postfix.port, tls: 'none', name: 'shadowmail.test' });
    // Act
    const job = await startResend(
      'admin@corp.test',
      { kind: 'message', sesMessageId: 'ses-bytes', recipients: ['ALICE@corp.test'] },
      {
        index,
        jobs,
        queue,
        audit: new MemoryAuditLog(),
        clock,
        config,
        newJobId: () => 'rs-bytes-1',
      },
    );
    const step = queue.takeDue()!.step;
    const outcome = await processResendStep(step, { index, rawStore: store, relay, jobs, queue, clock, workerId: 'w', config });
    const [delivered] = await postfix.waitForDelivered('alice', 1);
    // Assess
    expect(outcome).toMatchObject({ status: 'sent', delivered: ['Alice@corp.test'] });
    const date = clock.now().toUTCString();
    const sent = Buffer.concat([
      Buffer.from(`X-Shadowmail-Resent: ${job.id}; ${date}\r\nX-Shadowmail-Forwarded: shadow-test; id=ses-bytes; ${date}\r\n`, 'latin1'),
      raw,
    ]);
    const expected = postfixStoredForm(sent);
    expect(expected.edits).toEqual([]);
    const { message, prepended } = stripPostfixTrace(delivered!, postfix.hostname);
    expect(message.equals(expected.bytes)).toBe(true);
    expect(prepended[0]).toBe('Return-Path: <bounces@partner.test>\n');
    expect(await postfix.readDelivered('bob')).toEqual([]);
    expect((await jobs.get(job.id, clock.now()))?.counters).toMatchObject({ total: 1, done: 1, delivered: 1 });
  });
});

// ---- bulk: 1,000 messages, SIGKILL in the middle, resumed ---------------------------------

const USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);
const MESSAGES = 1000;

/** Who message n goes to: one of ten users, plus a refused, a late and a stuck recipient now and then. */
function recipientsOf(n: number): string[] {
  const recipients = [`${USERS[n % 10]}@${DOMAIN}`];
  if (n % 20 === 3) recipients.push(`blocked@${DOMAIN}`);
  if (n % 20 === 7) recipients.push(`later@${DOMAIN}`);
  if (n % 100 === 11) recipients.push(`stuck@${DOMAIN}`);
  return recipients;
}

interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/support/resend-cli.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Writes what ingest would have left in local mode's data directory: records, delivery states, raw files. */
async function seedDataDir(dataDir: string, receivedBase: number): Promise<void> {
  const paths = localPaths(dataDir);
  await mkdir(paths.root, { recursive: true });
  await withDataDirStore(dataDir, async ({ index }) => {
    const expiresAt = Math.floor(Date.now() / 1000) + 7 * 86_400;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < MESSAGES) {
          const n = next++;
          const id = `bulk-${String(n).padStart(4, '0')}`;
          const receivedAt = new Date(receivedBase + n * 1000).toISOString();
          const raw = sampleMessage(n, { to: recipientsOf(n).join(', ') });
          const file = join(paths.raw, 'inbound', id);
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, raw);
          await index.putMessage(
            makeRecord(id, {
              receivedAt,
              expiresAt,
              envelopeFrom: 'partner@ext.example',
              envelopeRecipients: recipientsOf(n),
              raw: { bucket: 'inbound', key: id },
              size: raw.length,
              summary: { subject: `Message ${n}`, messageIdHeader: `<m${n}@ext.example>` },
            }),
          );
          for (const recipient of recipientsOf(n))
            await index.createDeliveryState(makeState(id, recipient, { receivedAt, expiresAt, state: 'delivered', attemptCount: 1 }));
        }
      }),
    );
  });
}

/** Message numbers per Maildir user, with how often each arrived. */
async function deliveredByUser(postfix: PostfixInstance, users: string[]): Promise<Map<string, Map<number, number>>> {
  const result = new Map<string, Map<number, number>>();
  for (const user of users) {
    const counts = new Map<number, number>();
    for (const file of await postfix.readDelivered(user)) {
      const n = Number(/Message-ID: <m(\d+)@ext\.example>/.exec(file.toString('latin1'))?.[1]);
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    result.set(user, counts);
  }
  return result;
}

async function maildirTotal(postfix: PostfixInstance): Promise<number> {
  let total = 0;
  for (const user of [...USERS, 'later']) total += (await postfix.readDelivered(user)).length;
  return total;
}

describe('a bulk resend of 1,000 messages, killed in the middle and resumed', () => {
  let postfix: PostfixInstance;
  let dataDir = '';

  beforeAll(async () => {
    postfix = await startPostfix({
      domain: DOMAIN,
      users: [...USERS, 'later', 'stuck', 'blocked'],
      recipientAccess: {
        [`blocked@${DOMAIN}`]: '550 5.7.1 refused for good',
        [`later@${DOMAIN}`]: '450 4.2.0 try again later',
        [`stuck@${DOMAIN}`]: '450 4.2.0 mailbox busy',
      },
    });
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-resend-bulk-'));
  });
  afterAll(async () => {
    await postfix?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  // Its own waits are bounded (job id 30 s, a third delivered 45 s, the resume 50 s) plus seeding:
  // on a loaded machine it may take that long, more than the suite's 60 s default.
  it('finishes with exact counts, loses nothing and sends nothing twice that it does not report', async () => {
    // Prepare
    const receivedBase = Date.now() - 2 * 86_400_000;
    const seeded = performance.now();
    await seedDataDir(dataDir, receivedBase);
    console.info(`seeded ${MESSAGES} messages in ${Math.round(performance.now() - seeded)} ms`);
    const env = {
      ...process.env,
      SHADOWMAIL_DATA_DIR: dataDir,
      SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${postfix.port}`,
      SHADOWMAIL_DOMAINS: DOMAIN,
      SHADOWMAIL_RETRY_BASE_SECONDS: '1',
      SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: '2',
      SHADOWMAIL_RESEND_MAX_ATTEMPTS: '6',
      // The largest bound: resend jobs get 10 sessions, one step each (the default 10 gives them 2).
      SHADOWMAIL_PRIMARY_MAX_SESSIONS: '50',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const range = [
      '--since',
      new Date(receivedBase - 1000).toISOString(),
      '--until',
      new Date(receivedBase + MESSAGES * 1000).toISOString(),
    ];

    // Act 1: the CLI runs the job in its own process (no stack is running); kill it mid-way
    const firstStarted = performance.now();
    const first = runCli(['resend', '--all', ...range], env);
    const jobId = await until('the job id', async () => /resend job (\S+) queued/.exec(first.stderr())?.[1], 30_000);
    let firstDelivery: { at: number; total: number } | null = null;
    const atKill = await until(
      'a third of the mail in the Maildirs',
      async () => {
        if (first.child.exitCode !== null) throw new Error(`the CLI ended before the kill:\n${first.stderr()}`);
        const total = await maildirTotal(postfix);
        if (firstDelivery === null && total > 0) firstDelivery = { at: performance.now(), total };
        return total >= 350 ? total : undefined;
      },
      45_000,
    );
    first.child.kill('SIGKILL');
    const killedAt = performance.now();
    await first.exited;
    const startUpSeconds = ((firstDelivery as { at: number } | null)?.at ?? killedAt) / 1000 - firstStarted / 1000;
    const rate = firstDelivery
      ? (atKill - (firstDelivery as { total: number }).total) / ((killedAt - (firstDelivery as { at: number }).at) / 1000)
      : 0;
    // the primary now takes later@ (still refuses blocked@, still defers stuck@)
    await postfix.setRecipientAccess({
      [`blocked@${DOMAIN}`]: '550 5.7.1 refused for good',
      [`stuck@${DOMAIN}`]: '450 4.2.0 mailbox busy',
    });

    // Act 2: resume
    const resumed = performance.now();
    const second = runCli(['resend', 'status', jobId, '--wait', '--json'], env);
    const code = await Promise.race([
      second.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`resume did not end:\n${second.stderr()}`)), 50_000)),
    ]);
    const secondSeconds = (performance.now() - resumed) / 1000;

    // Assess
    expect(second.stderr()).toContain('this process runs the worker until the job ends');
    expect(code, second.stderr()).toBe(3);
    const job = JSON.parse(second.stdout()) as { state: string; counters: Record<string, number>; finishedAt: string | null };
    const inDoubt = job.counters.inDoubt ?? -1;
    expect(job.state).toBe('done');
    expect(job.finishedAt).not.toBeNull();
    expect(job.counters).toEqual({
      total: MESSAGES,
      done: MESSAGES,
      skipped: 0,
      delivered: MESSAGES + 50,
      failed: 50 + 10,
      deferred: 0,
      cancelled: 0,
      inDoubt,
    });
    expect(inDoubt).toBeGreaterThanOrEqual(0);
    // at most one step per worker (the resend's share of the sessions) is in flight in the CLI's worker when it is killed
    expect(inDoubt).toBeLessThanOrEqual(localResendConsumer(readLocalConfig(env)).concurrency);

    const byUser = await deliveredByUser(postfix, [...USERS, 'later', 'stuck', 'blocked']);
    let duplicates = 0;
    for (const [user, counts] of byUser) {
      const expected = Array.from({ length: MESSAGES }, (_, n) => n).filter(
        (n) => recipientsOf(n).includes(`${user}@${DOMAIN}`) && user !== 'stuck' && user !== 'blocked',
      );
      expect(
        [...counts.keys()].sort((a, b) => a - b),
        user,
      ).toEqual(expected);
      for (const count of counts.values()) duplicates += count - 1;
    }
    expect(byUser.get('later')?.size).toBe(50);
    console.info(
      `bulk resend: first delivery ${startUpSeconds.toFixed(1)} s after the CLI started, then ~${Math.round(rate)} deliveries/s; ` +
        `killed at ${atKill} deliveries; resumed run ${secondSeconds.toFixed(1)} s (incl. the deferred retries); relays in doubt ${inDoubt}, duplicates in the Maildirs ${duplicates}`,
    );
    // a message arrives twice only when its relay was in doubt (at most two of its recipients are real mailboxes)
    expect(duplicates).toBeLessThanOrEqual(inDoubt * 2);
    if (inDoubt === 0) expect(duplicates).toBe(0);
  }, 180_000);
});
