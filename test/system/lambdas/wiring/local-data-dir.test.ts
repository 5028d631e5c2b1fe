// Local mode's data directory holds mail, the session secret and the sign-in keys:
// owner-only (0700 directories, 0600 files) whatever the umask it was started with, for
// what local mode writes, what its libraries write (SQLite's database and WAL) and what the CLI
// writes next to it. Local mode runs as a process and gets a message through to the sink.
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPaths } from '../../../../lambdas/wiring/local-data-dir.ts';
import { type LocalProcess, localEnv, runCli, startLocal } from '../../../support/local-process.ts';
import { waitFor } from '../../../support/wait.ts';

/** Every entry under `root` (root included) with its permission bits. */
async function walk(root: string): Promise<{ path: string; kind: 'dir' | 'file' | 'other'; mode: number }[]> {
  const found: { path: string; kind: 'dir' | 'file' | 'other'; mode: number }[] = [];
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path);
    const kind = info.isDirectory() ? 'dir' : info.isFile() ? 'file' : 'other';
    found.push({ path: relative(root, path) || '.', kind, mode: info.mode & 0o777 });
    if (kind === 'dir') for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(root);
  return found;
}

const octal = (mode: number) => mode.toString(8).padStart(3, '0');

describe('local mode data directory permissions', () => {
  let parent: string;
  let local: LocalProcess | undefined;
  const umask = process.umask();

  beforeAll(async () => {
    // A permissive umask, as on many machines: local mode must not rely on the caller's.
    process.umask(0o022);
    parent = await mkdtemp(join(tmpdir(), 'shadowmail-perm-'));
  });
  afterAll(async () => {
    await local?.kill('SIGKILL');
    process.umask(umask);
    await rm(parent, { recursive: true, force: true });
  });

  it('creates every directory 0700 and every file 0600, local mode, its libraries and the CLI alike', async () => {
    // Prepare: a data directory local mode creates itself
    const dataDir = join(parent, 'fresh');
    local = await startLocal(dataDir);
    const paths = localPaths(dataDir);
    const smtp = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true });
    await smtp.sendMail({
      envelope: { from: 'partner@elsewhere.test', to: ['alice@corp.test'] },
      raw: 'From: partner@elsewhere.test\r\nTo: alice@corp.test\r\nSubject: perm\r\nMessage-ID: <perm-1@elsewhere.test>\r\n\r\nbody\r\n',
    });
    // Past what is held in memory: this one is kept as a file under raw/, the first as a row of the store.
    await smtp.sendMail({
      envelope: { from: 'partner@elsewhere.test', to: ['alice@corp.test'] },
      raw: `From: partner@elsewhere.test\r\nTo: alice@corp.test\r\nSubject: perm large\r\n\r\n${'x'.repeat(78).concat('\r\n').repeat(4_000)}`,
    });
    smtp.close();
    await waitFor('delivery to the sink', async () => ((await readdir(paths.primarySink).catch(() => [])).length > 1 ? true : undefined));
    const cli = await runCli(['failover', 'on', '--reason', 'permission test'], localEnv(dataDir));
    expect(cli.code, cli.stderr).toBe(0);

    // Act
    await local.kill();
    local = undefined;
    const tree = await walk(dataDir);

    // Assess: the walk saw what matters, and nothing is open to group or others
    const seen = (prefix: string) => tree.some((entry) => entry.kind === 'file' && entry.path.startsWith(prefix));
    expect(['raw/', 'primary/', 'shadowmail.db', 'oidc/', 'failover.json', 'session-secret'].filter((prefix) => !seen(prefix))).toEqual([]);
    const open = tree
      .filter((entry) => (entry.kind === 'dir' ? entry.mode !== 0o700 : entry.kind === 'file' ? entry.mode !== 0o600 : true))
      .map((entry) => `${entry.path} ${entry.kind} ${octal(entry.mode)}`);
    expect(open).toEqual([]);
  });

  it('takes an existing data directory back to 0700', async () => {
    // Prepare: a data directory from before, open to everyone
    const dataDir = join(parent, 'old');
    await mkdir(dataDir, { mode: 0o755 });
    await chmod(dataDir, 0o755);
    await writeFile(join(dataDir, 'leftover'), 'x');

    // Act
    local = await startLocal(dataDir);
    await local.kill();
    local = undefined;

    // Assess
    expect(octal((await lstat(dataDir)).mode & 0o777)).toBe('700');
  });

  it('refuses to start on a data directory of an earlier version (dynalite folder, no shadowmail.db), saying what to do', async () => {
    // Prepare: the old store's folder with a file in it
    const dataDir = join(parent, 'earlier-version');
    const paths = localPaths(dataDir);
    await mkdir(paths.legacyDynamodb, { recursive: true });
    await writeFile(join(paths.legacyDynamodb, 'CURRENT'), 'MANIFEST-000001\n');

    // Act
    const started = await startLocal(dataDir, {}, 15_000).then(
      (process) => ({ process, error: null }),
      (error: unknown) => ({ process: null, error: error as Error }),
    );
    local = started.process ?? undefined;

    // Assess: no start, the message names the folder, nothing was added beside it
    expect(started.error?.message).toContain('local mode exited with 1');
    expect(started.error?.message).toContain(`${paths.legacyDynamodb}`);
    expect(started.error?.message).toContain('earlier shadowmail version');
    expect((await readdir(dataDir)).sort()).toEqual(['dynamodb']);
  });
});
