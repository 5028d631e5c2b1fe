// The Cognito adapter of the break-glass accounts, through the real SDK client against
// the fake AWS server speaking Cognito's JSON 1.1 (cognito-users-fake.ts): paging past
// 60 users, federated users never listed or touched, accounts created without an
// invitation and confirmed with a password nobody gets, attributes set verified, and a
// delete of an account that is gone counted as done.
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CognitoBreakGlassAccounts, LIST_USERS_PAGE } from '../../../../../lambdas/adapters/aws/cognito-break-glass-accounts.ts';
import { DIRECTORY_ID_CLAIM } from '../../../../../lambdas/contract/sign-in.ts';
import { syncBreakGlassAccounts } from '../../../../../lambdas/core/break-glass-accounts.ts';
import { makeDirectoryUser } from '../../../../../lambdas/core/directory.ts';
import { type FakeAws, startFakeAws } from '../../../../support/cli-deployed-aws-fakes.ts';
import type { FakeCognitoUser } from '../../../../support/cognito-users-fake.ts';

const POOL = 'eu-central-1_TestPool1';
const ATTRIBUTES = { email: 'alice@corp.test', phoneNumber: '+491701234567', name: 'Alice Example', directoryId: 'guid-alice' };

describe('CognitoBreakGlassAccounts', () => {
  let aws: FakeAws;
  let client: CognitoIdentityProviderClient;
  let pool: Map<string, FakeCognitoUser>;
  let accounts: CognitoBreakGlassAccounts;

  beforeAll(async () => {
    aws = await startFakeAws();
    client = new CognitoIdentityProviderClient({
      region: 'eu-central-1',
      endpoint: aws.endpoint,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' },
    });
  });
  afterAll(async () => {
    client?.destroy();
    await aws?.close();
  });
  beforeEach(() => {
    pool = aws.doctor.cognitoUsers.addPool(POOL);
    accounts = new CognitoBreakGlassAccounts(client, POOL, 'eu-central-1');
    aws.requests.length = 0;
  });

  const cognitoCalls = () => aws.requests.filter((request) => request.service === 'cognito');

  it('creates an account without an invitation, with verified address and number and the directory id, and confirms it', async () => {
    // Act
    await accounts.create('alice@corp.test', ATTRIBUTES);

    // Assess
    const created = pool.get('alice@corp.test')!;
    expect(created).toMatchObject({ UserStatus: 'CONFIRMED', Enabled: true, passwordSet: true, messageAction: 'SUPPRESS' });
    expect(created.Attributes).toMatchObject({
      email: 'alice@corp.test',
      email_verified: 'true',
      phone_number: '+491701234567',
      phone_number_verified: 'true',
      name: 'Alice Example',
      [DIRECTORY_ID_CLAIM]: 'guid-alice',
    });
    const calls = cognitoCalls();
    expect(calls.map((call) => call.action)).toEqual(['AdminCreateUser', 'AdminSetUserPassword']);
    expect(calls[0]!.params).not.toHaveProperty('TemporaryPassword');
    expect(calls[1]!.params).toMatchObject({ Permanent: true });
    const password = String(calls[1]!.params.Password);
    expect(password.length).toBeGreaterThanOrEqual(64);
    await accounts.confirm('alice@corp.test');
    expect(String(cognitoCalls()[2]!.params.Password)).not.toBe(password);
  });

  it('lists every native account across pages of at most 60 and leaves federated users out', async () => {
    // Prepare
    for (let i = 0; i < 130; i += 1) {
      await accounts.create(`user${i}@corp.test`, { ...ATTRIBUTES, email: `user${i}@corp.test`, directoryId: `guid-${i}` });
    }
    pool.set('adfs_bob@corp.test', {
      Username: 'ADFS_bob@corp.test',
      Attributes: { email: 'bob@corp.test', [DIRECTORY_ID_CLAIM]: 'guid-bob' },
      Enabled: true,
      UserStatus: 'EXTERNAL_PROVIDER',
      passwordSet: false,
    });
    aws.requests.length = 0;

    // Act
    const listed = await accounts.list();

    // Assess
    expect(listed).toHaveLength(130);
    expect(listed.some((account) => account.username.startsWith('ADFS_'))).toBe(false);
    const pages = cognitoCalls().filter((call) => call.action === 'ListUsers');
    expect(pages).toHaveLength(3);
    expect(pages.every((call) => call.params.Limit === LIST_USERS_PAGE)).toBe(true);
    expect(listed.find((account) => account.username === 'user7@corp.test')).toEqual({
      username: 'user7@corp.test',
      directoryId: 'guid-7',
      email: 'user7@corp.test',
      emailVerified: true,
      phoneNumber: '+491701234567',
      phoneNumberVerified: true,
      name: 'Alice Example',
      enabled: true,
      confirmed: true,
    });
  });

  it('updates attributes, disables and enables, deletes, and takes a delete of a gone account as done', async () => {
    // Prepare
    await accounts.create('alice@corp.test', ATTRIBUTES);

    // Act
    await accounts.update('alice@corp.test', { ...ATTRIBUTES, phoneNumber: '+491709999999', name: 'Alice Neu' });
    await accounts.setEnabled('alice@corp.test', false);
    const disabled = (await accounts.list())[0];
    await accounts.setEnabled('alice@corp.test', true);
    const enabled = (await accounts.list())[0];
    await accounts.delete('alice@corp.test');
    await accounts.delete('alice@corp.test');

    // Assess
    expect(disabled).toMatchObject({ enabled: false, phoneNumber: '+491709999999', name: 'Alice Neu' });
    expect(enabled?.enabled).toBe(true);
    expect(pool.size).toBe(0);
  });

  it('shows an account whose run stopped before the password as unconfirmed, and a refused number as the error Cognito gives', async () => {
    // Prepare
    aws.doctor.cognitoUsers.failNext.set('AdminSetUserPassword alice@corp.test', {
      type: 'NotAuthorizedException',
      message: 'not authorized to perform: cognito-idp:AdminSetUserPassword',
    });

    // Act
    const failure = await accounts.create('alice@corp.test', ATTRIBUTES).catch((error: unknown) => error as Error);
    const listed = await accounts.list();
    const refused = await accounts
      .update('alice@corp.test', { ...ATTRIBUTES, phoneNumber: '+49 170' })
      .catch((error: unknown) => error as Error);

    // Assess
    expect(failure?.name).toBe('NotAuthorizedException');
    expect(listed[0]?.confirmed).toBe(false);
    expect(refused?.name).toBe('InvalidParameterException');
  });

  it('keeps the pool in step with a directory through the core, twice, without touching a federated user or an admin', async () => {
    // Prepare
    pool.set('adfs_bob@corp.test', {
      Username: 'ADFS_bob@corp.test',
      Attributes: { email: 'bob@corp.test' },
      Enabled: true,
      UserStatus: 'EXTERNAL_PROVIDER',
      passwordSet: false,
    });
    pool.set('admin@corp.test', {
      Username: 'admin@corp.test',
      Attributes: { email: 'admin@corp.test' },
      Enabled: true,
      UserStatus: 'CONFIRMED',
      passwordSet: true,
    });
    const users = [
      makeDirectoryUser({ id: 'guid-alice', mailbox: 'alice@corp.test', mobile: '+491701234567' }),
      makeDirectoryUser({ id: 'guid-bob', mailbox: 'bob@corp.test', mobile: '+491701234568', disabled: true }),
      makeDirectoryUser({ id: 'guid-admin', mailbox: 'admin@corp.test', mobile: '+491701234569' }),
    ];

    // Act
    const first = await syncBreakGlassAccounts(users, accounts);
    const second = await syncBreakGlassAccounts(users, accounts);

    // Assess
    expect(first.counts).toMatchObject({ create: 1, delete: 0 });
    expect(first.plan.warnings).toHaveLength(1);
    expect(second.plan.changes).toEqual([]);
    expect([...pool.keys()].sort()).toEqual(['adfs_bob@corp.test', 'admin@corp.test', 'alice@corp.test']);
    const touched = cognitoCalls()
      .filter((call) => call.action !== 'ListUsers')
      .map((call) => String(call.params.Username));
    expect(new Set(touched)).toEqual(new Set(['alice@corp.test']));
  });
});
