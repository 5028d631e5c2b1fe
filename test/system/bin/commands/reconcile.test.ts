// `shadowmail reconcile` in local mode against a real Dovecot (test/support/dovecot.ts):
// a data directory holding what alice and bob sent and read in the webmail, reconciled
// over IMAP with the master user (SASL PLAIN authzid). Appended bytes equal the stored
// Sent copy, \Seen, original date; bob's German Sent folder; a second run appends
// nothing; read state marks only delivered mail; a SIGKILL mid-run and a restart leave
// no duplicate and nothing missing; each bad input is one line, non-zero, nothing written.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FsRawMailStore } from '../../../../lambdas/adapters/local/fs-raw-mail-store.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';
import { openLocalMailData } from '../../../../lambdas/wiring/local-mail-data.ts';
import { openLocalAuditLog } from '../../../../lambdas/wiring/local-resend.ts';
import { type Dovecot, startDovecot } from '../../../support/dovecot.ts';
import { PROJECT_ROOT, runCli } from '../../../support/local-process.ts';
import { putReceived, putSentCopy, rawMessage, reconcileArgs } from '../../../support/reconcile-mail.ts';

const DOMAIN = 'corp.test';
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const ADMIN = `admin@${DOMAIN}`;
const BUCKET = 'inbound';
const SENT_AT = new Date(Date.now() - 3 * 3_600_000);

function message(id: string, subject: string, from: string): string {
  return rawMessage(`<${id}@${DOMAIN}>`, subject, from, SENT_AT);
}

describe('shadowmail reconcile against Dovecot (local mode)', () => {
  let dovecot: Dovecot;
  let work: string;
  let dataDir: string;
  let passwordFile: string;

  beforeAll(async () => {
    dovecot = await startDovecot({ domain: DOMAIN, sentFolders: { admin: null } });
    work = await mkdtemp(join(tmpdir(), 'shadowmail-reconcile-'));
    passwordFile = join(work, 'password');
    await writeFile(passwordFile, `${dovecot.servicePassword}\n`, { mode: 0o600 });
  }, 60_000);
  afterAll(async () => {
    await dovecot?.stop();
    await rm(work, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(join(work, 'data-'));
  });

  const env = () => ({ ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const imapArgs = (...extra: string[]) => reconcileArgs(dovecot, passwordFile, '--data-dir', dataDir, '--timeout', '5', ...extra);

  /** Writes what the webmail keeps: Sent copies (raw under sent/, record, entry) and received mail with its delivery state. */
  async function seed(items: {
    sent?: Array<{ mailbox: string; id: string }>;
    received?: Array<{ mailbox: string; id: string; read: boolean; state: 'delivered' | 'queued' }>;
  }): Promise<void> {
    const config = readLocalConfig({ ...process.env, SHADOWMAIL_DATA_DIR: dataDir });
    await (await openLocalAuditLog(config)).close();
    const data = await openLocalMailData(config);
    try {
      await data.directory.putUsers([
        makeDirectoryUser({ id: 'a', mailbox: ALICE }),
        makeDirectoryUser({ id: 'b', mailbox: BOB }),
        makeDirectoryUser({ id: 'c', mailbox: ADMIN }),
      ]);
      await data.directory.putAddresses([
        { address: ALICE, mailbox: ALICE },
        { address: BOB, mailbox: BOB },
        { address: ADMIN, mailbox: ADMIN },
      ]);
      const store = {
        index: data.index,
        raw: data.rawStore as FsRawMailStore,
        bucket: BUCKET,
        expiresAt: Math.floor(Date.now() / 1000) + 86_400 * 30,
      };
      for (const { mailbox, id } of items.sent ?? []) await putSentCopy(store, mailbox, id, message(id, id, mailbox), SENT_AT);
      for (const { mailbox, id, read, state } of items.received ?? [])
        await putReceived(store, mailbox, id, message(id, id, 'partner@example.org'), SENT_AT, { read, state });
    } finally {
      await data.close();
    }
  }

  it('appends the Sent copies byte for byte, \\Seen, with their date, to Sent and "Gesendete Elemente"; a second run appends nothing', async () => {
    // Prepare
    const aliceId = `a-${Date.now()}`;
    const bobId = `b-${Date.now()}`;
    await seed({
      sent: [
        { mailbox: ALICE, id: aliceId },
        { mailbox: BOB, id: bobId },
      ],
    });
    const before = (await dovecot.messages('alice', 'Sent')).length;
    // Act
    const first = await runCli(imapArgs('--json'), env());
    const second = await runCli(imapArgs('--json'), env());
    // Assess
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).summary).toMatchObject({ appended: 2, alreadyThere: 0, failed: 0 });
    expect(JSON.parse(second.stdout).summary).toMatchObject({ appended: 0, alreadyThere: 2 });
    const alice = await dovecot.messages('alice', 'Sent');
    expect(alice).toHaveLength(before + 1);
    const appended = alice.find((m) => m.raw.includes(`<${aliceId}@`))!;
    expect(appended.raw.equals(Buffer.from(message(aliceId, aliceId, ALICE)))).toBe(true);
    expect(appended.flags).toEqual(['\\Seen']);
    expect(Math.abs(appended.internalDate.getTime() - SENT_AT.getTime())).toBeLessThan(1000);
    const bob = await dovecot.messages('bob', 'Gesendete Elemente');
    expect(bob.filter((m) => m.raw.includes(`<${bobId}@`))).toHaveLength(1);
  }, 60_000);

  it('with --read-state marks read only what was read and delivered; the rest is pending', async () => {
    // Prepare
    const read = `r-${Date.now()}`;
    const unread = `u-${Date.now()}`;
    const queued = `q-${Date.now()}`;
    await seed({
      received: [
        { mailbox: ALICE, id: read, read: true, state: 'delivered' },
        { mailbox: ALICE, id: unread, read: false, state: 'delivered' },
        { mailbox: ALICE, id: queued, read: true, state: 'queued' },
      ],
    });
    for (const id of [read, unread]) await dovecot.deliver('alice', message(id, id, 'partner@example.org'), SENT_AT);
    // Act
    const run = await runCli(imapArgs('--read-state', '--json'), env());
    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).summary).toMatchObject({ markedRead: 1, pending: 1, appended: 0 });
    const inbox = await dovecot.messages('alice', 'INBOX');
    expect(inbox.find((m) => m.raw.includes(`<${read}@`))!.flags).toEqual(['\\Seen']);
    expect(inbox.find((m) => m.raw.includes(`<${unread}@`))!.flags).toEqual([]);
  }, 60_000);

  it('after a SIGKILL mid-run, the same command again leaves every message in Sent exactly once', async () => {
    // Prepare: enough messages that the kill lands between appends.
    const batch = `k-${Date.now()}`;
    const ids = Array.from({ length: 120 }, (_, i) => `${batch}-${i}`);
    await seed({ sent: ids.map((id) => ({ mailbox: ALICE, id })) });
    const count = async () => (await dovecot.messages('alice', 'Sent')).filter((m) => m.raw.includes(batch)).length;
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/shadowmail-cli.mjs'), ...imapArgs()], { cwd: PROJECT_ROOT, env: env() });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 30_000;
    while ((await count()) < 5 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    // Act
    child.kill('SIGKILL');
    await exited;
    const atKill = await count();
    const rerun = await runCli(imapArgs('--json'), env());
    // Assess
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(ids.length);
    expect(rerun.code, rerun.stderr).toBe(0);
    const report = JSON.parse(rerun.stdout);
    expect(report.resumed).toBe(true);
    const ids2 = (await dovecot.messages('alice', 'Sent')).flatMap((m) => /Message-ID: <([^@>]+)@/.exec(m.raw.toString())?.[1] ?? []);
    const mine = ids2.filter((id) => id.startsWith(batch));
    expect(mine.sort()).toEqual([...ids].sort());
  }, 90_000);

  it('--dry-run lists what it would append and appends nothing', async () => {
    // Prepare
    const id = `d-${Date.now()}`;
    await seed({ sent: [{ mailbox: ALICE, id }] });
    // Act
    const run = await runCli(imapArgs('--dry-run'), env());
    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`would append .*<${id}@corp.test>`));
    expect((await dovecot.messages('alice', 'Sent')).some((m) => m.raw.includes(`<${id}@`))).toBe(false);
  }, 60_000);

  describe('bad input: one clear line, exit non-zero, nothing appended', () => {
    let hanging: Server;
    let hangingPort: number;
    beforeAll(async () => {
      // Accepts connections and never says a word (no greeting).
      hanging = createServer(() => undefined);
      await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
      hangingPort = (hanging.address() as { port: number }).port;
    });
    afterAll(async () => {
      hanging.close();
    });

    it.each([
      ['a wrong password', 'wrong-password', [], /^shadowmail reconcile: .*(AUTHENTICATIONFAILED|auth|password|refused)/i],
      [
        'an unknown named mailbox',
        '',
        ['--mailbox', `nobody@${DOMAIN}`],
        /^shadowmail reconcile: nobody@corp.test: no such mailbox in the directory$/,
      ],
      ['a server that never answers', 'hang', [], /^shadowmail reconcile: .*(time|answer)/i],
      ['a password on the command line', '', ['--password', 'x'], /^shadowmail reconcile: give the password in a file/],
    ])(
      '%s',
      async (_what, variant, extra, line) => {
        // Prepare
        const id = `bad-${Date.now()}`;
        await seed({ sent: [{ mailbox: ALICE, id }] });
        const wrongFile = join(work, 'wrong');
        await writeFile(wrongFile, 'not-the-password\n', { mode: 0o600 });
        let args = imapArgs(...extra);
        if (variant === 'wrong-password') args = args.map((a) => (a === passwordFile ? wrongFile : a));
        if (variant === 'hang')
          args = args.map((a) => a.replace(`:${dovecot.imapsPort}`, `:${hangingPort}`)).map((a) => (a === '5' ? '1' : a));
        // Act
        const started = Date.now();
        const run = await runCli(args, env());
        // Assess
        expect(run.code).not.toBe(0);
        expect(run.stderr.split('\n')[0]).toMatch(line);
        expect(Date.now() - started).toBeLessThan(20_000);
        expect((await dovecot.messages('alice', 'Sent')).some((m) => m.raw.includes(`<${id}@`))).toBe(false);
        expect(await readdir(join(dataDir, 'reconcile')).catch(() => [])).not.toContain('journal.json.lock');
      },
      60_000,
    );

    it('a named mailbox without a Sent folder: one line, nothing appended to the others either', async () => {
      // Prepare: admin has no Sent folder (no SPECIAL-USE folder, no known name).
      const id = `ns-${Date.now()}`;
      await seed({
        sent: [
          { mailbox: ALICE, id },
          { mailbox: ADMIN, id: `${id}-admin` },
        ],
      });
      // Act
      const run = await runCli(imapArgs('--mailbox', ALICE, '--mailbox', ADMIN), env());
      // Assess
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^shadowmail reconcile: admin@corp.test: no Sent folder \(no SPECIAL-USE \\Sent, none named Sent Items, Gesendete Elemente/,
      );
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect((await dovecot.messages('alice', 'Sent')).some((m) => m.raw.includes(`<${id}@`))).toBe(false);
    }, 60_000);
  });
});
