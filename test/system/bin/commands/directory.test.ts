// `shadowmail directory` end to end: import and sync into local mode's data directory
// (through a running local mode, and with none running), the diff of --dry-run, the
// errors an admin sees, a deployed-stack target (--table), mail to an imported alias
// landing in the owner's inbox, and a 10,000-user sync from slapd measured.
// The command is called in-process, through bin/cli.ts (test/support/cli-run.ts).
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import type { DirectoryUser } from '../../../../lambdas/core/model.ts';
import { localPaths, prepareDataDir } from '../../../../lambdas/wiring/local-data-dir.ts';
import { openLocalIndex } from '../../../../lambdas/wiring/local-index.ts';
import {
  ADMIN_GROUP_DN,
  groupEntries,
  ldif,
  PEOPLE,
  SUFFIX,
  SYNC_DN,
  SYNC_PASSWORD,
  userDn,
} from '../../../fixtures/directory/corp-directory.ts';
import { runCli } from '../../../support/cli-run.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { type LocalProcess, startLocal } from '../../../support/local-process.ts';
import { openDataDirStore } from '../../../support/local-store.ts';
import { type SilentServer, startSilentServer } from '../../../support/silent-server.ts';
import { type Slapd, startSlapd } from '../../../support/slapd.ts';
import { freePort, waitFor } from '../../../support/wait.ts';

const USERS_CSV = resolve(import.meta.dirname, '../../../fixtures/directory/users.csv');

const cli = (...args: string[]) => runCli('directory', ...args);

/** A data directory as local mode leaves it after its first start: the table exists, nothing runs. */
async function stoppedDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-directory-'));
  await prepareDataDir(localPaths(dataDir));
  openDataDirStore(dataDir).close();
  return dataDir;
}

async function listJson(...target: string[]): Promise<DirectoryUser[]> {
  const listed = await cli('list', '--json', ...target);
  expect(listed.code, listed.err).toBe(0);
  return JSON.parse(listed.out) as DirectoryUser[];
}

describe('shadowmail directory import and list', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await stoppedDataDir();
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('says what is missing or wrong, prints the usage and exits 2 without a subcommand or with an unknown option', async () => {
    // Prepare (nothing)
    // Act
    const bare = await cli();
    const unknown = await cli('import', USERS_CSV, '--colour');
    // Assess
    expect(bare.code).toBe(2);
    expect(bare.err.split('\n')[0]).toBe('shadowmail directory: give one of sync, import, list');
    expect(bare.err).toMatch(/shadowmail directory sync --url/);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/Unknown option '--colour'/);
  });

  it('shows the diff on --dry-run and writes nothing', async () => {
    // Prepare (an empty directory)
    // Act
    const dry = await cli('import', USERS_CSV, '--dry-run', '--data-dir', dataDir);
    // Assess
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('+ alice@corp.test  "Example, Alice"  [admin]  aliases a.example@corp.test, info@corp.test');
    expect(dry.out).toContain('+ support@corp.test  "Support Team"  [shared,disabled]  aliases help@corp.test');
    expect(dry.out).toMatch(/dry run, nothing changed: CSV file .*users\.csv → local data directory/);
    expect(dry.out).toMatch(/users: 4 added, 0 changed, 0 removed/);
    expect(await listJson('--data-dir', dataDir)).toEqual([]);
  });

  it('imports the CSV, lists it, and a malformed file names its line and changes nothing', async () => {
    // Prepare
    const bad = join(dataDir, 'bad.csv');
    await writeFile(bad, 'mailbox,aliases\nalice@corp.test,\nbob@corp.test,bob@@corp.test\n');
    // Act
    const imported = await cli('import', USERS_CSV, '--data-dir', dataDir);
    const listed = await cli('list', '--data-dir', dataDir);
    const refused = await cli('import', bad, '--data-dir', dataDir);
    // Assess
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toMatch(/users: 4 added/);
    expect(imported.out).toMatch(/addresses: 8 new, 0 moved, 0 removed/);
    expect(listed.out.split('\n')).toContain('carol@corp.test  "Carol Gone"  [disabled]  aliases c.gone@corp.test');
    expect(listed.out).toMatch(/^4 users$/m);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/bad\.csv line 3: not a mail address: "bob@@corp\.test"/);
    expect((await listJson('--data-dir', dataDir)).map((user) => user.mailbox)).toEqual([
      'alice@corp.test',
      'bob@corp.test',
      'carol@corp.test',
      'support@corp.test',
    ]);
  });

  it('refuses to remove most of the directory unless --max-removals allows it', async () => {
    // Prepare
    const bigger = await stoppedDataDir();
    try {
      const many = join(bigger, 'many.csv');
      await writeFile(many, `mailbox\n${Array.from({ length: 30 }, (_, i) => `u${i}@corp.test`).join('\n')}\n`);
      await cli('import', many, '--data-dir', bigger);
      const few = join(bigger, 'few.csv');
      await writeFile(few, 'mailbox\nu0@corp.test\n');
      // Act
      const refused = await cli('import', few, '--data-dir', bigger);
      const allowed = await cli('import', few, '--data-dir', bigger, '--max-removals', '29');
      // Assess
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(/would remove 29 of 30 users \(more than 10\); nothing was changed/);
      expect(allowed.code, allowed.err).toBe(0);
      expect(allowed.out).toMatch(/users: 0 added, 0 changed, 29 removed/);
    } finally {
      await rm(bigger, { recursive: true, force: true });
    }
  });

  it('prints the whole diff on a real run, as the dry run does (it stopped at 200 lines before issue 16)', async () => {
    // Prepare
    const big = await stoppedDataDir();
    try {
      const csv = join(big, 'staff.csv');
      await writeFile(csv, `mailbox\n${Array.from({ length: 250 }, (_, i) => `u${i}@corp.test`).join('\n')}\n`);
      // Act
      const imported = await cli('import', csv, '--data-dir', big);
      // Assess
      expect(imported.code, imported.err).toBe(0);
      expect(imported.out.split('\n').filter((line) => line.startsWith('+ u'))).toHaveLength(250);
      expect(imported.out).not.toMatch(/more changes/);
    } finally {
      await rm(big, { recursive: true, force: true });
    }
  });

  it('writes to a deployed-stack table with --table and --region', async () => {
    // Prepare
    const server: DynamoDbServer = await startDynalite();
    const client = makeDynamoDbClient(server.endpoint);
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    try {
      await createMessageTable(client, 'shadowmail-prod');
      const target = ['--table', 'shadowmail-prod', '--region', 'eu-central-1', '--endpoint', server.endpoint];
      // Act
      const imported = await cli('import', USERS_CSV, ...target);
      const users = await listJson(...target);
      const mixed = await cli('list', '--table', 'x', '--data-dir', dataDir);
      // Assess
      expect(imported.code, imported.err).toBe(0);
      expect(imported.out).toMatch(/→ table shadowmail-prod \(eu-central-1\)/);
      expect(users).toHaveLength(4);
      expect(mixed.code).toBe(2);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      client.destroy();
      await server.stop();
    }
  });
});

describe('shadowmail directory on a fresh data directory (no npm start before)', () => {
  let parent: string;
  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'shadowmail-directory-fresh-'));
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('lists a folder that does not exist as empty and creates nothing', async () => {
    // Prepare
    const missing = join(parent, 'missing');
    // Act
    const listed = await cli('list', '--data-dir', missing);
    const json = await cli('list', '--json', '--data-dir', missing);
    // Assess
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toBe(`the directory in local data directory ${missing} is empty (nothing imported or synced yet)\n`);
    expect(JSON.parse(json.out)).toEqual([]);
    await expect(stat(missing)).rejects.toThrow(/ENOENT/);
  });

  it.each([
    ['a folder that does not exist', false],
    ['an empty folder', true],
  ])('initializes %s on import, owner-only, and local mode starts on it with the imported users', async (_label, exists) => {
    // Prepare
    const dataDir = join(parent, exists ? 'empty' : 'new');
    if (exists) await mkdir(dataDir);
    // Act
    const imported = await cli('import', USERS_CSV, '--data-dir', dataDir);
    const listed = await listJson('--data-dir', dataDir);
    // Assess
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toMatch(/users: 4 added/);
    expect(listed.map((user) => user.mailbox)).toEqual(['alice@corp.test', 'bob@corp.test', 'carol@corp.test', 'support@corp.test']);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    if (exists) return;
    // The imported directory stays: local mode fills only an empty one with its demo users.
    const local = await startLocal(dataDir);
    try {
      const again = await listJson('--data-dir', dataDir);
      expect(again.map((user) => user.mailbox)).toEqual(listed.map((user) => user.mailbox));
    } finally {
      await local.kill();
    }
  });

  it('refuses a folder with other files in it, and writes nothing there', async () => {
    // Prepare
    const foreign = join(parent, 'documents');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    // Act
    const refused = await cli('import', USERS_CSV, '--data-dir', foreign);
    // Assess
    expect(refused.code).toBe(2);
    expect(refused.err).toBe(
      `shadowmail directory: ${foreign} is not empty and holds no shadowmail data: give local mode's data directory, or an empty or new folder\n`,
    );
    expect(await readdir(foreign)).toEqual(['notes.txt']);
  });
});

describe('shadowmail directory sync from slapd', () => {
  let slapd: Slapd;
  let dataDir: string;
  let passwordFile: string;
  const ldapArgs = () => [
    '--url',
    slapd.url,
    '--insecure', // slapd on 127.0.0.1 without TLS
    '--bind-dn',
    SYNC_DN,
    '--bind-password-file',
    passwordFile,
    '--base-dn',
    PEOPLE,
    '--admin-group',
    ADMIN_GROUP_DN,
  ];

  beforeAll(async () => {
    slapd = await startSlapd({ suffix: SUFFIX, ldif: ldif(20) });
    const root = await slapd.rootClient();
    try {
      for (const group of groupEntries()) await root.add(group.dn, group.attributes);
    } finally {
      await root.unbind();
    }
    dataDir = await stoppedDataDir();
    passwordFile = join(dataDir, 'bind-password');
    await writeFile(passwordFile, `${SYNC_PASSWORD}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await slapd?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('syncs users, aliases and admins into the map that ingest reads', async () => {
    // Prepare (slapd seeded)
    // Act
    const synced = await cli('sync', ...ldapArgs(), '--data-dir', dataDir);
    // Assess
    expect(synced.code, synced.err).toBe(0);
    expect(synced.err).toBe(`skipped ${userDn('dave')}: no SMTP address (neither proxyAddresses SMTP: nor mail)\n`);
    expect(synced.out).toMatch(/read 30 users, 1 skipped in \d+\.\d\d s/);
    expect(synced.out).toMatch(/users: 30 added, 0 changed, 0 removed, 0 unchanged/);
    expect(synced.out).toMatch(/wrote \d+ items in \d+\.\d\d s; \d+\.\d\d s in all/);
    const users = await listJson('--data-dir', dataDir);
    expect(users.filter((user) => user.admin).map((user) => user.mailbox)).toEqual([
      'frank@corp.test',
      'grace@corp.test',
      'heidi@corp.test',
    ]);
    const local = await openLocalIndex(dataDir);
    try {
      expect(await local.index.mailboxFor('info@corp.test')).toBe('alice@corp.test');
    } finally {
      await local.close();
    }
  });

  it('prints the diff of a change in AD on --dry-run and writes nothing', async () => {
    // Prepare
    const root = await slapd.rootClient();
    try {
      await root.modify(
        userDn('alice'),
        new Change({ operation: 'delete', modification: new Attribute({ type: 'proxyAddresses', values: ['smtp:info@corp.test'] }) }),
      );
      await root.modify(
        userDn('grace'),
        new Change({ operation: 'add', modification: new Attribute({ type: 'proxyAddresses', values: ['smtp:info@corp.test'] }) }),
      );
      await root.modify(
        userDn('carol'),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['512'] }) }),
      );
    } finally {
      await root.unbind();
    }
    const before = await listJson('--data-dir', dataDir);
    // Act
    const dry = await cli('sync', ...ldapArgs(), '--dry-run', '--data-dir', dataDir);
    // Assess
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('~ alice@corp.test  aliases -info@corp.test');
    expect(dry.out).toContain('~ carol@corp.test  disabled true → false');
    expect(dry.out).toContain('~ grace@corp.test  aliases +info@corp.test');
    expect(dry.out).toContain('> info@corp.test: alice@corp.test → grace@corp.test');
    expect(dry.out).toMatch(/^dry run, nothing changed/m);
    expect(await listJson('--data-dir', dataDir)).toEqual(before);
  });

  it('names a wrong password and an unreachable server, exits 2 and leaves the directory as it was', async () => {
    // Prepare
    const before = await listJson('--data-dir', dataDir);
    const wrongFile = join(dataDir, 'wrong-password');
    await writeFile(wrongFile, 'wrong\n');
    await chmod(wrongFile, 0o644);
    const closedPort = await freePort();
    const args = ldapArgs();
    // Act
    const wrong = await cli('sync', ...args.map((arg) => (arg === passwordFile ? wrongFile : arg)), '--data-dir', dataDir);
    const down = await cli(
      'sync',
      ...args.map((arg) => (arg === slapd.url ? `ldap://127.0.0.1:${closedPort}` : arg)),
      '--data-dir',
      dataDir,
    );
    // Assess
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain(`warning: ${wrongFile} can be read by other users (chmod 600 it)`);
    expect(wrong.err).toContain(`shadowmail directory: bind failed for ${SYNC_DN}: invalid credentials`);
    expect(down.code).toBe(2);
    expect(down.err).toBe(`shadowmail directory: cannot reach ldap://127.0.0.1:${closedPort}: connection refused\n`);
    expect(await listJson('--data-dir', dataDir)).toEqual(before);
  });

  it('applies the change on a real run', async () => {
    // Prepare (the change of the dry-run test is still in slapd)
    // Act
    const synced = await cli('sync', ...ldapArgs(), '--data-dir', dataDir);
    // Assess
    expect(synced.code, synced.err).toBe(0);
    expect(synced.out).toMatch(/users: 0 added, 3 changed, 0 removed, 27 unchanged/);
    expect(synced.out).toMatch(/addresses: 0 new, 1 moved, 0 removed/);
    const local = await openLocalIndex(dataDir);
    try {
      expect(await local.index.mailboxFor('info@corp.test')).toBe('grace@corp.test');
    } finally {
      await local.close();
    }
  });
});

describe('shadowmail directory sync from an LDAP server that accepts and never answers', () => {
  let silent: SilentServer;
  let url: string;
  let dataDir: string;
  let passwordFile: string;
  beforeAll(async () => {
    silent = await startSilentServer();
    url = `ldap://127.0.0.1:${silent.port}`;
    dataDir = await stoppedDataDir();
    passwordFile = join(dataDir, 'bind-password');
    await writeFile(passwordFile, SYNC_PASSWORD, { mode: 0o600 });
  });
  afterAll(async () => {
    await silent?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const args = () => ['sync', '--url', url, '--insecure', '--bind-dn', SYNC_DN, '--bind-password-file', passwordFile, '--base-dn', PEOPLE];

  /** The sync with the environment given, and how long it took in seconds. */
  async function timed(extra: string[], env: Record<string, string> = {}): Promise<{ code: number; err: string; seconds: number }> {
    const saved = process.env.SHADOWMAIL_DIRECTORY_TIMEOUT;
    if (env.SHADOWMAIL_DIRECTORY_TIMEOUT !== undefined) process.env.SHADOWMAIL_DIRECTORY_TIMEOUT = env.SHADOWMAIL_DIRECTORY_TIMEOUT;
    else delete process.env.SHADOWMAIL_DIRECTORY_TIMEOUT;
    const started = performance.now();
    try {
      const result = await cli(...args(), ...extra, '--data-dir', dataDir);
      return { code: result.code, err: result.err, seconds: (performance.now() - started) / 1000 };
    } finally {
      if (saved === undefined) delete process.env.SHADOWMAIL_DIRECTORY_TIMEOUT;
      else process.env.SHADOWMAIL_DIRECTORY_TIMEOUT = saved;
    }
  }

  it('fails after --timeout seconds, naming the step, and changes nothing', async () => {
    // Prepare
    const before = await listJson('--data-dir', dataDir);
    // Act
    const result = await timed(['--timeout', '2']);
    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toBe(`shadowmail directory: cannot reach ${url}: no answer within 2 s (bind)\n`);
    expect(result.seconds).toBeGreaterThanOrEqual(1.9);
    expect(result.seconds).toBeLessThan(8);
    expect(await listJson('--data-dir', dataDir)).toEqual(before);
  });

  it('takes the timeout from SHADOWMAIL_DIRECTORY_TIMEOUT, the flag before it', async () => {
    // Act
    const fromEnv = await timed([], { SHADOWMAIL_DIRECTORY_TIMEOUT: '1' });
    const flagWins = await timed(['--timeout', '2'], { SHADOWMAIL_DIRECTORY_TIMEOUT: '600' });
    const bad = await timed([], { SHADOWMAIL_DIRECTORY_TIMEOUT: 'soon' });
    // Assess
    expect(fromEnv.err).toBe(`shadowmail directory: cannot reach ${url}: no answer within 1 s (bind)\n`);
    expect(flagWins.err).toBe(`shadowmail directory: cannot reach ${url}: no answer within 2 s (bind)\n`);
    expect(flagWins.seconds).toBeLessThan(8);
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')[0]).toBe(
      'shadowmail directory: SHADOWMAIL_DIRECTORY_TIMEOUT must be a whole number of seconds from 1 to 600, not "soon"',
    );
  });

  it('gives up within 30 s by default', async () => {
    // Act
    const result = await timed([]);
    // Assess
    expect(result.err).toBe(`shadowmail directory: cannot reach ${url}: no answer within 30 s (bind)\n`);
    expect(result.seconds).toBeLessThan(35);
  }, 45_000);
});

describe('shadowmail directory import into a running local mode', () => {
  let dataDir: string;
  let local: LocalProcess;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-directory-local-'));
    local = await startLocal(dataDir);
  });
  afterAll(async () => {
    await local?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("files mail sent to an imported alias in the owner's one inbox", async () => {
    // Prepare
    const csv = join(dataDir, 'people.csv');
    await writeFile(csv, 'mailbox,displayName,aliases\ndana@corp.test,Dana,orders@corp.test;d.example@corp.test\n');
    const imported = await cli('import', csv, '--data-dir', dataDir);
    expect(imported.code, imported.err).toBe(0);
    const transport = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true });
    // Act
    for (const to of ['orders@corp.test', 'D.Example@corp.test', 'dana@corp.test']) {
      await transport.sendMail({ from: 'partner@elsewhere.test', to, subject: `to ${to}`, text: 'hello' });
    }
    transport.close();
    // Assess
    const index = await openLocalIndex(dataDir);
    try {
      const entries = await waitFor('three messages in dana@corp.test', async () => {
        const found = (await index.index.listMailboxPage('dana@corp.test', { folder: 'inbox', limit: 10 }, new Date())).entries;
        return found.length >= 3 ? found : undefined;
      });
      expect(entries.map((entry) => entry.subject).sort()).toEqual(['to D.Example@corp.test', 'to dana@corp.test', 'to orders@corp.test']);
      expect((await index.index.listMailboxPage('orders@corp.test', { folder: 'inbox', limit: 10 }, new Date())).entries).toEqual([]);
    } finally {
      await index.close();
    }
  });
});

describe('shadowmail directory sync of 10,000 users', () => {
  let slapd: Slapd;
  let dataDir: string;
  beforeAll(async () => {
    slapd = await startSlapd({ suffix: SUFFIX, ldif: ldif(10_000) });
    dataDir = await stoppedDataDir();
    await writeFile(join(dataDir, 'bind-password'), SYNC_PASSWORD, { mode: 0o600 });
  });
  afterAll(async () => {
    await slapd?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('takes seconds, not minutes, from slapd into the local data directory', async () => {
    // Prepare
    const args = [
      '--url',
      slapd.url,
      '--insecure',
      '--bind-dn',
      SYNC_DN,
      '--bind-password-file',
      join(dataDir, 'bind-password'),
      '--base-dn',
      PEOPLE,
      '--data-dir',
      dataDir,
    ];
    // Act
    const first = performance.now();
    const initial = await cli('sync', ...args);
    const firstSeconds = (performance.now() - first) / 1000;
    const second = performance.now();
    const again = await cli('sync', ...args);
    const secondSeconds = (performance.now() - second) / 1000;
    // Assess
    console.log(
      `[directory cli] 10,010 users from slapd into the local store: first ${firstSeconds.toFixed(2)} s, unchanged ${secondSeconds.toFixed(2)} s\n${initial.out.split('\n').slice(-5).join('\n')}`,
    );
    expect(initial.code, initial.err).toBe(0);
    expect(initial.out).toMatch(/users: 10010 added/);
    expect(again.out).toMatch(/users: 0 added, 0 changed, 0 removed, 10010 unchanged/);
    expect(firstSeconds).toBeLessThan(90);
    expect(secondSeconds).toBeLessThan(20);
  });
});
