// `shadowmail directory import|sync --table … --user-pool-id …` end to end, as the AD host
// runs it against a deployed stack: the directory into real DynamoDB (DynamoDB Local),
// then the break-glass accounts into the user pool — Cognito being the fake AWS server
// behind AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, which the real SDK client talks to.
// What the admin reads (counts, names, never numbers), the audit entry, a federated user
// and an admin account left alone, the mass-deletion guard, a refused change, and local
// mode, where there are no accounts to keep. The CLI runs in-process (cli-run.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { DIRECTORY_ID_CLAIM } from '../../../../lambdas/contract/sign-in.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import type { FakeCognitoUser } from '../../../support/cognito-users-fake.ts';
import { type DynamoDbServer, startDynamoDbLocal } from '../../../support/dynamodb-servers.ts';
import { openDataDirStore } from '../../../support/local-store.ts';

const REGION = 'eu-central-1';
const POOL = 'eu-central-1_CorpPool1';
const HEADER = 'id,mailbox,displayName,kind,disabled,mobile,private_email';
const cli = (...args: string[]) => runCli('directory', ...args);

describe('shadowmail directory with break-glass accounts (--user-pool-id)', () => {
  let dynamo: DynamoDbServer;
  let aws: FakeAws;
  let workDir: string;
  let pool: Map<string, FakeCognitoUser>;
  let table = '';
  let tables = 0;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    [dynamo, aws] = await Promise.all([startDynamoDbLocal(), startFakeAws()]);
    useFakeAws(aws);
    workDir = await mkdtemp(join(tmpdir(), 'shadowmail-break-glass-'));
  });
  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([dynamo?.stop(), aws?.close(), rm(workDir, { recursive: true, force: true })]);
  });
  beforeEach(async () => {
    tables += 1;
    table = `corp-mail-${tables}`;
    const client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, table);
    client.destroy();
    pool = aws.doctor.cognitoUsers.addPool(POOL);
    // A federated user and a break-glass admin made by the runbook: neither carries a directory id from the sync.
    pool.set('adfs_alice@corp.test', {
      Username: 'ADFS_alice@corp.test',
      Attributes: { email: 'alice@corp.test', [DIRECTORY_ID_CLAIM]: 'guid-alice' },
      Enabled: true,
      UserStatus: 'EXTERNAL_PROVIDER',
      passwordSet: false,
    });
    pool.set('it-admin@corp.test', {
      Username: 'it-admin@corp.test',
      Attributes: { email: 'it-admin@corp.test', phone_number: '+491705550000' },
      Enabled: true,
      UserStatus: 'CONFIRMED',
      passwordSet: true,
    });
  });

  const target = () => ['--table', table, '--region', REGION, '--endpoint', dynamo.endpoint, '--user-pool-id', POOL];

  async function csv(name: string, rows: string[]): Promise<string> {
    const file = join(workDir, name);
    await writeFile(file, `${[HEADER, ...rows].join('\n')}\n`);
    return file;
  }

  const staff = (count: number) =>
    Array.from({ length: count }, (_, i) => `guid-u${i},user${i}@corp.test,User ${i},user,false,0170 55500${String(i).padStart(2, '0')},`);

  it('creates an account for each enabled user with a mobile number, names those without one, and never prints a number', async () => {
    // Prepare
    const file = await csv('first.csv', [
      'guid-alice,alice@corp.test,Alice Example,user,false,+49 (170) 123-4567,alice@example.org',
      'guid-bob,bob@corp.test,Bob Example,user,false,,',
      'guid-carol,carol@corp.test,Carol Example,user,false,030 1234567,carol@corp.test',
      'guid-dave,dave@corp.test,Dave Example,user,true,0170 2345678,',
      'guid-team,team@corp.test,Team,shared,false,0170 3456789,',
      'guid-it,it-admin@corp.test,IT Admin,user,false,0170 5550000,',
    ]);

    // Act
    const run = await cli('import', file, ...target());

    // Assess
    expect(run.code, run.err).toBe(0);
    expect(
      [...pool.values()].filter((u) => u.Attributes[DIRECTORY_ID_CLAIM] && u.UserStatus !== 'EXTERNAL_PROVIDER').map((u) => u.Username),
    ).toEqual(['alice@corp.test']);
    expect(pool.get('alice@corp.test')).toMatchObject({ UserStatus: 'CONFIRMED', messageAction: 'SUPPRESS', Enabled: true });
    expect(pool.get('alice@corp.test')!.Attributes).toMatchObject({ phone_number: '+491701234567', phone_number_verified: 'true' });
    expect(run.out).toContain('+ account alice@corp.test  created');
    expect(run.out).toContain('mobile numbers: 2 of 4 users who may sign in; without: bob@corp.test, carol@corp.test');
    expect(run.out).toMatch(
      /break-glass accounts in user pool eu-central-1_CorpPool1 \(eu-central-1\): 1 created, 0 updated, 0 enabled, 0 disabled, 0 deleted, 0 unchanged \(1 other accounts left alone\)/,
    );
    expect(run.err).toContain('warning carol@corp.test (line 4): the mobile number is a landline');
    expect(run.err).toContain('warning carol@corp.test: private address left out, it is at corp.test, one of the mail domains');
    expect(run.err).toContain(
      "warning it-admin@corp.test: no break-glass account, the pool has an account of that name the sync did not create (an admin's?)",
    );
    expect(`${run.out}${run.err}`).not.toMatch(/1234567|2345678|3456789|5550000|\+49/);
    expect(pool.get('it-admin@corp.test')!.Attributes).toEqual({ email: 'it-admin@corp.test', phone_number: '+491705550000' });
    const client = makeDynamoDbClient(dynamo.endpoint);
    const events = await new DynamoDbAuditLog({ client, tableName: table }).list({
      since: new Date(Date.now() - 60_000).toISOString(),
      until: new Date(Date.now() + 60_000).toISOString(),
      action: 'directory.sync',
      limit: 10,
    });
    client.destroy();
    expect(events.events).toHaveLength(1);
    expect(events.events[0]).toMatchObject({
      outcome: 'ok',
      details: { usersAdded: 6, usersWithMobile: 2, usersWithoutMobile: 2, accountsCreated: 1, accountsDeleted: 0, accountsFailed: 0 },
    });
  });

  it('follows the directory on the next run and shows it on --dry-run first: new number, disabled, gone, renamed', async () => {
    // Prepare
    await cli('import', await csv('before.csv', staff(4)), ...target());
    const after = await csv('after.csv', [
      'guid-u0,user0@corp.test,User Zero,user,false,0170 9990000,',
      'guid-u1,user1@corp.test,User 1,user,true,0170 5550001,',
      'guid-u3,user3.new@corp.test,User 3,user,false,0170 5550003,',
    ]);
    const before = structuredClone([...pool.entries()]);

    // Act
    const dry = await cli('import', after, '--dry-run', ...target());
    const unchangedByDryRun = structuredClone([...pool.entries()]);
    const real = await cli('import', after, ...target());
    const again = await cli('import', after, ...target());

    // Assess
    expect(dry.code, dry.err).toBe(0);
    expect(unchangedByDryRun).toEqual(before);
    expect(dry.out).toContain('- account user2@corp.test  deleted (not in the directory)');
    expect(dry.out).toContain('- account user3@corp.test  deleted (address changed)');
    expect(dry.out).toContain('+ account user3.new@corp.test  created');
    expect(dry.out).toContain('~ account user0@corp.test  phoneNumber, name updated');
    expect(dry.out).toContain('~ account user1@corp.test  disabled');
    expect(dry.out).toContain('~ user0@corp.test  displayName "User 0" → "User Zero"; mobile changed');
    expect(`${dry.out}${dry.err}${real.out}${real.err}`).not.toMatch(/555000|9990000|\+49/);
    expect(dry.out).toMatch(/\(dry run: nothing changed\)/);
    expect(real.code, real.err).toBe(0);
    expect(pool.get('user0@corp.test')!.Attributes).toMatchObject({ phone_number: '+491709990000', name: 'User Zero' });
    expect(pool.get('user1@corp.test')!.Enabled).toBe(false);
    expect(pool.has('user2@corp.test')).toBe(false);
    expect(pool.has('user3@corp.test')).toBe(false);
    expect(pool.get('user3.new@corp.test')!.Attributes[DIRECTORY_ID_CLAIM]).toBe('guid-u3');
    expect(again.out).toMatch(/0 created, 0 updated, 0 enabled, 0 disabled, 0 deleted, 3 unchanged/);
    expect(pool.get('adfs_alice@corp.test')!.Attributes).toEqual({ email: 'alice@corp.test', [DIRECTORY_ID_CLAIM]: 'guid-alice' });
  });

  it('refuses to delete most accounts when the numbers vanish (a wrong column or attribute) unless --max-removals allows it', async () => {
    // Prepare
    await cli('import', await csv('full.csv', staff(30)), ...target());
    const numberless = await csv(
      'numberless.csv',
      staff(30).map((row) => row.replace(/,0170 \d+,$/, ',,')),
    );

    // Act
    const refused = await cli('import', numberless, ...target());
    const accountsAfterRefusal = [...pool.keys()].length;
    const stored = JSON.parse((await cli('list', '--json', ...target().slice(0, -2))).out) as Array<{ mobile?: string }>;
    const allowed = await cli('import', numberless, '--max-removals', '30', ...target());

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/the directory would delete 30 of 30 break-glass accounts \(more than 10\); nothing was changed/);
    expect(accountsAfterRefusal).toBe(32);
    expect(stored.filter((user) => user.mobile !== undefined)).toHaveLength(30);
    expect(allowed.code, allowed.err).toBe(0);
    expect([...pool.keys()].sort()).toEqual(['adfs_alice@corp.test', 'it-admin@corp.test']);
  });

  it('goes on past an account change the pool refuses, lists it and exits 3; the next run makes it', async () => {
    // Prepare
    const file = await csv('two.csv', staff(2));
    aws.doctor.cognitoUsers.failNext.set('AdminCreateUser user1@corp.test', {
      type: 'InvalidParameterException',
      message: 'Invalid phone number format.',
    });

    // Act
    const first = await cli('import', file, ...target());
    const second = await cli('import', file, ...target());

    // Assess
    expect(first.code).toBe(3);
    expect(first.err).toContain('failed: create account user1@corp.test: Invalid phone number format.');
    expect(first.out).toMatch(/1 created, .*, 1 failed/);
    expect(second.code, second.err).toBe(0);
    expect(pool.get('user1@corp.test')?.UserStatus).toBe('CONFIRMED');
  });

  it('says the accounts were not synced without --user-pool-id, and refuses a malformed pool id or country', async () => {
    // Act
    const without = await cli(
      'import',
      await csv('one.csv', staff(1)),
      '--table',
      table,
      '--region',
      REGION,
      '--endpoint',
      dynamo.endpoint,
    );
    const badPool = await cli('import', await csv('one.csv', staff(1)), ...target().slice(0, -1), 'not-a-pool');
    const badCountry = await cli('import', await csv('one.csv', staff(1)), '--default-country', 'XX', ...target());

    // Assess
    expect(without.code, without.err).toBe(0);
    expect(without.out).toContain(
      'break-glass accounts: not synced: give --user-pool-id (the stack output UserPoolId) to keep them in step',
    );
    expect(badPool.code).toBe(2);
    expect(badPool.err).toMatch(/--user-pool-id must be a user pool id/);
    expect(badCountry.code).toBe(2);
    expect(badCountry.err).toMatch(/--default-country: not a country code for phone numbers: "XX"/);
    expect(pool.has('user0@corp.test')).toBe(false);
  });
});

describe('shadowmail directory import into local mode', () => {
  it('reads the numbers and says local mode has no accounts to keep (its sign-in reads the directory)', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-break-glass-local-'));
    openDataDirStore(dataDir).close();
    const file = join(dataDir, 'users.csv');
    await writeFile(file, 'mailbox,mobile\nalice@corp.test,0170 1234567\nbob@corp.test,\n');
    try {
      // Act
      const run = await cli('import', file, '--data-dir', dataDir);
      const listed = await cli('list', '--json', '--data-dir', dataDir);

      // Assess
      expect(run.code, run.err).toBe(0);
      expect(run.out).toContain('mobile numbers: 1 of 2 users who may sign in; without: bob@corp.test');
      expect(run.out).toContain('break-glass accounts: none in local mode (its sign-in reads the directory directly)');
      expect(JSON.parse(listed.out)).toMatchObject([{ mailbox: 'alice@corp.test', mobile: '+491701234567' }, { mailbox: 'bob@corp.test' }]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
