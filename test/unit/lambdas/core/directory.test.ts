// The directory's core: normal form of users, conflict checks, the sync plan (users
// by stable id, addresses set / moved / removed) and syncDirectory's guarantees —
// the source is read completely before anything is written, a run that dies while
// writing is repaired by the next one, mass removals and concurrent runs are refused.
import { describe, expect, it } from 'vitest';
import {
  canSignIn,
  checkDirectory,
  DirectoryError,
  type DirectoryUserInput,
  isEmptyPlan,
  makeDirectoryUser,
  planSync,
  syncDirectory,
} from '../../../../lambdas/core/directory.ts';
import { InvalidInputError } from '../../../../lambdas/core/errors.ts';
import type { DirectoryUser } from '../../../../lambdas/core/model.ts';
import type { DirectoryReadResult, DirectorySource } from '../../../../lambdas/ports/directory.ts';
import { MemoryDirectoryStore } from '../../../support/memory-directory-store.ts';

function user(mailbox: string, extra: Partial<DirectoryUserInput> = {}): DirectoryUser {
  return makeDirectoryUser({ id: `id-${mailbox.split('@')[0]}`, mailbox, ...extra });
}

function sourceOf(users: DirectoryUser[] | (() => Promise<DirectoryReadResult>)): DirectorySource {
  return {
    description: 'test source',
    readAll: typeof users === 'function' ? users : async () => ({ users, warnings: [] }),
  };
}

const NOW = new Date('2030-05-01T10:00:00Z');
const options = { owner: 'host-a:1', now: () => NOW };

async function storeWith(users: DirectoryUser[]): Promise<MemoryDirectoryStore> {
  const store = new MemoryDirectoryStore();
  await syncDirectory(sourceOf(users), store, { ...options, maxRemovals: Number.MAX_SAFE_INTEGER });
  store.calls.length = 0;
  return store;
}

describe('makeDirectoryUser', () => {
  it('lower-cases addresses, drops the primary and duplicates from the aliases and sorts them', () => {
    // Prepare
    const input: DirectoryUserInput = {
      id: ' guid-1 ',
      mailbox: ' Alice@Corp.Example ',
      aliases: ['Info@corp.example', 'alice@corp.example', 'b@corp.example', 'INFO@corp.example'],
    };
    // Act
    const result = makeDirectoryUser(input);
    // Assess
    expect(result).toEqual({
      id: 'guid-1',
      mailbox: 'alice@corp.example',
      displayName: 'alice@corp.example',
      aliases: ['b@corp.example', 'info@corp.example'],
      kind: 'user',
      disabled: false,
      admin: false,
    });
  });

  it.each([['no-at-sign'], ['two@@corp.example'], ['with space@corp.example'], [`${'x'.repeat(250)}@corp.example`], ['']])(
    'refuses %j as an address',
    (bad) => {
      // Prepare
      const input = { id: 'x', mailbox: 'ok@corp.example', aliases: [bad] };
      // Act
      const attempt = () => makeDirectoryUser(input);
      // Assess
      expect(attempt).toThrow(InvalidInputError);
    },
  );
});

describe('checkDirectory', () => {
  it('refuses an address that belongs to two users and names both', () => {
    // Prepare
    const users = [
      user('alice@corp.example', { aliases: ['info@corp.example'] }),
      user('bob@corp.example', { aliases: ['INFO@corp.example'] }),
    ];
    // Act
    const attempt = () => checkDirectory(users);
    // Assess
    expect(attempt).toThrow(DirectoryError);
    expect(attempt).toThrow(/info@corp\.example belongs to alice@corp\.example and bob@corp\.example/);
  });

  it("refuses one id twice and a primary address that is another user's alias", () => {
    // Prepare
    const twins = [
      makeDirectoryUser({ id: 'same', mailbox: 'a@corp.example' }),
      makeDirectoryUser({ id: 'same', mailbox: 'b@corp.example' }),
    ];
    const clash = [user('a@corp.example', { aliases: ['b@corp.example'] }), user('b@corp.example')];
    // Act
    const attempts = [() => checkDirectory(twins), () => checkDirectory(clash)];
    // Assess
    expect(attempts[0]).toThrow(/id same belongs to a@corp\.example and b@corp\.example/);
    expect(attempts[1]).toThrow(/b@corp\.example belongs to a@corp\.example and b@corp\.example/);
  });
});

describe('planSync', () => {
  it('adds every user and maps every address, the primary included, on the first run', () => {
    // Prepare
    const incoming = [user('alice@corp.example', { aliases: ['info@corp.example'] }), user('bob@corp.example')];
    // Act
    const plan = planSync([], incoming);
    // Assess
    expect(plan.users.added.map((u) => u.mailbox)).toEqual(['alice@corp.example', 'bob@corp.example']);
    expect(plan.writes.putAddresses).toEqual([
      { address: 'alice@corp.example', mailbox: 'alice@corp.example' },
      { address: 'bob@corp.example', mailbox: 'bob@corp.example' },
      { address: 'info@corp.example', mailbox: 'alice@corp.example' },
    ]);
    expect(plan.writes.putUsers).toHaveLength(2);
    expect(plan.writes.deleteAddresses).toEqual([]);
  });

  it('plans nothing when the source has not changed', () => {
    // Prepare
    const users = [user('alice@corp.example', { aliases: ['info@corp.example'], admin: true })];
    // Act
    const plan = planSync(
      users,
      users.map((u) => ({ ...u, aliases: [...u.aliases] })),
    );
    // Assess
    expect(isEmptyPlan(plan)).toBe(true);
    expect(plan.users.unchanged).toBe(1);
  });

  it('re-points an alias that moved between users and deletes nothing of it', () => {
    // Prepare
    const current = [user('alice@corp.example', { aliases: ['sales@corp.example'] }), user('bob@corp.example')];
    const incoming = [user('alice@corp.example'), user('bob@corp.example', { aliases: ['sales@corp.example'] })];
    // Act
    const plan = planSync(current, incoming);
    // Assess
    expect(plan.addresses.moved).toEqual([{ address: 'sales@corp.example', from: 'alice@corp.example', to: 'bob@corp.example' }]);
    expect(plan.writes.putAddresses).toEqual([{ address: 'sales@corp.example', mailbox: 'bob@corp.example' }]);
    expect(plan.writes.deleteAddresses).toEqual([]);
    expect(plan.users.changed.map((c) => [c.after.mailbox, c.fields])).toEqual([
      ['alice@corp.example', ['aliases']],
      ['bob@corp.example', ['aliases']],
    ]);
  });

  it('removes a user who left: their user item and every address item', () => {
    // Prepare
    const current = [user('alice@corp.example'), user('carol@corp.example', { aliases: ['c@corp.example'] })];
    // Act
    const plan = planSync(current, [user('alice@corp.example')]);
    // Assess
    expect(plan.users.removed.map((u) => u.mailbox)).toEqual(['carol@corp.example']);
    expect(plan.writes.deleteUsers).toEqual(['carol@corp.example']);
    expect(plan.writes.deleteAddresses.sort()).toEqual(['c@corp.example', 'carol@corp.example']);
  });

  it('keeps the addresses of a user who was disabled and only rewrites the user item', () => {
    // Prepare
    const current = [user('dave@corp.example', { aliases: ['d@corp.example'] })];
    const incoming = [user('dave@corp.example', { aliases: ['d@corp.example'], disabled: true })];
    // Act
    const plan = planSync(current, incoming);
    // Assess
    expect(plan.users.changed.map((c) => c.fields)).toEqual([['disabled']]);
    expect(plan.writes.putAddresses).toEqual([]);
    expect(plan.writes.deleteAddresses).toEqual([]);
    expect(plan.writes.putUsers.map((u) => u.disabled)).toEqual([true]);
  });

  it('follows a rename by stable id: the old primary stays an alias and points to the new mailbox', () => {
    // Prepare
    const current = [makeDirectoryUser({ id: 'guid-e', mailbox: 'erin.doe@corp.example', displayName: 'Erin' })];
    const incoming = [
      makeDirectoryUser({ id: 'guid-e', mailbox: 'erin.smith@corp.example', displayName: 'Erin', aliases: ['erin.doe@corp.example'] }),
    ];
    // Act
    const plan = planSync(current, incoming);
    // Assess
    expect(plan.users.added).toEqual([]);
    expect(plan.users.changed[0]?.fields).toEqual(['mailbox', 'aliases']);
    expect(plan.addresses.moved).toEqual([
      { address: 'erin.doe@corp.example', from: 'erin.doe@corp.example', to: 'erin.smith@corp.example' },
    ]);
    expect(plan.writes.deleteUsers).toEqual(['erin.doe@corp.example']);
    expect(plan.writes.putUsers.map((u) => u.mailbox)).toEqual(['erin.smith@corp.example']);
  });

  it('rewrites every address item when asked to repair an interrupted run', () => {
    // Prepare
    const users = [user('alice@corp.example', { aliases: ['info@corp.example'] })];
    // Act
    const plan = planSync(users, users, { rewriteAll: true });
    // Assess
    expect(plan.rewriteAll).toBe(true);
    expect(plan.writes.putAddresses.map((a) => a.address).sort()).toEqual(['alice@corp.example', 'info@corp.example']);
    expect(plan.writes.putUsers).toEqual([]);
  });
});

describe('canSignIn', () => {
  it('lets only enabled personal accounts sign in', () => {
    // Prepare
    const cases = [user('a@corp.example'), user('b@corp.example', { disabled: true }), user('c@corp.example', { kind: 'shared' }), null];
    // Act
    const answers = cases.map((candidate) => canSignIn(candidate));
    // Assess
    expect(answers).toEqual([true, false, false, false]);
  });
});

describe('syncDirectory', () => {
  it('writes addresses before users, inside the lease, and the store then answers userForAddress', async () => {
    // Prepare
    const store = new MemoryDirectoryStore();
    const alice = user('alice@corp.example', { aliases: ['info@corp.example'], admin: true });
    // Act
    const report = await syncDirectory(sourceOf([alice]), store, options);
    // Assess
    expect(store.calls).toEqual([
      'beginSync',
      'readState',
      'markWriting',
      'putAddresses',
      'deleteAddresses',
      'putUsers',
      'deleteUsers',
      'finishSync',
    ]);
    expect(report.plan.users.added).toHaveLength(1);
    expect(await store.userForAddress('INFO@corp.example')).toEqual(alice);
    expect(store.lease).toBeNull();
    expect(store.writing).toBe(false);
  });

  it('leaves the store untouched when the source fails (bind refused, server down)', async () => {
    // Prepare
    const store = await storeWith([user('alice@corp.example')]);
    const failing = sourceOf(async () => {
      throw new DirectoryError('DIRECTORY_BIND', 'bind failed for cn=sync: invalid credentials');
    });
    // Act
    const failure = await syncDirectory(failing, store, options).catch((error: unknown) => error);
    // Assess
    expect((failure as DirectoryError).code).toBe('DIRECTORY_BIND');
    expect(store.calls).toEqual([]);
    expect([...store.addresses.keys()]).toEqual(['alice@corp.example']);
  });

  it('refuses a source that gives one id to two users before touching the store (address clashes: directory-clashes.test.ts)', async () => {
    // Prepare
    const store = await storeWith([user('alice@corp.example')]);
    const conflicting = [
      makeDirectoryUser({ id: 'same', mailbox: 'alice@corp.example' }),
      makeDirectoryUser({ id: 'same', mailbox: 'bob@corp.example' }),
    ];
    // Act
    const failure = await syncDirectory(sourceOf(conflicting), store, options).catch((error: unknown) => error);
    // Assess
    expect((failure as DirectoryError).code).toBe('DIRECTORY_CONFLICT');
    expect(store.calls).toEqual([]);
  });

  it('changes nothing on a dry run and takes no lease', async () => {
    // Prepare
    const store = await storeWith([user('alice@corp.example')]);
    // Act
    const report = await syncDirectory(sourceOf([user('bob@corp.example')]), store, { ...options, dryRun: true });
    // Assess
    expect(report.plan.users.added.map((u) => u.mailbox)).toEqual(['bob@corp.example']);
    expect(report.plan.users.removed.map((u) => u.mailbox)).toEqual(['alice@corp.example']);
    expect(store.calls).toEqual(['readState']);
    expect([...store.users.keys()]).toEqual(['alice@corp.example']);
  });

  it('refuses to remove more users than allowed, and frees the lease without marking the store', async () => {
    // Prepare
    const everyone = Array.from({ length: 100 }, (_, i) => user(`u${i}@corp.example`));
    const store = await storeWith(everyone);
    const half = everyone.slice(0, 50);
    // Act
    const refused = await syncDirectory(sourceOf(half), store, options).catch((error: unknown) => error);
    const allowed = await syncDirectory(sourceOf(half), store, { ...options, maxRemovals: 50 });
    // Assess
    expect((refused as DirectoryError).code).toBe('DIRECTORY_MASS_REMOVAL');
    expect((refused as Error).message).toMatch(/remove 50 of 100 users \(more than 20\)/);
    expect(allowed.plan.users.removed).toHaveLength(50);
    expect(store.users.size).toBe(50);
    expect(store.calls.slice(0, 3)).toEqual(['beginSync', 'readState', 'releaseSync']);
  });

  it('refuses to run while another owner holds the lease', async () => {
    // Prepare
    const store = await storeWith([user('alice@corp.example')]);
    store.lease = { owner: 'host-b:2', until: NOW.getTime() + 60_000 };
    // Act
    const failure = await syncDirectory(sourceOf([user('bob@corp.example')]), store, options).catch((error: unknown) => error);
    // Assess
    expect((failure as DirectoryError).code).toBe('DIRECTORY_BUSY');
    expect([...store.users.keys()]).toEqual(['alice@corp.example']);
  });

  it('repairs a run that died while writing, even when the change was reverted in AD meanwhile', async () => {
    // Prepare: sales@ moves from alice to bob, and the run dies after the address items.
    const store = await storeWith([user('alice@corp.example', { aliases: ['sales@corp.example'] }), user('bob@corp.example')]);
    store.failOn = 'putUsers';
    const moved = [user('alice@corp.example'), user('bob@corp.example', { aliases: ['sales@corp.example'] })];
    const crash = await syncDirectory(sourceOf(moved), store, options).catch((error: unknown) => error);
    const halfway = store.addresses.get('sales@corp.example');
    // Act: the next run sees the move undone in AD.
    const original = [user('alice@corp.example', { aliases: ['sales@corp.example'] }), user('bob@corp.example')];
    const repair = await syncDirectory(sourceOf(original), store, options);
    // Assess
    expect((crash as Error).message).toMatch(/injected failure in putUsers/);
    expect(halfway).toBe('bob@corp.example');
    expect(repair.plan.rewriteAll).toBe(true);
    expect(store.addresses.get('sales@corp.example')).toBe('alice@corp.example');
    expect((await store.userForAddress('sales@corp.example'))?.mailbox).toBe('alice@corp.example');
    expect(store.writing).toBe(false);
  });
});

describe('contact values in the sync', () => {
  it('drops a private address at one of the directory mail domains (that mail is down) and names the user', async () => {
    // Prepare
    const store = new MemoryDirectoryStore();
    const users = [
      user('alice@corp.test', { privateEmail: 'alice@example.org', mobile: '+491701234567' }),
      user('bob@corp.test', { privateEmail: 'bob.private@Corp.Test' }),
      user('carol@corp.test', { aliases: ['carol@branch.test'], privateEmail: 'carol@branch.test' }),
    ];

    // Act
    const report = await syncDirectory(
      sourceOf(async () => ({ users, warnings: [], valueWarnings: ['erin@corp.test: the mobile number is a landline'] })),
      store,
      options,
    );

    // Assess
    const stored = (await store.readState()).users;
    expect(stored.map((u) => [u.mailbox, u.privateEmail])).toEqual([
      ['alice@corp.test', 'alice@example.org'],
      ['bob@corp.test', undefined],
      ['carol@corp.test', undefined],
    ]);
    expect(report.valueWarnings).toEqual([
      'erin@corp.test: the mobile number is a landline',
      'bob@corp.test: private address left out, it is at corp.test, one of the mail domains',
      'carol@corp.test: private address left out, it is at branch.test, one of the mail domains',
    ]);
  });

  it('reports how many users who may sign in have a mobile number, and names the others (never a number)', async () => {
    // Prepare
    const users = [
      user('alice@corp.test', { mobile: '+491701234567' }),
      user('bob@corp.test'),
      user('dave@corp.test', { mobile: '+491701234568', disabled: true }),
      user('erin@corp.test', { disabled: true }),
      user('support@corp.test', { kind: 'shared' }),
      user('aaron@corp.test'),
    ];

    // Act
    const report = await syncDirectory(sourceOf(users), new MemoryDirectoryStore(), { ...options, dryRun: true });

    // Assess
    expect(report.mobiles).toEqual({ canSignIn: 3, withMobile: 1, withoutMobile: ['aaron@corp.test', 'bob@corp.test'] });
  });
});

describe('syncDirectory beforeWrite', () => {
  it('hands the complete incoming directory over before writing, and a refusal there leaves the store untouched', async () => {
    // Prepare
    const store = await storeWith([user('alice@corp.test', { mobile: '+491701234567' })]);
    const seen: string[][] = [];
    const refuse = async (incoming: readonly DirectoryUser[]) => {
      seen.push(incoming.map((u) => u.mailbox));
      throw new DirectoryError('DIRECTORY_MASS_REMOVAL', 'refused by what follows the directory');
    };

    // Act
    const failure = await syncDirectory(sourceOf([user('alice@corp.test'), user('bob@corp.test')]), store, {
      ...options,
      beforeWrite: refuse,
    }).then(
      () => null,
      (error: unknown) => error as Error,
    );

    // Assess
    expect(failure?.message).toBe('refused by what follows the directory');
    expect(seen).toEqual([['alice@corp.test', 'bob@corp.test']]);
    expect(store.calls).not.toContain('markWriting');
    expect((await store.readState()).users.map((u) => [u.mailbox, u.mobile])).toEqual([['alice@corp.test', '+491701234567']]);
    expect(store.lease).toBeNull();
  });
});
