// The directory store on real DynamoDB-compatible servers (DynamoDB Local and dynalite
// on 127.0.0.1): user items read back complete across shards and pages, the address
// items are the very ones the message index's mailboxFor reads (ingest), the lease
// and the writing mark, throttled batches retried, and a 10,000-user sync measured.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DIRECTORY_SHARDS, DynamoDbDirectoryStore } from '../../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../../lambdas/adapters/aws/message-table.ts';
import { type DirectoryError, makeDirectoryUser, syncDirectory } from '../../../../../lambdas/core/directory.ts';
import type { DirectoryUser } from '../../../../../lambdas/core/model.ts';
import type { DirectorySource } from '../../../../../lambdas/ports/directory.ts';
import { type DynamoDbServer, startDynalite, startDynamoDbLocal } from '../../../../support/dynamodb-servers.ts';

interface Table {
  client: DynamoDBClient;
  store: DynamoDbDirectoryStore;
  index: DynamoDbMessageIndex;
  cleanup(): Promise<void>;
}

async function freshTable(endpoint: string, options: { queryPageSize?: number } = {}): Promise<Table> {
  const client = makeDynamoDbClient(endpoint);
  const tableName = `directory-${randomUUID()}`;
  await createMessageTable(client, tableName);
  return {
    client,
    store: new DynamoDbDirectoryStore({ client, tableName, ...options }),
    index: new DynamoDbMessageIndex({ client, tableName }),
    cleanup: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

/** Counts requests by command name, to show a read is a handful of Queries and writes are batches. */
function countRequests(client: DynamoDBClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: `countRequests-${randomUUID()}` },
  );
  return counts;
}

/** The first `times` BatchWriteItem calls send only half their items; the server never sees the rest, which comes back as UnprocessedItems (as when DynamoDB throttles). */
function throttleBatches(client: DynamoDBClient, times: number): { throttled: number } {
  const state = { throttled: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchWriteItemCommand' || state.throttled >= times) return next(args);
      state.throttled += 1;
      const input = args.input as { RequestItems: Record<string, unknown[]> };
      const [table, requests] = Object.entries(input.RequestItems)[0]!;
      const half = Math.ceil(requests.length / 2);
      const result = await next({ ...args, input: { ...input, RequestItems: { [table]: requests.slice(0, half) } } });
      (result.output as { UnprocessedItems?: Record<string, unknown[]> }).UnprocessedItems = { [table]: requests.slice(half) };
      return result;
    },
    { step: 'initialize', name: 'throttleBatches', priority: 'low' },
  );
  return state;
}

function user(mailbox: string, extra: Partial<Parameters<typeof makeDirectoryUser>[0]> = {}): DirectoryUser {
  return makeDirectoryUser({ id: `guid-${mailbox}`, mailbox, displayName: mailbox.split('@')[0], ...extra });
}

function manyUsers(count: number, variant = 0): DirectoryUser[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `user${String(i).padStart(5, '0')}`;
    return user(`${name}@corp.test`, {
      aliases: [`${name}.alias@corp.test`, ...(i % 10 === 0 ? [`${name}.second@corp.test`] : [])],
      disabled: variant > 0 && i % 100 === 0,
      admin: i % 500 === 0,
    });
  });
}

const sourceOf = (users: DirectoryUser[]): DirectorySource => ({
  description: 'generated users',
  readAll: async () => ({ users, warnings: [] }),
});
const NOW = new Date('2030-05-01T10:00:00Z');

function describeStore(name: string, start: () => Promise<DynamoDbServer>, measure: boolean): void {
  describe(`DynamoDbDirectoryStore on ${name}`, () => {
    let server: DynamoDbServer;
    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('finds a user by any of their addresses in any case, and the message index maps those addresses to the mailbox', async () => {
      // Prepare
      const table = await freshTable(server.endpoint);
      try {
        const alice = user('alice@corp.test', { aliases: ['info@corp.test'], admin: true });
        const carol = user('carol@corp.test', { disabled: true });
        // Act
        await syncDirectory(sourceOf([alice, carol]), table.store, { owner: 'test:1', now: () => NOW });
        // Assess
        expect(await table.store.userForAddress('INFO@Corp.Test')).toEqual(alice);
        expect(await table.store.userForAddress('<alice@corp.test>')).toEqual(alice);
        expect(await table.store.userForAddress('carol@corp.test')).toEqual(carol);
        expect(await table.store.userForAddress('nobody@corp.test')).toBeNull();
        expect(await table.store.userForAddress('not an address')).toBeNull();
        expect(await table.index.mailboxFor('Info@corp.test')).toBe('alice@corp.test');
        expect(await table.index.mailboxFor('alice@corp.test')).toBe('alice@corp.test');
      } finally {
        await table.cleanup();
      }
    });

    it('says it has synced only once a sync has finished (a run that died while writing does not count)', async () => {
      // Prepare
      const table = await freshTable(server.endpoint);
      try {
        const fresh = await table.store.hasSynced();
        await table.store.beginSync('test:1', NOW, 60_000);
        await table.store.markWriting('test:1');
        await table.store.releaseSync('test:1');
        const died = await table.store.hasSynced();
        // Act
        await syncDirectory(sourceOf([user('alice@corp.test')]), table.store, { owner: 'test:2', now: () => NOW });
        // Assess
        expect([fresh, died, await table.store.hasSynced()]).toEqual([false, false, true]);
      } finally {
        await table.cleanup();
      }
    });

    it('does not hand out a user for an address that something else mapped to their mailbox', async () => {
      // Prepare
      const table = await freshTable(server.endpoint);
      try {
        await syncDirectory(sourceOf([user('alice@corp.test')]), table.store, { owner: 'test:1', now: () => NOW });
        await table.store.putAddresses([{ address: 'legacy@corp.test', mailbox: 'alice@corp.test' }]);
        // Act
        const found = await table.store.userForAddress('legacy@corp.test');
        // Assess
        expect(found).toBeNull();
        expect(await table.index.mailboxFor('legacy@corp.test')).toBe('alice@corp.test');
      } finally {
        await table.cleanup();
      }
    });

    it('reads every user back across all shards and many small pages', async () => {
      // Prepare
      const table = await freshTable(server.endpoint, { queryPageSize: 3 });
      const users = manyUsers(300);
      try {
        await table.store.putUsers(users);
        const requests = countRequests(table.client);
        // Act
        const state = await table.store.readState();
        // Assess
        expect(state.users).toEqual([...users].sort((a, b) => (a.mailbox < b.mailbox ? -1 : 1)));
        expect(state.interrupted).toBe(false);
        expect(requests.get('QueryCommand')).toBeGreaterThan(DIRECTORY_SHARDS);
        expect(requests.get('GetItemCommand')).toBe(1);
      } finally {
        await table.cleanup();
      }
    });

    it('gives the lease to one owner at a time, takes over an expired one, and remembers a run that died while writing', async () => {
      // Prepare
      const table = await freshTable(server.endpoint);
      try {
        await table.store.beginSync('host-a:1', NOW, 60_000);
        await table.store.markWriting('host-a:1');
        // Act
        const busy = await table.store.beginSync('host-b:2', new Date(NOW.getTime() + 30_000), 60_000).catch((error: unknown) => error);
        const takeover = await table.store.beginSync('host-b:2', new Date(NOW.getTime() + 61_000), 60_000);
        const staleFinish = await table.store.finishSync('host-a:1', NOW).catch((error: unknown) => error);
        const during = await table.store.readState();
        await table.store.finishSync('host-b:2', NOW);
        const after = await table.store.readState();
        // Assess
        expect((busy as DirectoryError).code).toBe('DIRECTORY_BUSY');
        expect((busy as Error).message).toMatch(/another directory sync is running \(host-a:1, lease until 2030-05-01T10:01:00.000Z\)/);
        expect(takeover.interrupted).toBe(true);
        expect((staleFinish as DirectoryError).code).toBe('DIRECTORY_BUSY');
        expect(during.interrupted).toBe(true);
        expect(after.interrupted).toBe(false);
      } finally {
        await table.cleanup();
      }
    });

    it('retries the items a throttled batch left unprocessed', async () => {
      // Prepare
      const table = await freshTable(server.endpoint);
      try {
        const users = manyUsers(60);
        const throttle = throttleBatches(table.client, 4);
        // Act
        await syncDirectory(sourceOf(users), table.store, { owner: 'test:1', now: () => NOW });
        // Assess
        expect(throttle.throttled).toBe(4);
        expect((await table.store.readState()).users).toHaveLength(60);
        for (const u of users) expect(await table.index.mailboxFor(u.aliases[0]!)).toBe(u.mailbox);
      } finally {
        await table.cleanup();
      }
    });

    it('removes a user who left: their user item and every one of their address items', async () => {
      // Prepare
      const table = await freshTable(server.endpoint);
      try {
        const carol = user('carol@corp.test', { aliases: ['c@corp.test', 'sales@corp.test'] });
        await syncDirectory(sourceOf([user('alice@corp.test'), carol]), table.store, { owner: 'test:1', now: () => NOW });
        // Act
        await syncDirectory(sourceOf([user('alice@corp.test', { aliases: ['sales@corp.test'] })]), table.store, {
          owner: 'test:1',
          now: () => NOW,
        });
        // Assess
        expect(await table.store.userForAddress('carol@corp.test')).toBeNull();
        expect(await table.index.mailboxFor('c@corp.test')).toBeNull();
        expect(await table.index.mailboxFor('carol@corp.test')).toBeNull();
        expect(await table.index.mailboxFor('sales@corp.test')).toBe('alice@corp.test');
        expect((await table.store.readState()).users.map((u) => u.mailbox)).toEqual(['alice@corp.test']);
      } finally {
        await table.cleanup();
      }
    });

    if (measure) {
      it('syncs 10,000 users in seconds, with batched writes and a bounded number of reads', async () => {
        // Prepare
        const table = await freshTable(server.endpoint);
        try {
          const first = manyUsers(10_000);
          const second = manyUsers(10_000, 1);
          const requests = countRequests(table.client);
          // Act
          const initial = performance.now();
          const created = await syncDirectory(sourceOf(first), table.store, { owner: 'test:1', now: () => NOW });
          const initialSeconds = (performance.now() - initial) / 1000;
          const initialRequests = new Map(requests);
          const again = performance.now();
          const unchanged = await syncDirectory(sourceOf(first), table.store, { owner: 'test:1', now: () => NOW });
          const unchangedSeconds = (performance.now() - again) / 1000;
          const changedStart = performance.now();
          const changed = await syncDirectory(sourceOf(second), table.store, { owner: 'test:1', now: () => NOW });
          const changedSeconds = (performance.now() - changedStart) / 1000;
          // Assess
          const items = created.plan.writes.putUsers.length + created.plan.writes.putAddresses.length;
          console.log(
            `[directory ${name}] 10,000 users, ${items} items: first sync ${initialSeconds.toFixed(2)} s ` +
              `(${initialRequests.get('BatchWriteItemCommand')} BatchWriteItem, ${initialRequests.get('QueryCommand')} Query); ` +
              `unchanged ${unchangedSeconds.toFixed(2)} s; 100 users changed ${changedSeconds.toFixed(2)} s`,
          );
          expect(items).toBe(10_000 + 21_000);
          expect(initialRequests.get('BatchWriteItemCommand')).toBe(Math.ceil(21_000 / 25) + Math.ceil(10_000 / 25));
          expect(initialRequests.get('QueryCommand')).toBeLessThanOrEqual(DIRECTORY_SHARDS * 4);
          expect(initialRequests.get('GetItemCommand') ?? 0).toBeLessThanOrEqual(1);
          expect(unchanged.plan.users.unchanged).toBe(10_000);
          expect(unchanged.timings.writeMs).toBe(0);
          expect(changed.plan.users.changed).toHaveLength(100);
          expect(initialSeconds).toBeLessThan(60);
          expect(unchangedSeconds).toBeLessThan(10);
          expect(await table.store.userForAddress('user09900.alias@corp.test')).toMatchObject({
            mailbox: 'user09900@corp.test',
            disabled: true,
          });
        } finally {
          await table.cleanup();
        }
      });
    }
  });
}

describeStore('DynamoDB Local', startDynamoDbLocal, false);
describeStore('dynalite in memory', () => startDynalite(), true);
