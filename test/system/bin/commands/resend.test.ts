// `shadowmail trace` and `shadowmail resend` against local mode, as an admin runs them:
// mail received by the running stack, traced with its delivery attempts, resent to
// the built-in primary sink (one message to one recipient, a mailbox's time range),
// followed with progress and a summary, listed, cancelled, and audited — with the
// stack running, with no stack (the CLI runs the worker itself), and with a running
// worker to hand the job to.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resendCommand } from '../../../../bin/commands/resend.ts';
import { localRawMailStore } from '../../../../lambdas/adapters/local/local-raw-mail-store.ts';
import { startSmtpSink } from '../../../../lambdas/adapters/local/smtp-sink.ts';
import { systemClock } from '../../../../lambdas/ports/clock.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';
import { localPaths, writeRuntimeInfo } from '../../../../lambdas/wiring/local-data-dir.ts';
import { localRelay, startLocalResend } from '../../../../lambdas/wiring/local-resend.ts';
import { type LocalProcess, localEnv, PROJECT_ROOT, startLocal } from '../../../support/local-process.ts';
import { openDataDirStore, withDataDirStore } from '../../../support/local-store.ts';
import { waitFor } from '../../../support/wait.ts';

function rawMessage(n: number): string {
  return [
    'From: Partner <partner@elsewhere.test>',
    'To: Alice <alice@corp.test>',
    `Subject: Angebot ${n} – Grüße`,
    'Date: Sat, 28 Nov 2026 10:00:00 +0000',
    `Message-ID: <resend-cli-${n}@elsewhere.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `Message ${n}.`,
    '.a line that starts with a dot',
    'Umlaute: äöü ß',
    '',
  ].join('\r\n');
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a process (bin/commands through test/support/resend-cli.ts until bin/cli.ts dispatches to them). */
function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 45_000): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/support/resend-cli.ts'), ...args], {
    cwd: PROJECT_ROOT,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shadowmail ${args.join(' ')} did not end within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Files the built-in primary kept (.eml), oldest first. */
async function sinkMessages(dataDir: string): Promise<string[]> {
  const dir = join(dataDir, 'primary');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.eml')).sort();
  return Promise.all(names.map((name) => readFile(join(dir, name), 'latin1')));
}

const resentCopies = async (dataDir: string) => (await sinkMessages(dataDir)).filter((text) => text.startsWith('X-Shadowmail-Resent: '));

describe('shadowmail trace and resend in local mode', () => {
  let dataDir = '';
  let env: NodeJS.ProcessEnv;
  let local: LocalProcess | undefined;
  const ids: string[] = [];
  const startedAt = new Date(Date.now() - 60_000).toISOString();

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-resend-cli-'));
    env = localEnv(dataDir, { SHADOWMAIL_RETRY_BASE_SECONDS: '1' });
    local = await startLocal(dataDir, { SHADOWMAIL_RETRY_BASE_SECONDS: '1' });
    const transport = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true });
    for (let n = 0; n < 3; n += 1) {
      const info = await transport.sendMail({
        envelope: { from: 'partner@elsewhere.test', to: ['alice@corp.test', 'bob@corp.test'] },
        raw: rawMessage(n),
      });
      ids.push(/queued as (\S+)/i.exec(info.response)?.[1] ?? '');
    }
    transport.close();
    await waitFor('three messages at the primary', async () => ((await sinkMessages(dataDir)).length >= 3 ? true : undefined), 30_000);
  });

  afterAll(async () => {
    await local?.kill();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("trace shows each recipient's delivery attempts, as text and as JSON", async () => {
    // Act
    const json = await waitFor('delivered states', async () => {
      const result = await cli(['trace', '--recipient', 'BOB@corp.test', '--json'], env);
      const parsed = JSON.parse(result.stdout || '[]') as Array<{
        sesMessageId: string;
        deliveries: Array<{ recipient: string; state: string; attempts: Array<{ code: number; outcome: string; response: string }> }>;
      }>;
      return parsed.length === 3 && parsed.every((m) => m.deliveries.every((d) => d.state === 'delivered')) ? parsed : undefined;
    });
    const text = await cli(['trace', '--subject', 'angebot 1', '--since', startedAt], env);
    // Assess
    expect(json.map((m) => m.sesMessageId).sort()).toEqual([...ids].sort());
    expect(json[0]?.deliveries[0]?.attempts).toEqual([expect.objectContaining({ code: 250, outcome: 'delivered' })]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/subject {2}Angebot 1 – Grüße/);
    expect(text.stdout).toMatch(/→ bob@corp\.test +delivered +attempts 1/);
    expect(text.stdout).toMatch(/\n {6}\d{4}-\d\d-\d\dT[\d:.]+Z {2}250 {2}delivered/);
    expect(text.stdout).toMatch(/1 message\n$/);
  });

  it('resends one message by its Message-ID to one recipient while the stack runs, and trace shows the resend', async () => {
    // Act
    const result = await cli(['resend', '--message-id', '<resend-cli-1@elsewhere.test>', '--to', 'Bob@corp.test'], env);
    const copies = await waitFor(
      'the resent copy at the primary',
      async () => {
        const found = await resentCopies(dataDir);
        return found.length >= 1 ? found : undefined;
      },
      10_000,
    );
    const traced = await cli(['trace', '--message-id', 'resend-cli-1@elsewhere.test', '--json'], env);
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/resend job (rs-\S+) queued \(message \S+ to bob@corp\.test\)/);
    expect(result.stderr).toMatch(/this process runs the worker until the job ends|the resend worker of the running local stack/);
    expect(result.stdout).toMatch(/messages {4}1: 1 sent, 0 skipped/);
    expect(result.stdout).toMatch(/recipients {2}1 delivered, 0 failed/);
    const jobId = /resend job (rs-\S+) queued/.exec(result.stderr)![1]!;
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatch(
      new RegExp(`^X-Shadowmail-Resent: ${jobId}; .+ GMT\\r\\nX-Shadowmail-Forwarded: shadowmail; id=${ids[1]}; .+ GMT\\r\\nFrom: Partner`),
    );
    const [message] = JSON.parse(traced.stdout) as Array<{
      deliveries: Array<{ recipient: string; attempts: Array<{ response: string }> }>;
    }>;
    const bob = message?.deliveries.find((d) => d.recipient === 'bob@corp.test');
    const alice = message?.deliveries.find((d) => d.recipient === 'alice@corp.test');
    expect(bob?.attempts.at(-1)?.response).toMatch(new RegExp(`^resend ${jobId}: 250 `));
    expect(alice?.attempts).toHaveLength(1);
  });

  it('refuses a recipient that is not on the envelope and an unknown message', async () => {
    // Act
    const stranger = await cli(['resend', '--message-id', ids[0]!, '--to', 'mallory@corp.test'], env);
    const unknown = await cli(['resend', '--message-id', '<nothing@nowhere.test>'], env);
    const usage = await cli(['resend', '--all', '--since', startedAt], env);
    // Assess
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toMatch(/mallory@corp\.test is not a recipient of/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no message with the id or Message-ID/);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/a bulk resend needs --since and --until/);
  });

  it("with no stack running: queues a mailbox's range, then runs the worker itself to the end; lists, cancels and audits", async () => {
    // Prepare
    await local?.kill();
    local = undefined;
    const until = new Date(Date.now() + 1000).toISOString();
    const before = (await resentCopies(dataDir)).length;
    // Act
    const queued = await cli(['resend', '--mailbox', 'alice@corp.test', '--since', startedAt, '--until', until, '--no-wait'], env);
    const jobId = queued.stdout.trim();
    const followed = await cli(['resend', 'status', jobId, '--wait'], env);
    const listed = await cli(['resend', 'list', '--json'], env);
    const cancelled = await cli(['resend', 'cancel', jobId], env);
    // Assess
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stderr).toMatch(/no resend worker is running: it runs when local mode starts/);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stderr).toContain('this process runs the worker until the job ends');
    expect(followed.stderr).toMatch(new RegExp(`resend ${jobId}: (queued|running), \\d+/\\d+\\+? messages`));
    expect(followed.stdout).toMatch(/messages {4}3: 3 sent, 0 skipped/);
    expect(followed.stdout).toMatch(/recipients {2}3 delivered, 0 failed/);
    const copies = (await resentCopies(dataDir)).slice(before);
    expect(copies).toHaveLength(3);
    for (const copy of copies) expect(copy).toContain(`X-Shadowmail-Resent: ${jobId}; `);
    const jobs = JSON.parse(listed.stdout) as Array<{ id: string; state: string; createdBy: string }>;
    expect(jobs.map((job) => job.state)).toEqual(['done', 'done']);
    expect(jobs[0]).toMatchObject({ id: jobId, createdBy: expect.stringMatching(/^cli:/) });
    expect(cancelled.stdout).toContain(`resend job ${jobId} had already ended (done)`);

    await withDataDirStore(dataDir, async ({ audit }) => {
      const page = await audit.list({ since: startedAt, until: new Date(Date.now() + 60_000).toISOString(), limit: 100 });
      const actions = page.events.map((event) => `${event.action}:${event.outcome}`);
      expect(actions).toEqual(
        expect.arrayContaining(['trace.search:ok', 'resend.single:ok', 'resend.single:error', 'resend.bulk:ok', 'resend.cancel:ok']),
      );
      expect(page.events.every((event) => event.actor.startsWith('cli:'))).toBe(true);
    });
  });

  it('draws a progress bar on a terminal', async () => {
    // Prepare
    let progress = '';
    const terminal = Object.assign(
      new Writable({
        write: (chunk, _encoding, done) => {
          progress += String(chunk);
          done();
        },
      }),
      {
        isTTY: true,
      },
    );
    let output = '';
    const out = new Writable({
      write: (chunk, _encoding, done) => {
        output += String(chunk);
        done();
      },
    });
    // Act
    const code = await resendCommand(['--message-id', ids[2]!, '--data-dir', dataDir], out, terminal);
    // Assess
    expect(code, progress).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's erase-line sequence (ESC [K) is part of what is checked
    expect(progress).toMatch(/\r\[#{30}\] 100% {2}1\/1 messages · 2 delivered · 0 failed · 0 skipped\u001b\[K\n/);
    expect(output).toMatch(/^resend job rs-\S+ {2}done after [\d.]+ s\n/);
  });

  it('hands a job to the worker of a running stack instead of running one itself', async () => {
    // Prepare: this test process plays the running stack with its resend worker
    const paths = localPaths(dataDir);
    const store = openDataDirStore(dataDir);
    const sink = await startSmtpSink({ host: '127.0.0.1', port: 0, dir: paths.primarySink });
    const config = readLocalConfig(env);
    const worker = await startLocalResend({
      store,
      rawStore: localRawMailStore(paths.raw, store.rawRows),
      relay: localRelay(config, sink.port),
      paths,
      clock: systemClock,
      config,
    });
    await writeRuntimeInfo(paths, { pid: process.pid, smtpPort: 1, httpPort: 1, sinkPort: sink.port });
    const before = (await resentCopies(dataDir)).length;
    try {
      // Act
      const result = await cli(['resend', '--message-id', ids[0]!, '--json'], env);
      // Assess
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`the resend worker of the running local stack (pid ${process.pid}) executes the job`);
      expect(JSON.parse(result.stdout)).toMatchObject({ state: 'done', counters: { total: 1, done: 1, delivered: 2 } });
      expect((await resentCopies(dataDir)).length).toBe(before + 1);
    } finally {
      await rm(paths.runtimeInfo, { force: true });
      await worker.stop();
      await sink.close();
      store.close();
    }
  });
});
