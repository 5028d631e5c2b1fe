// Issue 17, refuse at the door: local mode against a real Postfix as the primary. With a
// directory (demo mode's), an address it does not know gets 550 5.1.1 at RCPT TO while the
// known ones (alias, +tag, postmaster) and a catch-all domain's are taken; mail larger than
// the primary takes gets 552 at MAIL FROM SIZE= and 552 5.3.4 at the end of DATA, and nothing
// of it is kept. Without a directory the same unknown address is taken, and Postfix then
// refuses it (what the non-delivery report answers).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalProcess, localEnv, runCli, startLocal } from '../../support/local-process.ts';
import { type PostfixInstance, startPostfix } from '../../support/postfix.ts';
import { RawSmtp } from '../../support/raw-smtp.ts';
import { waitFor } from '../../support/wait.ts';

const PRIMARY_LIMIT = 65_536;

interface Traced {
  subject: string;
  envelopeRecipients: string[];
  deliveries: { recipient: string; state: string; lastReply: string | null }[];
}

async function trace(dataDir: string, recipient: string): Promise<Traced[]> {
  const result = await runCli(['trace', '--recipient', recipient, '--json'], localEnv(dataDir));
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Traced[];
}

async function session(port: number): Promise<RawSmtp> {
  const { client } = await RawSmtp.open(port);
  expect((await client.command('EHLO sender.elsewhere.test')).code).toBe(250);
  return client;
}

const body = (subject: string, filler = '') =>
  `From: partner@elsewhere.test\r\nTo: alice@corp.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@elsewhere.test>\r\n\r\nbody\r\n${filler}.`;

describe('refuse at the door (local mode, Postfix as the primary)', () => {
  let postfix: PostfixInstance;
  const dirs: string[] = [];
  const running: LocalProcess[] = [];

  async function start(
    extra: Record<string, string>,
    seed?: (dataDir: string) => Promise<void>,
  ): Promise<{ dataDir: string; port: number }> {
    const dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-door-'));
    dirs.push(dataDir);
    await seed?.(dataDir);
    const local = await startLocal(dataDir, {
      SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${postfix.port}`,
      SHADOWMAIL_RETRY_BASE_SECONDS: '1',
      ...extra,
    });
    running.push(local);
    return { dataDir, port: local.runtime.smtpPort };
  }

  beforeAll(async () => {
    postfix = await startPostfix({ domain: 'corp.test', users: ['alice', 'bob'] });
  });
  afterAll(async () => {
    for (const local of running) await local.kill();
    await postfix?.destroy();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('with a directory: 550 5.1.1 for an unknown address at RCPT TO, known and catch-all ones taken', async () => {
    // Prepare: demo mode's directory (alice with alias info, bob, admin); sales.test is a catch-all
    const { dataDir, port } = await start({
      SHADOWMAIL_DOMAINS: 'corp.test,sales.test',
      SHADOWMAIL_CATCH_ALL_DOMAINS: 'sales.test',
      SHADOWMAIL_SMTP_TARPIT_SECONDS: '1',
    });
    const client = await session(port);

    // Act
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);
    const replies = new Map<string, string>();
    const started = performance.now();
    const tarpitted = await client.command('RCPT TO:<guess@corp.test>');
    const tarpitMs = performance.now() - started;
    for (const rcpt of [
      'alcie@corp.test',
      'bob%corp.test@corp.test',
      'alice@corp.test',
      'INFO@corp.test',
      'alice+news@corp.test',
      'postmaster@corp.test',
      'anyone@sales.test',
    ]) {
      replies.set(rcpt, (await client.command(`RCPT TO:<${rcpt}>`)).text);
    }
    expect((await client.command('DATA')).code).toBe(354);
    const stored = await client.command(body('door-1'));
    await client.quit();

    // Assess: refused during the transaction, the rest taken in one message
    expect(tarpitted.text).toMatch(/^550 5\.1\.1 /);
    expect(tarpitMs).toBeGreaterThanOrEqual(990); // SHADOWMAIL_SMTP_TARPIT_SECONDS holds the refusal back
    expect(replies.get('alcie@corp.test')).toMatch(/^550 5\.1\.1 /);
    expect(replies.get('bob%corp.test@corp.test')).toMatch(/^550 5\.1\.1 /);
    for (const rcpt of ['alice@corp.test', 'INFO@corp.test', 'alice+news@corp.test', 'postmaster@corp.test', 'anyone@sales.test']) {
      expect(replies.get(rcpt), rcpt).toMatch(/^250 /);
    }
    expect(stored.code).toBe(250);
    await postfix.waitForDelivered('alice', 1, 30_000);
    const traced = await waitFor('the message in trace', async () => (await trace(dataDir, 'alice@corp.test'))[0]);
    expect(traced.subject).toBe('door-1');
    expect(traced.envelopeRecipients.map((r) => r.toLowerCase()).sort()).toEqual(
      ['alice+news@corp.test', 'alice@corp.test', 'anyone@sales.test', 'info@corp.test', 'postmaster@corp.test'].sort(),
    );
    expect(await trace(dataDir, 'alcie@corp.test')).toEqual([]);
  });

  it('mail larger than the primary takes: SIZE in EHLO, 552 at MAIL FROM SIZE=, 552 5.3.4 at the end of DATA, nothing kept', async () => {
    // Prepare
    const { dataDir, port } = await start({ SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES: String(PRIMARY_LIMIT) });
    const { client } = await RawSmtp.open(port);
    const ehlo = await client.command('EHLO sender.elsewhere.test');

    // Act: one declares its size, one does not and sends more than the limit
    const declared = await client.command(`MAIL FROM:<partner@elsewhere.test> SIZE=${PRIMARY_LIMIT + 1}`);
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@corp.test>')).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    const oversized = await client.command(body('door-big', `${'x'.repeat(998)}\r\n`.repeat(70)));
    // The connection stays usable, and a message within the limit goes through.
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);
    expect((await client.command('RCPT TO:<bob@corp.test>')).code).toBe(250);
    expect((await client.command('DATA')).code).toBe(354);
    const fits = await client.command(body('door-fits'));
    await client.quit();

    // Assess
    expect(ehlo.text).toContain(`SIZE ${PRIMARY_LIMIT}`);
    // smtp-server answers a declared SIZE itself, before our handlers run: 552 without an
    // enhanced code (enabling them would rewrite every reply of ours).
    expect(declared.text).toMatch(/^552 .*exceeds fixed maximum message size 65536/);
    expect(oversized.text).toMatch(/^552 5\.3\.4 /);
    expect(fits.code).toBe(250);
    const delivered = await postfix.waitForDelivered('bob', 1, 30_000);
    expect(delivered.map((m) => /^Subject: (.*)$/m.exec(m.toString('latin1'))?.[1]?.trim())).toEqual(['door-fits']);
    expect((await trace(dataDir, 'bob@corp.test')).map((t) => t.subject)).toEqual(['door-fits']);
  });

  it('without a directory: the unknown address is taken, and Postfix then refuses it', async () => {
    // Prepare: a demo directory without users is no directory
    const { dataDir, port } = await start({}, async (dir) => {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'directory.json'), JSON.stringify({ version: 1, users: [] }));
    });
    const client = await session(port);

    // Act
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);
    const rcpt = await client.command('RCPT TO:<alcie@corp.test>');
    expect((await client.command('DATA')).code).toBe(354);
    const stored = await client.command(body('door-nodir'));
    await client.quit();

    // Assess
    expect(rcpt.code).toBe(250);
    expect(stored.code).toBe(250);
    const failed = await waitFor(
      'the primary refuses alcie',
      async () => (await trace(dataDir, 'alcie@corp.test'))[0]?.deliveries.find((d) => d.state === 'failed'),
      30_000,
      250,
    );
    expect(failed.lastReply).toMatch(/^550 5\.1\.1 /);
  });
});
