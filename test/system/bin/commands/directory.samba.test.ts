// `shadowmail directory sync` against real AD data (issue 16), on Samba's AD domain
// controller (test/support/samba-dc.ts): the entries an Exchange site really has, made
// with AD's own schema. One clash must not stop the sync — an alias two accounts claim,
// a new account whose primary is a colleague's address — and everything else syncs (a
// disable included) with each clash named by DN and exit 5; a junk `mail` value keeps
// its user with a warning; addresses outside the mail domains are left out, a primary
// elsewhere gives way to an address at ours, a user with none there is reported.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../../bin/commands/command.ts';
import type { DirectoryUser } from '../../../../lambdas/core/model.ts';
import { runCli } from '../../../support/cli-run.ts';
import { SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD, SAMBA_SUFFIX, type SambaDc, startSambaDc } from '../../../support/samba-dc.ts';

const STAFF = `OU=Staff,${SAMBA_SUFFIX}`;
const ADMINS = `CN=Shadowmail Admins,${STAFF}`;
// 0x200 NORMAL_ACCOUNT | 0x20 PASSWD_NOTREQD (accounts made without a password); 0x2 disables.
const ENABLED = '544';
const DISABLED = '546';
const dn = (cn: string) => `CN=${cn},${STAFF}`;

let dc: SambaDc;
let workDir: string;
let dataDir: string;
let passwordFile: string;

async function asAdmin(work: (admin: Client) => Promise<void>): Promise<void> {
  const admin = await dc.adminClient();
  try {
    await work(admin);
  } finally {
    await admin.unbind();
  }
}

function addUser(admin: Client, cn: string, attributes: Record<string, string[] | string>): Promise<void> {
  return admin.add(dn(cn), {
    objectClass: ['top', 'person', 'organizationalPerson', 'user'],
    cn,
    sAMAccountName: cn,
    userAccountControl: ENABLED,
    ...attributes,
  });
}

const sync = (...extra: string[]) =>
  runCli(
    'directory',
    'sync',
    '--url',
    dc.url,
    '--insecure', // Samba in its own network namespace, reached over loopback
    '--bind-dn',
    SAMBA_ADMIN_DN,
    '--bind-password-file',
    passwordFile,
    '--base-dn',
    STAFF,
    '--admin-group',
    ADMINS,
    '--domains',
    'corp.test',
    '--timeout',
    '20',
    '--data-dir',
    dataDir,
    ...extra,
  );

async function listed(): Promise<Map<string, DirectoryUser>> {
  const result = await runCli('directory', 'list', '--json', '--data-dir', dataDir);
  expect(result.code, result.err).toBe(0);
  return new Map((JSON.parse(result.out) as DirectoryUser[]).map((user) => [user.mailbox, user]));
}

beforeAll(async () => {
  dc = await startSambaDc();
  workDir = await mkdtemp(join(tmpdir(), 'shadowmail-directory-samba-'));
  // A new folder: the sync makes it a data directory (no npm start before).
  dataDir = join(workDir, 'data');
  passwordFile = join(workDir, 'bind-password');
  await writeFile(passwordFile, SAMBA_ADMIN_PASSWORD, { mode: 0o600 });
  await asAdmin(async (admin) => {
    await admin.add(STAFF, { objectClass: ['top', 'organizationalUnit'], ou: 'Staff' });
    await addUser(admin, 'anna', { mail: 'anna@corp.test', proxyAddresses: ['SMTP:anna@corp.test', 'smtp:info@corp.test'] });
    await addUser(admin, 'bert', { mail: 'bert@corp.test', proxyAddresses: ['SMTP:bert@corp.test'] });
    await admin.add(ADMINS, {
      objectClass: ['top', 'group'],
      cn: 'Shadowmail Admins',
      sAMAccountName: 'Shadowmail Admins',
      member: [dn('anna'), dn('bert')],
    });
  });
}, 180_000);

afterAll(async () => {
  await dc?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('shadowmail directory sync against real AD data (Samba AD DC)', () => {
  it('syncs a clean directory (exit 0): the baseline the clashes below are judged against', async () => {
    // Act
    const first = await sync();
    // Assess
    expect(first.code, first.err).toBe(EXIT.ok);
    expect(first.out).toContain('  mail domains: corp.test');
    const users = await listed();
    expect(users.get('anna@corp.test')).toMatchObject({ aliases: ['info@corp.test'], admin: true });
    expect(users.get('bert@corp.test')).toMatchObject({ disabled: false, admin: true });
  });

  it('syncs everything but the clashes, names both DNs of each, and exits 5', async () => {
    // Prepare: what a busy week leaves in AD.
    await asAdmin(async (admin) => {
      // bert leaves: disabled, and someone gave him the team alias anna has.
      await admin.modify(dn('bert'), [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [DISABLED] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'proxyAddresses', values: ['smtp:info@corp.test'] }) }),
      ]);
      // A new hire made by copying anna: her primary address came along.
      await addUser(admin, 'carl', { mail: 'carl@corp.test', proxyAddresses: ['SMTP:anna@corp.test', 'smtp:carl@corp.test'] });
      // Staff the clashes must not keep out.
      await addUser(admin, 'dora', { proxyAddresses: ['SMTP:dora@corp.test'] });
      await addUser(admin, 'emil', { mail: 'john.doe', proxyAddresses: ['SMTP:emil@corp.test', 'smtp:e.mil@corp.test'] });
      await addUser(admin, 'fritz', {
        mail: 'fritz@brand.example',
        proxyAddresses: ['SMTP:fritz@brand.example', 'smtp:fritz@corp.test', 'smtp:fritz@old.example'],
      });
      await addUser(admin, 'gina', { proxyAddresses: ['SMTP:gina@partner.example'] });
    });

    // Act
    const dry = await sync('--dry-run');
    const run = await sync();

    // Assess
    for (const result of [dry, run]) {
      expect(result.code, result.err).toBe(EXIT.clashes);
      const lines = result.err.split('\n');
      expect(lines).toContain(
        `clash: anna@corp.test is claimed by ${dn('anna')} and ${dn('carl')}; it stays with ${dn('anna')} (its owner before)`,
      );
      expect(lines).toContain(
        `clash: info@corp.test is claimed by ${dn('anna')} and ${dn('bert')}; it stays with ${dn('anna')} (its owner before)`,
      );
      expect(lines).toContain(`clash: ${dn('carl')} not added: its primary address belongs to another account`);
      expect(lines).toContain('warning emil@corp.test: mail "john.doe" is not a mail address, left out');
      expect(lines).toContain(
        'warning fritz@corp.test: the primary address fritz@brand.example is not at one of the mail domains (corp.test); ' +
          'fritz@corp.test is the mailbox; fritz@old.example left out',
      );
      expect(lines).toContain(`skipped ${dn('gina')}: no address at the mail domains (corp.test), only gina@partner.example`);
      expect(result.out).toContain('; 2 address clashes (listed above, fix them in the directory)');
    }
    // The real run prints the whole diff too.
    for (const line of [
      '+ dora@corp.test',
      '+ emil@corp.test',
      '+ fritz@corp.test',
      '~ bert@corp.test  disabled false → true; admin true → false',
    ]) {
      expect(run.out).toContain(line);
    }
    expect(run.out).toMatch(/users: 3 added, 1 changed, 0 removed, 1 unchanged/);

    const users = await listed();
    expect([...users.keys()].sort()).toEqual(['anna@corp.test', 'bert@corp.test', 'dora@corp.test', 'emil@corp.test', 'fritz@corp.test']);
    expect(users.get('anna@corp.test')).toMatchObject({ aliases: ['info@corp.test'], admin: true });
    expect(users.get('bert@corp.test')).toMatchObject({ aliases: [], disabled: true, admin: false });
    expect(users.get('emil@corp.test')?.aliases).toEqual(['e.mil@corp.test']);
    expect(users.get('fritz@corp.test')?.aliases).toEqual([]);
  });

  it('exits 0 again once the clashes are fixed in AD, and the address goes where AD now says', async () => {
    // Prepare
    await asAdmin(async (admin) => {
      await admin.modify(dn('bert'), [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'proxyAddresses', values: ['smtp:info@corp.test'] }) }),
      ]);
      await admin.modify(dn('carl'), [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'proxyAddresses', values: ['SMTP:carl@corp.test'] }) }),
      ]);
    });
    // Act
    const fixed = await sync();
    // Assess
    expect(fixed.code, fixed.err).toBe(EXIT.ok);
    expect(fixed.err).not.toMatch(/^clash/m);
    expect(fixed.out).toContain('+ carl@corp.test');
    expect((await listed()).get('carl@corp.test')).toMatchObject({ disabled: false, admin: false });
  });
});
