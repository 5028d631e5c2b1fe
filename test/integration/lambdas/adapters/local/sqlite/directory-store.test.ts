// The synced directory in the embedded SQLite store: the DirectoryStore contract with the
// address map on the same file, the directory surviving a reopen, a sync in one connection
// seen by another (the CLI's `directory sync` beside the running stack) and its lease held
// against it, and a 10,000-user sync measured.
import { describe, expect, it } from 'vitest';
import { SqliteAddressMap } from '../../../../../../lambdas/adapters/local/sqlite/address-map.ts';
import { SqliteDirectoryStore } from '../../../../../../lambdas/adapters/local/sqlite/directory-store.ts';
import { type DirectoryError, syncDirectory } from '../../../../../../lambdas/core/directory.ts';
import { describeDirectoryStoreContract, manyUsers, NOW, sourceOf, user } from '../../../../../support/directory-store-contract.ts';
import { freshPerTest } from '../../../../../support/fresh-per-test.ts';
import { freshSqliteFile } from '../../../../../support/sqlite-store.ts';

describeDirectoryStoreContract('SQLite', async () => {
  const file = freshSqliteFile();
  const db = file.open();
  return { store: new SqliteDirectoryStore(db), addresses: new SqliteAddressMap(db), cleanup: file.cleanup };
});

describe('SqliteDirectoryStore on one file', () => {
  const file = freshPerTest(freshSqliteFile);

  it('keeps the directory and that it has synced when the file is closed and opened again', async () => {
    // Prepare
    const db = file().open();
    const alice = user('alice@corp.test', { aliases: ['info@corp.test'] });
    await syncDirectory(sourceOf([alice]), new SqliteDirectoryStore(db), { owner: 'test:1', now: () => NOW });
    db.close();
    // Act
    const again = file().open();
    const store = new SqliteDirectoryStore(again);
    // Assess
    expect(await store.hasSynced()).toBe(true);
    expect(await store.readState()).toEqual({ users: [alice], interrupted: false });
    expect(await new SqliteAddressMap(again).mailboxFor('info@corp.test')).toBe('alice@corp.test');
  });

  it("sees a sync another connection made, and refuses its own sync while the other's lease runs", async () => {
    // Prepare
    const stack = file().open();
    const stackStore = new SqliteDirectoryStore(stack);
    const cli = new SqliteDirectoryStore(file().open());
    await cli.beginSync('cli:1', NOW, 60_000);
    const syncedBefore = await stackStore.hasSynced();
    // Act
    const busy = await new SqliteDirectoryStore(stack).beginSync('stack:2', NOW, 60_000).catch((error: unknown) => error);
    await syncDirectory(sourceOf([user('alice@corp.test', { aliases: ['sales@corp.test'] })]), cli, { owner: 'cli:1', now: () => NOW });
    // Assess
    expect([syncedBefore, await stackStore.hasSynced()]).toEqual([false, true]);
    expect((busy as DirectoryError).code).toBe('DIRECTORY_BUSY');
    expect(await new SqliteAddressMap(stack).mailboxFor('sales@corp.test')).toBe('alice@corp.test');
    expect((await new SqliteDirectoryStore(stack).userForAddress('sales@corp.test'))?.mailbox).toBe('alice@corp.test');
  });

  it('syncs 10,000 users in seconds (one transaction per write batch)', async () => {
    // Prepare
    const store = new SqliteDirectoryStore(file().open());
    const first = manyUsers(10_000);
    // Act
    const started = performance.now();
    const created = await syncDirectory(sourceOf(first), store, { owner: 'test:1', now: () => NOW });
    const initialSeconds = (performance.now() - started) / 1000;
    const again = performance.now();
    const changed = await syncDirectory(sourceOf(manyUsers(10_000, 1)), store, { owner: 'test:1', now: () => NOW });
    const changedSeconds = (performance.now() - again) / 1000;
    // Assess
    const items = created.plan.writes.putUsers.length + created.plan.writes.putAddresses.length;
    console.log(
      `[directory SQLite] 10,000 users, ${items} rows: first sync ${initialSeconds.toFixed(2)} s; 100 users changed ${changedSeconds.toFixed(2)} s`,
    );
    expect(items).toBe(10_000 + 21_000);
    expect(changed.plan.users.changed).toHaveLength(100);
    expect(initialSeconds).toBeLessThan(20);
    expect(await store.userForAddress('user09900.alias@corp.test')).toMatchObject({ mailbox: 'user09900@corp.test', disabled: true });
  });
});
