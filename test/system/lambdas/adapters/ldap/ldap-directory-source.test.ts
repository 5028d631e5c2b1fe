// The LDAP directory source against a real OpenLDAP slapd carrying AD's attributes
// (test/support/slapd.ts), 1,500+ users so that AD's 1,000-entry limit matters, and
// then whole syncs from slapd into the DynamoDB store on dynalite: a user removed, an
// alias moved, a user disabled, an admin demoted between two syncs; wrong credentials
// and an unreachable server leave every item of the table exactly as it was.
import { DeleteTableCommand, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { Attribute, Change, Client, SizeLimitExceededError } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../../lambdas/adapters/aws/message-table.ts';
import {
  LdapDirectorySource,
  type LdapDirectorySourceOptions,
  normalizeDn,
} from '../../../../../lambdas/adapters/ldap/ldap-directory-source.ts';
import { canSignIn, DirectoryError, syncDirectory } from '../../../../../lambdas/core/directory.ts';
import type { DirectoryUser } from '../../../../../lambdas/core/model.ts';
import {
  ADMIN_GROUP_DN,
  bulkName,
  CYCLE,
  EXPECTED_ADMINS,
  GROUPS,
  groupEntries,
  guidOf,
  ldif,
  PEOPLE,
  SUFFIX,
  SYNC_DN,
  SYNC_PASSWORD,
  userDn,
} from '../../../../fixtures/directory/corp-directory.ts';
import { type DynamoDbServer, startDynalite } from '../../../../support/dynamodb-servers.ts';
import { startSilentServer } from '../../../../support/silent-server.ts';
import { type Slapd, startSlapd } from '../../../../support/slapd.ts';
import { freePort } from '../../../../support/wait.ts';

const BULK = 1_500;
/** The special users that have an SMTP address and match the default filter. */
const SPECIAL_WITH_ADDRESS = ['alice', 'bob', 'carol', 'Support', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];

let slapd: Slapd;

beforeAll(async () => {
  slapd = await startSlapd({ suffix: SUFFIX, ldif: ldif(BULK), tls: true });
  const root = await slapd.rootClient();
  try {
    for (const group of groupEntries()) await root.add(group.dn, group.attributes);
    await root.modify(
      CYCLE.group,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [CYCLE.member] }) }),
    );
  } finally {
    await root.unbind();
  }
});

afterAll(async () => {
  await slapd?.stop();
});

function source(overrides: Partial<LdapDirectorySourceOptions> = {}): LdapDirectorySource {
  return new LdapDirectorySource({
    url: slapd.url,
    bindDn: SYNC_DN,
    bindPassword: async () => SYNC_PASSWORD,
    baseDn: PEOPLE,
    adminGroupDn: ADMIN_GROUP_DN,
    connectTimeoutMs: 2_000,
    operationTimeoutMs: 10_000,
    ...overrides,
  });
}

function byMailbox(users: DirectoryUser[]): Map<string, DirectoryUser> {
  return new Map(users.map((user) => [user.mailbox, user]));
}

async function failureOf(promise: Promise<unknown>): Promise<DirectoryError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(outcome instanceof DirectoryError)) throw new Error(`expected a DirectoryError, got ${String(outcome)}`);
  return outcome;
}

describe('LdapDirectorySource against slapd', () => {
  it('reads every user with a mail address through a paged search, past the 1,000-entry limit', async () => {
    // Prepare
    const ldap = source();
    // Act
    const { users, warnings } = await ldap.readAll();
    // Assess
    expect(users).toHaveLength(BULK + SPECIAL_WITH_ADDRESS.length);
    expect(new Set(users.map((user) => user.id)).size).toBe(users.length);
    expect(warnings).toEqual([`${userDn('dave')}: no SMTP address (neither proxyAddresses SMTP: nor mail)`]);
    expect(users.some((user) => user.mailbox === 'printer@corp.test')).toBe(false);
  });

  it('is really limited to 1,000 entries without paging, as AD is', async () => {
    // Prepare
    const client = new Client({ url: slapd.url, timeout: 10_000 });
    await client.bind(SYNC_DN, SYNC_PASSWORD);
    // Act
    const failure = await client
      .search(PEOPLE, { scope: 'sub', filter: '(objectClass=user)', attributes: ['mail'] })
      .then(
        () => null,
        (error: unknown) => error,
      )
      .finally(() => client.unbind());
    // Assess
    expect(failure).toBeInstanceOf(SizeLimitExceededError);
  });

  it("maps AD's attributes: SMTP:/smtp: addresses, mail, objectGUID, disabled accounts, shared mailboxes", async () => {
    // Prepare
    const ldap = source();
    // Act
    const users = byMailbox((await ldap.readAll()).users);
    // Assess
    expect(users.get('alice@corp.test')).toEqual({
      id: guidOf('alice').toString('hex'),
      mailbox: 'alice@corp.test',
      displayName: 'Alice Example',
      aliases: ['a.example@corp.test', 'info@corp.test'],
      kind: 'user',
      disabled: false,
      admin: false,
    });
    expect(users.get('bob@corp.test')).toMatchObject({ aliases: [], disabled: false, kind: 'user' });
    expect(users.get('carol@corp.test')).toMatchObject({ aliases: ['c.gone@corp.test'], disabled: true, kind: 'user' });
    expect(users.get('support@corp.test')).toMatchObject({
      displayName: 'Support',
      aliases: ['help@corp.test'],
      disabled: true,
      kind: 'shared',
    });
    expect(users.get('erin.smith@corp.test')).toMatchObject({ aliases: ['erin@corp.test'] });
    expect(users.get('judy@corp.test')?.id).toBe(`dn:${normalizeDn(userDn('judy'))}`);
    expect(users.get(`${bulkName(1234)}@corp.test`)).toMatchObject({
      id: guidOf(bulkName(1234)).toString('hex'),
      aliases: [`${bulkName(1234)}.alias@corp.test`],
    });
  });

  it('marks the members of the admin group as admins through nested groups, a cycle included', async () => {
    // Prepare
    const detected = source();
    const walking = source({ adminStrategy: 'walk' });
    // Act
    const [auto, walk] = await Promise.all([detected.readAll(), walking.readAll()]);
    // Assess
    const admins = (users: DirectoryUser[]) =>
      users
        .filter((user) => user.admin)
        .map((user) => user.mailbox)
        .sort();
    expect(admins(auto.users)).toEqual(EXPECTED_ADMINS);
    expect(admins(walk.users)).toEqual(EXPECTED_ADMINS);
  });

  it("finds no admins with AD's in-chain rule on OpenLDAP, which is why the strategy is detected", async () => {
    // Prepare
    const inChain = source({ adminStrategy: 'in-chain' });
    // Act
    const { users } = await inChain.readAll();
    // Assess
    expect(users.filter((user) => user.admin)).toEqual([]);
  });

  it('takes a configured filter, and proxyAddresses match without regard to case', async () => {
    // Prepare
    const filtered = source({ filter: '(&(objectClass=user)(proxyAddresses=smtp:INFO@CORP.TEST))' });
    // Act
    const { users } = await filtered.readAll();
    // Assess
    expect(users.map((user) => user.mailbox)).toEqual(['alice@corp.test']);
  });

  it('reads over ldaps:// and over StartTLS with the CA given, and refuses a certificate it cannot verify', async () => {
    // Prepare
    const ldaps = source({ url: slapd.ldapsUrl!, ca: slapd.caPem! });
    const startTls = source({ startTls: true, ca: slapd.caPem! });
    const byName = source({ url: slapd.ldapsUrl!, ca: slapd.caPem!, tlsServername: 'localhost' });
    const unknownCa = source({ url: slapd.ldapsUrl! });
    const unknownCaStartTls = source({ startTls: true });
    const wrongName = source({ url: slapd.ldapsUrl!, ca: slapd.caPem!, tlsServername: 'dc1.corp.test' });
    const wrongNameStartTls = source({ startTls: true, ca: slapd.caPem!, tlsServername: 'dc1.corp.test' });
    // Act
    const read = await Promise.all([ldaps.readAll(), startTls.readAll(), byName.readAll()]);
    const refused = await Promise.all([unknownCa, unknownCaStartTls, wrongName, wrongNameStartTls].map((tls) => failureOf(tls.readAll())));
    // Assess
    for (const { users } of read) expect(users).toHaveLength(BULK + SPECIAL_WITH_ADDRESS.length);
    expect(refused.map((failure) => failure.code)).toEqual(['DIRECTORY_TLS', 'DIRECTORY_TLS', 'DIRECTORY_TLS', 'DIRECTORY_TLS']);
    expect(refused[0]!.message).toMatch(new RegExp(`^TLS with ${slapd.ldapsUrl} failed: self-signed certificate in certificate chain`));
    expect(refused[1]!.message).toMatch(new RegExp(`^TLS with ${slapd.url} failed: self-signed certificate in certificate chain`));
    expect(refused[2]!.message).toMatch(/Host: dc1\.corp\.test\. is not in the cert's altnames/);
    expect(refused[3]!.message).toMatch(/Host: dc1\.corp\.test\. is not in the cert's altnames/);
  });

  it('says "bind failed … invalid credentials" for a wrong password', async () => {
    // Prepare
    const wrong = source({ bindPassword: async () => 'not-the-password' });
    // Act
    const failure = await failureOf(wrong.readAll());
    // Assess
    expect(failure.code).toBe('DIRECTORY_BIND');
    expect(failure.message).toBe(`bind failed for ${SYNC_DN}: invalid credentials`);
  });

  it('says "cannot reach" for a closed port and for a server that never answers', async () => {
    // Prepare
    const closedPort = await freePort();
    const silent = await startSilentServer();
    const refused = source({ url: `ldap://127.0.0.1:${closedPort}` });
    const mute = source({ url: `ldap://127.0.0.1:${silent.port}`, operationTimeoutMs: 300 });
    try {
      // Act
      const started = performance.now();
      const [refusal, silence] = await Promise.all([failureOf(refused.readAll()), failureOf(mute.readAll())]);
      const seconds = (performance.now() - started) / 1000;
      // Assess
      expect(refusal.code).toBe('DIRECTORY_UNREACHABLE');
      expect(refusal.message).toBe(`cannot reach ldap://127.0.0.1:${closedPort}: connection refused`);
      expect(silence.code).toBe('DIRECTORY_UNREACHABLE');
      expect(silence.message).toBe(`cannot reach ldap://127.0.0.1:${silent.port}: no answer within 0.3 s (bind)`);
      expect(seconds).toBeLessThan(5);
    } finally {
      await silent.close();
    }
  });

  it('names a base DN or an admin group that does not exist', async () => {
    // Prepare
    const noBase = source({ baseDn: `ou=Nowhere,${SUFFIX}` });
    const noGroup = source({ adminGroupDn: `cn=Gone,${GROUPS}` });
    // Act
    const [base, group] = await Promise.all([failureOf(noBase.readAll()), failureOf(noGroup.readAll())]);
    // Assess
    expect(base.message).toBe(`the base DN ou=Nowhere,${SUFFIX} does not exist on ${slapd.url}`);
    expect(group.message).toBe(`the admin group cn=Gone,${GROUPS} does not exist on ${slapd.url}`);
  });
});

describe('directory sync from slapd into DynamoDB (dynalite)', () => {
  let dynamo: DynamoDbServer;
  let client: DynamoDBClient;
  let store: DynamoDbDirectoryStore;
  let index: DynamoDbMessageIndex;
  const tableName = 'directory-sync';
  const sync = (ldap = source()) => syncDirectory(ldap, store, { owner: 'test:1', now: () => new Date() });

  /** Every item of the table, for "exactly as it was". */
  async function snapshot(): Promise<string[]> {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: tableName, ...(start && { ExclusiveStartKey: start as never }) }));
      for (const item of page.Items ?? []) items.push(JSON.stringify(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1))));
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort();
  }

  beforeAll(async () => {
    dynamo = await startDynalite();
    client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, tableName);
    store = new DynamoDbDirectoryStore({ client, tableName });
    index = new DynamoDbMessageIndex({ client, tableName });
  });

  afterAll(async () => {
    await client?.send(new DeleteTableCommand({ TableName: tableName }));
    client?.destroy();
    await dynamo?.stop();
  });

  it('fills the address map and the users on the first sync', async () => {
    // Prepare (an empty table)
    // Act
    const report = await sync();
    // Assess
    expect(report.plan.users.added).toHaveLength(BULK + SPECIAL_WITH_ADDRESS.length);
    expect(await index.mailboxFor('INFO@corp.test')).toBe('alice@corp.test');
    expect(await index.mailboxFor('help@corp.test')).toBe('support@corp.test');
    expect(await index.mailboxFor('erin@corp.test')).toBe('erin.smith@corp.test');
    const carol = await store.userForAddress('c.gone@corp.test');
    expect(carol).toMatchObject({ mailbox: 'carol@corp.test', disabled: true });
    expect(canSignIn(carol)).toBe(false);
    expect(canSignIn(await store.userForAddress('support@corp.test'))).toBe(false);
    expect(await store.userForAddress('heidi@corp.test')).toMatchObject({ admin: true });
    expect(canSignIn(await store.userForAddress('alice@corp.test'))).toBe(true);
  });

  it('follows AD between two syncs: a user removed, an alias moved, a user disabled, an admin demoted', async () => {
    // Prepare
    const root = await slapd.rootClient();
    try {
      await root.del(userDn('ivan'));
      await root.modify(
        userDn('alice'),
        new Change({ operation: 'delete', modification: new Attribute({ type: 'proxyAddresses', values: ['smtp:info@corp.test'] }) }),
      );
      await root.modify(
        userDn('bob'),
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'proxyAddresses', values: ['SMTP:bob@corp.test', 'smtp:Info@Corp.Test'] }),
        }),
      );
      await root.modify(
        userDn('frank'),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['514'] }) }),
      );
      await root.modify(
        `cn=IT Ops,${GROUPS}`,
        new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [userDn('grace')] }) }),
      );
    } finally {
      await root.unbind();
    }
    // Act
    const report = await sync();
    // Assess
    expect(report.plan.users.removed.map((user) => user.mailbox)).toEqual(['ivan@corp.test']);
    expect(report.plan.users.changed.map((change) => [change.after.mailbox, change.fields])).toEqual([
      ['alice@corp.test', ['aliases']],
      ['bob@corp.test', ['aliases']],
      // A disabled account is never an admin (issue 16), whatever its groups.
      ['frank@corp.test', ['disabled', 'admin']],
      ['grace@corp.test', ['admin']],
    ]);
    expect(report.plan.addresses.moved).toEqual([{ address: 'info@corp.test', from: 'alice@corp.test', to: 'bob@corp.test' }]);
    expect(report.plan.addresses.removed).toEqual([{ address: 'ivan@corp.test', mailbox: 'ivan@corp.test' }]);
    expect(await index.mailboxFor('info@corp.test')).toBe('bob@corp.test');
    expect(await index.mailboxFor('ivan@corp.test')).toBeNull();
    expect(await store.userForAddress('ivan@corp.test')).toBeNull();
    expect(await store.userForAddress('frank@corp.test')).toMatchObject({ disabled: true, admin: false });
    expect(await store.userForAddress('grace@corp.test')).toMatchObject({ admin: false });
    expect(report.plan.users.unchanged).toBe(BULK + SPECIAL_WITH_ADDRESS.length - 5);
  });

  it('leaves every item exactly as it was when the bind fails or the server cannot be reached', async () => {
    // Prepare
    const before = await snapshot();
    const closedPort = await freePort();
    // Act
    const badPassword = await failureOf(sync(source({ bindPassword: async () => 'wrong' })));
    const unreachable = await failureOf(sync(source({ url: `ldap://127.0.0.1:${closedPort}` })));
    // Assess
    expect(badPassword.message).toBe(`bind failed for ${SYNC_DN}: invalid credentials`);
    expect(unreachable.message).toBe(`cannot reach ldap://127.0.0.1:${closedPort}: connection refused`);
    expect(await snapshot()).toEqual(before);
  });

  it('changes nothing when synced again without changes in AD', async () => {
    // Prepare
    const before = await snapshot();
    // Act
    const report = await sync();
    // Assess
    expect(report.plan.users.added.length + report.plan.users.changed.length + report.plan.users.removed.length).toBe(0);
    expect(report.timings.writeMs).toBe(0);
    const after = await snapshot();
    // Only the state item's lastSyncAt moves.
    expect(after.filter((item) => !item.includes('DIR#STATE'))).toEqual(before.filter((item) => !item.includes('DIR#STATE')));
  });
});
