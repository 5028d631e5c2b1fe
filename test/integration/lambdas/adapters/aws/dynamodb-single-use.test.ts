// Single-use keys: one contract run against the in-memory reference, dynalite and AWS's
// DynamoDB Local — a key is taken once (also by two racing callers), again only after
// it expired, given back only by its owner, and its item expires by the table's TTL.
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbSingleUse } from '../../../../../lambdas/adapters/aws/dynamodb-single-use.ts';
import { MESSAGE_TABLE, messageTableKeys } from '../../../../../lambdas/contract/message-table.ts';
import type { SingleUse } from '../../../../../lambdas/ports/single-use.ts';
import { describeOnDynamoDbServers, type FreshTable, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';
import { MemorySingleUse } from '../../../../support/memory-single-use.ts';

const NOW = new Date('2030-03-01T12:00:00.000Z');
const DAY_LATER = new Date(NOW.getTime() + 86_400_000);
const atPlus = (ms: number) => new Date(NOW.getTime() + ms);

function describeSingleUseContract(name: string, make: () => Promise<{ store: SingleUse; cleanup?(): Promise<void> }>): void {
  describe(`SingleUse contract: ${name}`, () => {
    let store: SingleUse;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const made = await make();
      store = made.store;
      cleanup = made.cleanup?.bind(made);
    });
    afterEach(async () => cleanup?.());

    it('takes a key once: a second take, by anyone, is refused until it expires', async () => {
      expect(await store.isTaken('link#1', NOW)).toBe(false);
      expect(await store.take('link#1', 'a', DAY_LATER, NOW)).toBe(true);
      expect(await store.isTaken('link#1', NOW)).toBe(true);
      expect(await store.take('link#1', 'b', DAY_LATER, atPlus(1000))).toBe(false);
      expect(await store.take('link#1', 'a', DAY_LATER, atPlus(1000))).toBe(false);
      expect(await store.take('link#2', 'b', DAY_LATER, NOW)).toBe(true);
    });

    it('lets exactly one of many racing callers take a key', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.take('race', `owner-${i}`, DAY_LATER, NOW)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('frees a key when it expires', async () => {
      await store.take('episode', 'a', atPlus(60_000), NOW);
      expect(await store.isTaken('episode', atPlus(59_000))).toBe(true);
      expect(await store.isTaken('episode', atPlus(60_000))).toBe(false);
      expect(await store.take('episode', 'b', atPlus(120_000), atPlus(60_000))).toBe(true);
    });

    it('gives a key back only for its owner', async () => {
      await store.take('k', 'a', DAY_LATER, NOW);
      await store.giveBack('k', 'b');
      expect(await store.isTaken('k', NOW)).toBe(true);
      await store.giveBack('k', 'a');
      expect(await store.isTaken('k', NOW)).toBe(false);
      await store.giveBack('never-taken', 'a');
    });
  });
}

describeSingleUseContract('in memory', async () => ({ store: new MemorySingleUse() }));

describeOnDynamoDbServers('DynamoDbSingleUse', (_server, endpoint) => {
  let table: FreshTable;
  describeSingleUseContract('DynamoDB', async () => {
    table = await freshMessageTable(endpoint(), 'single-use');
    return { store: new DynamoDbSingleUse(table), cleanup: () => table.cleanup() };
  });

  describe('the item', () => {
    it('expires by the table TTL attribute at the key expiry', async () => {
      const fresh = await freshMessageTable(endpoint(), 'single-use-item');
      try {
        await new DynamoDbSingleUse(fresh).take('link#x', 'a', DAY_LATER, NOW);
        const doc = DynamoDBDocumentClient.from(fresh.client);
        const { Item } = await doc.send(new GetCommand({ TableName: fresh.tableName, Key: messageTableKeys.singleUse('link#x') }));
        expect(Item?.[MESSAGE_TABLE.ttlAttribute]).toBe(DAY_LATER.getTime() / 1000);
      } finally {
        await fresh.cleanup();
      }
    });
  });
});
