// The DirectoryStore contract, run against DynamoDB (dynalite and DynamoDB Local) and the
// embedded SQLite store: users found by any of their addresses, the address entries the
// very ones the address map (ingest's mailboxFor) reads, every user read back, the sync
// lease and writing mark, and a user who left removed with all their addresses.
import { beforeEach, describe, expect, it } from 'vitest';
import { type DirectoryError, makeDirectoryUser, syncDirectory } from '../../lambdas/core/directory.ts';
import type { DirectoryUser } from '../../lambdas/core/model.ts';
import type { AddressMap } from '../../lambdas/ports/address-map.ts';
import type { DirectorySource, DirectoryStore } from '../../lambdas/ports/directory.ts';
import { freshPerTest } from './fresh-per-test.ts';

export interface DirectoryUnderTest {
  store: DirectoryStore;
  /** The address map on the same data (what ingest, the door and the webmail read). */
  addresses: AddressMap;
  cleanup?(): Promise<void>;
}

export const NOW = new Date('2030-05-01T10:00:00Z');

export function user(mailbox: string, extra: Partial<Parameters<typeof makeDirectoryUser>[0]> = {}): DirectoryUser {
  return makeDirectoryUser({ id: `guid-${mailbox}`, mailbox, displayName: mailbox.split('@')[0], ...extra });
}

export function manyUsers(count: number, variant = 0): DirectoryUser[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `user${String(i).padStart(5, '0')}`;
    return user(`${name}@corp.test`, {
      aliases: [`${name}.alias@corp.test`, ...(i % 10 === 0 ? [`${name}.second@corp.test`] : [])],
      disabled: variant > 0 && i % 100 === 0,
      admin: i % 500 === 0,
    });
  });
}

export const sourceOf = (users: DirectoryUser[]): DirectorySource => ({
  description: 'generated users',
  readAll: async () => ({ users, warnings: [] }),
});

export const byMailbox = (a: DirectoryUser, b: DirectoryUser): number => (a.mailbox < b.mailbox ? -1 : a.mailbox > b.mailbox ? 1 : 0);

export function describeDirectoryStoreContract(name: string, make: () => Promise<DirectoryUnderTest>): void {
  describe(`DirectoryStore contract: ${name}`, () => {
    let store: DirectoryStore;
    let addresses: AddressMap;
    const current = freshPerTest(make);
    beforeEach(() => {
      ({ store, addresses } = current());
    });

    it('finds a user by any of their addresses in any case, and the address map maps those addresses to the mailbox', async () => {
      // Prepare
      const alice = user('alice@corp.test', {
        aliases: ['info@corp.test'],
        admin: true,
        mobile: '+4917012345678',
        privateEmail: 'alice@home.test',
      });
      const carol = user('carol@corp.test', { disabled: true });
      // Act
      await syncDirectory(sourceOf([alice, carol]), store, { owner: 'test:1', now: () => NOW });
      // Assess
      expect(await store.userForAddress('INFO@Corp.Test')).toEqual(alice);
      expect(await store.userForAddress('<alice@corp.test>')).toEqual(alice);
      expect(await store.userForAddress('carol@corp.test')).toEqual(carol);
      expect(await store.userForAddress('nobody@corp.test')).toBeNull();
      expect(await store.userForAddress('not an address')).toBeNull();
      expect(await addresses.mailboxFor('Info@corp.test')).toBe('alice@corp.test');
      expect(await addresses.mailboxFor('alice@corp.test')).toBe('alice@corp.test');
    });

    it('says it has synced only once a sync has finished (a run that died while writing does not count)', async () => {
      // Prepare
      const fresh = await store.hasSynced();
      await store.beginSync('test:1', NOW, 60_000);
      await store.markWriting('test:1');
      await store.releaseSync('test:1');
      const died = await store.hasSynced();
      // Act
      await syncDirectory(sourceOf([user('alice@corp.test')]), store, { owner: 'test:2', now: () => NOW });
      // Assess
      expect([fresh, died, await store.hasSynced()]).toEqual([false, false, true]);
    });

    it('does not hand out a user for an address that something else mapped to their mailbox', async () => {
      // Prepare
      await syncDirectory(sourceOf([user('alice@corp.test')]), store, { owner: 'test:1', now: () => NOW });
      await store.putAddresses([{ address: 'legacy@corp.test', mailbox: 'alice@corp.test' }]);
      // Act
      const found = await store.userForAddress('legacy@corp.test');
      // Assess
      expect(found).toBeNull();
      expect(await addresses.mailboxFor('legacy@corp.test')).toBe('alice@corp.test');
    });

    it('reads every user back, sorted by mailbox', async () => {
      // Prepare
      const users = manyUsers(300);
      await store.putUsers(users);
      // Act
      const state = await store.readState();
      // Assess
      expect(state.users).toEqual([...users].sort(byMailbox));
      expect(state.interrupted).toBe(false);
    });

    it('gives the lease to one owner at a time, takes over an expired one, and remembers a run that died while writing', async () => {
      // Prepare
      await store.beginSync('host-a:1', NOW, 60_000);
      await store.markWriting('host-a:1');
      // Act
      const busy = await store.beginSync('host-b:2', new Date(NOW.getTime() + 30_000), 60_000).catch((error: unknown) => error);
      const takeover = await store.beginSync('host-b:2', new Date(NOW.getTime() + 61_000), 60_000);
      const staleFinish = await store.finishSync('host-a:1', NOW).catch((error: unknown) => error);
      const during = await store.readState();
      await store.finishSync('host-b:2', NOW);
      const after = await store.readState();
      // Assess
      expect((busy as DirectoryError).code).toBe('DIRECTORY_BUSY');
      expect((busy as Error).message).toMatch(/another directory sync is running \(host-a:1, lease until 2030-05-01T10:01:00.000Z\)/);
      expect(takeover.interrupted).toBe(true);
      expect((staleFinish as DirectoryError).code).toBe('DIRECTORY_BUSY');
      expect(during.interrupted).toBe(true);
      expect(after.interrupted).toBe(false);
    });

    it('removes a user who left: their user item and every one of their address items', async () => {
      // Prepare
      const carol = user('carol@corp.test', { aliases: ['c@corp.test', 'sales@corp.test'] });
      await syncDirectory(sourceOf([user('alice@corp.test'), carol]), store, { owner: 'test:1', now: () => NOW });
      // Act
      await syncDirectory(sourceOf([user('alice@corp.test', { aliases: ['sales@corp.test'] })]), store, {
        owner: 'test:1',
        now: () => NOW,
      });
      // Assess
      expect(await store.userForAddress('carol@corp.test')).toBeNull();
      expect(await addresses.mailboxFor('c@corp.test')).toBeNull();
      expect(await addresses.mailboxFor('carol@corp.test')).toBeNull();
      expect(await addresses.mailboxFor('sales@corp.test')).toBe('alice@corp.test');
      expect((await store.readState()).users.map((u) => u.mailbox)).toEqual(['alice@corp.test']);
    });
  });
}
