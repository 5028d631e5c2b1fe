// Send counters: one contract run against the in-memory reference, dynalite and AWS's
// DynamoDB Local — adds stay within both maxima (also when many sends race), a subtract
// makes room again, windows and mailboxes count apart, and the item expires by TTL.
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbSendCounter } from '../../../../../lambdas/adapters/aws/dynamodb-send-counter.ts';
import { MESSAGE_TABLE, messageTableKeys } from '../../../../../lambdas/contract/message-table.ts';
import type { SendCounter, SendWindowCount } from '../../../../../lambdas/ports/send-counter.ts';
import { describeOnDynamoDbServers, type FreshTable, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';
import { MemorySendCounter } from '../../../../support/memory-send-counter.ts';

const EXPIRES = new Date('2030-03-02T13:00:00.000Z');
const window = (overrides: Partial<SendWindowCount> = {}): SendWindowCount => ({
  mailbox: 'alice@corp.test',
  window: 'H#2030-03-01T12',
  maxMessages: 3,
  maxRecipients: 250,
  expiresAt: EXPIRES,
  ...overrides,
});

function describeSendCounterContract(name: string, make: () => Promise<{ counter: SendCounter; cleanup?(): Promise<void> }>): void {
  describe(`SendCounter contract: ${name}`, () => {
    let counter: SendCounter;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const made = await make();
      counter = made.counter;
      cleanup = made.cleanup?.bind(made);
    });
    afterEach(async () => cleanup?.());

    it('counts messages up to their maximum', async () => {
      const added = [];
      for (let i = 0; i < 4; i++) added.push(await counter.add(window(), 1));
      expect(added).toEqual([true, true, true, false]);
    });

    it('counts recipients up to their maximum, and a refused add counts nothing', async () => {
      expect(await counter.add(window(), 100)).toBe(true);
      expect(await counter.add(window(), 100)).toBe(true);
      expect(await counter.add(window(), 100)).toBe(false);
      expect(await counter.add(window(), 50)).toBe(true);
      expect(await counter.add(window(), 1)).toBe(false);
    });

    it('refuses one add larger than the maximum, also in a new window', async () => {
      expect(await counter.add(window(), 251)).toBe(false);
      expect(await counter.add(window({ maxMessages: 0 }), 1)).toBe(false);
      expect(await counter.add(window(), 250)).toBe(true);
    });

    it('lets racing adds together reach the maximum and no further', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => counter.add(window({ maxMessages: 30 }), 100)));
      expect(results.filter(Boolean)).toHaveLength(2);
    });

    it('makes room again when an add is taken back', async () => {
      await counter.add(window(), 200);
      expect(await counter.add(window(), 100)).toBe(false);
      await counter.subtract('alice@corp.test', 'H#2030-03-01T12', 200);
      expect(await counter.add(window(), 100)).toBe(true);
      await counter.subtract('alice@corp.test', 'H#never', 5);
      expect(await counter.add(window({ window: 'H#never' }), 250)).toBe(true);
    });

    it('counts each mailbox and each window apart', async () => {
      expect(await counter.add(window(), 250)).toBe(true);
      expect(await counter.add(window({ mailbox: 'bob@corp.test' }), 250)).toBe(true);
      expect(await counter.add(window({ window: 'H#2030-03-01T13' }), 250)).toBe(true);
      expect(await counter.add(window(), 1)).toBe(false);
    });
  });
}

describeSendCounterContract('in memory', async () => ({ counter: new MemorySendCounter() }));

describeOnDynamoDbServers('DynamoDbSendCounter', (_server, endpoint) => {
  let table: FreshTable;
  describeSendCounterContract('DynamoDB', async () => {
    table = await freshMessageTable(endpoint(), 'send-counter');
    return { counter: new DynamoDbSendCounter(table), cleanup: () => table.cleanup() };
  });

  it('keeps the counts in a SENDCOUNT# item that expires by the table TTL', async () => {
    const fresh = await freshMessageTable(endpoint(), 'send-counter-item');
    try {
      await new DynamoDbSendCounter(fresh).add(window(), 7);
      const doc = DynamoDBDocumentClient.from(fresh.client);
      const key = messageTableKeys.sendCount('alice@corp.test', 'H#2030-03-01T12');
      const { Item } = await doc.send(new GetCommand({ TableName: fresh.tableName, Key: key }));
      expect(key.pk).toBe('SENDCOUNT#alice@corp.test');
      expect(Item).toMatchObject({ messages: 1, recipients: 7, [MESSAGE_TABLE.ttlAttribute]: EXPIRES.getTime() / 1000 });
    } finally {
      await fresh.cleanup();
    }
  });
});
