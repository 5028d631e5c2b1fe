// `shadowmail export` as an admin runs it (the package's bin, a process) against local
// mode while it runs: mail received over SMTP by `npm start`'s process, exported through
// the running stack's table, the zip read back with unzip — each .eml the stored raw
// message byte for byte (including a 40 MB one); then a SIGKILL in the middle of an
// export leaves nothing under --out.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalProcess, localEnv, PROJECT_ROOT, runCli, startLocal } from '../../../support/local-process.ts';
import { unzip, zipNames } from '../../../support/unzip.ts';
import { waitFor } from '../../../support/wait.ts';

const BIG_BODY_LINES = 520_000; // 520,000 lines of 78 characters + CRLF: about 41 MB

function rawMessage(subject: string, body: string): string {
  return [
    'From: Partner <partner@elsewhere.test>',
    'To: Alice <alice@corp.test>',
    `Subject: ${subject}`,
    'Date: Sat, 05 Dec 2026 10:00:00 +0000',
    `Message-ID: <export-${Math.random().toString(36).slice(2)}@elsewhere.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
    '',
  ].join('\r\n');
}

/** Every message of the raw store (what ingest kept): its rows in the store file and its files, by content. */
async function storedRaw(dataDir: string): Promise<Buffer[]> {
  const root = join(dataDir, 'raw');
  const files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
  const db = new Database(join(dataDir, 'shadowmail.db'), { readonly: true });
  try {
    const rows = db.prepare<[], { bytes: Buffer }>('SELECT bytes FROM raw_message').all();
    return [...rows.map((row) => row.bytes), ...(await Promise.all(files.map((entry) => readFile(join(entry.parentPath, entry.name)))))];
  } finally {
    db.close();
  }
}

describe('shadowmail export against running local mode', () => {
  let dataDir = '';
  let outDir = '';
  let env: NodeJS.ProcessEnv;
  let local: LocalProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-export-sys-'));
    outDir = await mkdtemp(join(tmpdir(), 'shadowmail-export-sys-out-'));
    env = localEnv(dataDir);
    // The 41 MB message is above Exchange's default size (36 MB, smartHost.maxMessageBytes): this
    // primary takes up to SES's 40 MiB, so local mode takes it too (it refuses what the primary would).
    local = await startLocal(dataDir, { SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES: String(40 * 1024 * 1024) });
    const transport = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true });
    const envelope = { from: 'partner@elsewhere.test', to: ['alice@corp.test'] };
    await transport.sendMail({ envelope, raw: rawMessage('Angebot – Grüße', 'Umlaute: äöü ß\r\n.a line that starts with a dot') });
    await transport.sendMail({ envelope, raw: rawMessage('../../CON \u202Egnp.exe', 'hostile subject') });
    const line = `${'x'.repeat(78)}\r\n`;
    await transport.sendMail({ envelope, raw: rawMessage('Big scan', line.repeat(BIG_BODY_LINES)) });
    transport.close();
    await waitFor(
      'three messages in alice’s inbox',
      async () => {
        const result = await runCli(['trace', '--recipient', 'alice@corp.test', '--json'], env);
        return (JSON.parse(result.stdout || '[]') as unknown[]).length === 3 ? true : undefined;
      },
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    await local?.kill();
    for (const dir of [dataDir, outDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exports the inbox as .eml files equal to the stored raw messages, with safe names', async () => {
    // Prepare
    const out = join(outDir, 'alice.zip');

    // Act
    const result = await runCli(['export', '--mailbox', 'alice@corp.test', '--out', out], env);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/: 3 messages of alice@corp\.test, inbox, sent, deleted, everything kept\n$/);
    const names = await zipNames(out);
    expect(names).toHaveLength(3);
    expect(names.map((name) => name.replace(/^inbox\/\d{4}-\d\d-\d\d \d{4} /, '').replace(/ \w{8}\.eml$/, '')).sort()).toEqual([
      'Angebot – Grüße',
      'Big scan',
      '_.._CON gnp.exe',
    ]);
    const stored = await storedRaw(dataDir);
    for (const name of names) {
      const extracted = await unzip('-p', out, name);
      expect(stored.filter((raw) => raw.equals(extracted))).toHaveLength(1);
    }
    expect(Math.max(...stored.map((raw) => raw.length))).toBeGreaterThan(40_000_000);
  }, 120_000);

  it('leaves nothing under --out when the export is killed (SIGKILL) half-way', async () => {
    // Prepare
    const out = join(outDir, 'killed.zip');
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, 'bin/shadowmail-cli.mjs'), 'export', '--mailbox', 'alice@corp.test', '--out', out],
      {
        cwd: PROJECT_ROOT,
        env,
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

    // Act: kill as soon as the temporary zip has bytes in it.
    const partial = await waitFor(
      'the temporary zip',
      async () => (await readdir(outDir)).find((name) => name.startsWith('.killed.zip.') && name.endsWith('.partial')),
      60_000,
      20,
    );
    child.kill('SIGKILL');
    const signal = await exited;

    // Assess
    expect(signal).toBe('SIGKILL');
    expect(partial).toMatch(/^\.killed\.zip\.[0-9a-f-]{36}\.partial$/);
    expect(await readdir(outDir)).not.toContain('killed.zip');
  }, 120_000);
});
