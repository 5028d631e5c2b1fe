// Single-use keys: one contract run against the in-memory reference, dynalite and AWS's
// DynamoDB Local — a key is taken once (also by two racing callers), again only after
// it expired, given back only by its owner, and its item expires by the table's TTL.
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbSingleUse } from '../../../../../lambdas/adapters/aws/dynamodb-single-use.ts';
import { MESSAGE_TABLE, messageTableKeys } from '../../../../../lambdas/contract/message-table.ts';
import { describeOnDynamoDbServers, type FreshTable, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';
import { MemorySingleUse } from '../../../../support/memory-single-use.ts';
import { DAY_LATER, describeSingleUseContract, NOW } from '../../../../support/single-use-contract.ts';

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
