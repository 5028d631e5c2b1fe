// The break-glass accounts the directory sync keeps: who gets one (enabled personal
// accounts with a mobile number), what changes when AD changes (number, name, disabled,
// gone, renamed), that accounts the sync did not create (the break-glass admins) are
// never touched, that a run stopped halfway is finished by the next, and the guard
// against deleting everyone after a wrong attribute name.
import { describe, expect, it } from 'vitest';
import { planBreakGlassAccounts, syncBreakGlassAccounts } from '../../../../lambdas/core/break-glass-accounts.ts';
import { DirectoryError, type DirectoryUserInput, makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import type { DirectoryUser } from '../../../../lambdas/core/model.ts';
import { MemoryBreakGlassAccounts } from '../../../support/memory-break-glass-accounts.ts';

function user(mailbox: string, extra: Partial<DirectoryUserInput> = {}): DirectoryUser {
  const name = mailbox.split('@')[0]!;
  return makeDirectoryUser({ id: `guid-${name}`, mailbox, displayName: name, mobile: '+491701234567', ...extra });
}

async function poolAfter(users: DirectoryUser[]): Promise<MemoryBreakGlassAccounts> {
  const pool = new MemoryBreakGlassAccounts();
  const report = await syncBreakGlassAccounts(users, pool);
  expect(report.failures).toEqual([]);
  pool.calls.length = 0;
  return pool;
}

describe('syncBreakGlassAccounts', () => {
  it('creates a confirmed, enabled account for each enabled personal user with a number, and none for the rest', async () => {
    // Prepare
    const pool = new MemoryBreakGlassAccounts();
    const users = [
      user('alice@corp.test', { displayName: 'Alice Example' }),
      user('bob@corp.test', { mobile: null }),
      user('carol@corp.test', { disabled: true }),
      user('support@corp.test', { kind: 'shared' }),
    ];

    // Act
    const report = await syncBreakGlassAccounts(users, pool);

    // Assess
    expect(report.failures).toEqual([]);
    expect(report.counts).toEqual({ create: 1, confirm: 0, update: 0, enable: 0, disable: 0, delete: 0 });
    expect([...pool.accounts.values()]).toEqual([
      {
        username: 'alice@corp.test',
        directoryId: 'guid-alice',
        email: 'alice@corp.test',
        emailVerified: true,
        phoneNumber: '+491701234567',
        phoneNumberVerified: true,
        name: 'Alice Example',
        enabled: true,
        confirmed: true,
      },
    ]);
  });

  it('changes nothing on a second run with the same directory', async () => {
    // Prepare
    const users = [user('alice@corp.test'), user('bob@corp.test', { disabled: true })];
    const pool = await poolAfter(users);

    // Act
    const report = await syncBreakGlassAccounts(users, pool);

    // Assess
    expect(report.plan.changes).toEqual([]);
    expect(report.plan.unchanged).toBe(1);
    expect(pool.calls).toEqual(['list']);
  });

  it('follows the directory: a new number or name is updated, a disabled user disabled, enabled again, and gone or numberless users deleted', async () => {
    // Prepare
    const pool = await poolAfter([user('alice@corp.test'), user('bob@corp.test'), user('carol@corp.test'), user('dave@corp.test')]);
    await syncBreakGlassAccounts(
      [user('alice@corp.test'), user('bob@corp.test'), user('carol@corp.test', { disabled: true }), user('dave@corp.test')],
      pool,
    );
    pool.calls.length = 0;
    const next = [
      user('alice@corp.test', { mobile: '+491709999999', displayName: 'Alice Neu' }),
      user('bob@corp.test', { mobile: null }),
      user('carol@corp.test'),
    ];

    // Act
    const report = await syncBreakGlassAccounts(next, pool);

    // Assess
    expect(report.plan.changes.map((change) => [change.action, change.username])).toEqual([
      ['delete', 'bob@corp.test'],
      ['delete', 'dave@corp.test'],
      ['update', 'alice@corp.test'],
      ['enable', 'carol@corp.test'],
    ]);
    expect(report.plan.changes.find((change) => change.action === 'update')).toMatchObject({ fields: ['phoneNumber', 'name'] });
    expect(pool.accounts.get('alice@corp.test')).toMatchObject({ phoneNumber: '+491709999999', name: 'Alice Neu' });
    expect(pool.accounts.get('carol@corp.test')?.enabled).toBe(true);
    expect([...pool.accounts.keys()].sort()).toEqual(['alice@corp.test', 'carol@corp.test']);
  });

  it('disables the account of a user disabled in AD (kept for when they come back) and deletes that of a shared mailbox', async () => {
    // Prepare
    const pool = await poolAfter([user('alice@corp.test'), user('team@corp.test')]);

    // Act
    await syncBreakGlassAccounts([user('alice@corp.test', { disabled: true }), user('team@corp.test', { kind: 'shared' })], pool);

    // Assess
    expect(pool.calls).toEqual(['list', 'delete team@corp.test', 'disable alice@corp.test']);
    expect(pool.accounts.get('alice@corp.test')?.enabled).toBe(false);
  });

  it('puts back an address, number or id a signed-in user changed on their own account, and marks them verified again', async () => {
    // Prepare
    const pool = await poolAfter([user('alice@corp.test'), user('bob@corp.test')]);
    Object.assign(pool.accounts.get('alice@corp.test')!, { email: 'bob@corp.test', emailVerified: false, directoryId: 'guid-alice' });
    Object.assign(pool.accounts.get('bob@corp.test')!, { phoneNumberVerified: false });

    // Act
    const report = await syncBreakGlassAccounts([user('alice@corp.test'), user('bob@corp.test')], pool);

    // Assess
    expect(report.plan.changes).toMatchObject([
      { action: 'update', username: 'alice@corp.test', fields: ['email'] },
      { action: 'update', username: 'bob@corp.test', fields: ['phoneNumber'] },
    ]);
    expect(pool.accounts.get('alice@corp.test')).toMatchObject({ email: 'alice@corp.test', emailVerified: true });
    expect(pool.accounts.get('bob@corp.test')?.phoneNumberVerified).toBe(true);
  });

  it('replaces the account of a renamed user (same id, new address): the old username is deleted first, then the new one created', async () => {
    // Prepare
    const pool = await poolAfter([user('alice@corp.test')]);

    // Act
    await syncBreakGlassAccounts([user('alice.smith@corp.test', { id: 'guid-alice' })], pool);

    // Assess
    expect(pool.calls).toEqual(['list', 'delete alice@corp.test', 'create alice.smith@corp.test', 'confirm alice.smith@corp.test']);
    expect(pool.accounts.get('alice.smith@corp.test')?.directoryId).toBe('guid-alice');
  });

  it('never touches an account it did not create (a break-glass admin), even one named like a directory user, and says so', async () => {
    // Prepare
    const pool = new MemoryBreakGlassAccounts();
    pool.seed({ username: 'admin@corp.test', phoneNumber: '+491705555555', phoneNumberVerified: true, name: 'Break-glass admin' });
    pool.seed({ username: 'root@corp.test', enabled: false });
    const before = structuredClone([...pool.accounts.values()]);

    // Act
    const report = await syncBreakGlassAccounts([user('admin@corp.test', { disabled: false }), user('alice@corp.test')], pool);
    const emptied = await syncBreakGlassAccounts([], pool, { maxRemovals: 100 });

    // Assess
    expect(report.plan.foreign).toBe(2);
    expect(report.plan.warnings).toEqual([
      "admin@corp.test: no break-glass account, the pool has an account of that name the sync did not create (an admin's?)",
    ]);
    expect(pool.calls.filter((call) => /(admin|root)@/.test(call))).toEqual([]);
    expect(emptied.plan.changes).toEqual([{ action: 'delete', username: 'alice@corp.test', why: 'gone' }]);
    expect([...pool.accounts.values()]).toEqual(before);
  });

  it('finishes a run that stopped between creating and confirming an account, and goes on past a change the pool refuses', async () => {
    // Prepare
    const pool = new MemoryBreakGlassAccounts();
    pool.failures.add('confirm alice@corp.test');
    pool.failures.add('create bob@corp.test');
    const users = [user('alice@corp.test'), user('bob@corp.test'), user('carol@corp.test')];

    // Act
    const first = await syncBreakGlassAccounts(users, pool);
    const second = await syncBreakGlassAccounts(users, pool);

    // Assess
    expect(first.failures.map(({ action, username }) => `${action} ${username}`)).toEqual([
      'create alice@corp.test',
      'create bob@corp.test',
    ]);
    expect(first.counts.create).toBe(1);
    expect(second.plan.changes.map((change) => `${change.action} ${change.username}`)).toEqual([
      'create bob@corp.test',
      'confirm alice@corp.test',
    ]);
    expect(second.failures).toEqual([]);
    expect([...pool.accounts.values()].every((account) => account.confirmed)).toBe(true);
    expect(pool.accounts.size).toBe(3);
  });

  it('refuses to delete more accounts than allowed (a wrong mobile attribute reads no numbers) and changes none', async () => {
    // Prepare
    const everyone = Array.from({ length: 30 }, (_, i) => user(`user${i}@corp.test`));
    const pool = await poolAfter(everyone);
    const numberless = everyone.map((u) => user(u.mailbox, { mobile: null }));

    // Act
    const refused = await syncBreakGlassAccounts(numberless, pool).catch((error: unknown) => error);
    const calls = [...pool.calls];
    const allowed = await syncBreakGlassAccounts(numberless, pool, { maxRemovals: 30 });

    // Assess
    expect(refused).toBeInstanceOf(DirectoryError);
    expect((refused as DirectoryError).code).toBe('DIRECTORY_MASS_REMOVAL');
    expect((refused as Error).message).toMatch(/delete 30 of 30 break-glass accounts \(more than 10\)/);
    expect(calls).toEqual(['list']);
    expect(allowed.counts.delete).toBe(30);
    expect(pool.accounts.size).toBe(0);
  });

  it('plans without changing anything on a dry run', async () => {
    // Prepare
    const pool = await poolAfter([user('alice@corp.test')]);

    // Act
    const report = await syncBreakGlassAccounts([user('bob@corp.test')], pool, { dryRun: true });

    // Assess
    expect(report.dryRun).toBe(true);
    expect(report.counts).toMatchObject({ create: 1, delete: 1 });
    expect(pool.calls).toEqual(['list']);
    expect([...pool.accounts.keys()]).toEqual(['alice@corp.test']);
  });
});

describe('planBreakGlassAccounts', () => {
  it('keeps one account per user when two carry the same id, preferring the one under the current address', () => {
    // Prepare
    const base = {
      emailVerified: true,
      phoneNumber: '+491701234567',
      phoneNumberVerified: true,
      name: 'alice',
      enabled: true,
      confirmed: true,
    };
    const accounts = [
      { ...base, username: 'a.old@corp.test', directoryId: 'guid-alice', email: 'a.old@corp.test' },
      { ...base, username: 'alice@corp.test', directoryId: 'guid-alice', email: 'alice@corp.test' },
    ];

    // Act
    const plan = planBreakGlassAccounts([user('alice@corp.test')], accounts);

    // Assess
    expect(plan.changes).toEqual([{ action: 'delete', username: 'a.old@corp.test', why: 'duplicate' }]);
    expect(plan.unchanged).toBe(1);
  });
});
