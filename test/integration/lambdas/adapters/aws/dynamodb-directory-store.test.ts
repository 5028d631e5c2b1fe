// The directory store on real DynamoDB-compatible servers (DynamoDB Local and dynalite
// on 127.0.0.1): the DirectoryStore contract (test/support/directory-store-contract.ts)
// with small Query pages, then what is DynamoDB's own: users read with a few Queries per
// shard, throttled batches retried, and a 10,000-user sync measured.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DIRECTORY_SHARDS, DynamoDbDirectoryStore } from '../../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../../lambdas/adapters/aws/message-table.ts';
import { syncDirectory } from '../../../../../lambdas/core/directory.ts';
import { byMailbox, describeDirectoryStoreContract, manyUsers, NOW, sourceOf } from '../../../../support/directory-store-contract.ts';
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

function describeStore(name: string, start: () => Promise<DynamoDbServer>, measure: boolean): void {
  describe(`DynamoDbDirectoryStore on ${name}`, () => {
    let server: DynamoDbServer;
    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await server?.stop();
    });

    describeDirectoryStoreContract(`${name}, 3 users per query page`, async () => {
      const table = await freshTable(server.endpoint, { queryPageSize: 3 });
      return { store: table.store, addresses: table.index, cleanup: () => table.cleanup() };
    });

    it('reads the users with a few Queries per shard across many small pages and one read of the state', async () => {
      // Prepare
      const table = await freshTable(server.endpoint, { queryPageSize: 3 });
      const users = manyUsers(300);
      try {
        await table.store.putUsers(users);
        const requests = countRequests(table.client);
        // Act
        const state = await table.store.readState();
        // Assess
        expect(state.users).toEqual([...users].sort(byMailbox));
        expect(requests.get('QueryCommand')).toBeGreaterThan(DIRECTORY_SHARDS);
        expect(requests.get('GetItemCommand')).toBe(1);
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
