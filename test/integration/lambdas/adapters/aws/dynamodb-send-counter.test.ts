// Send counters: one contract run against the in-memory reference, dynalite and AWS's
// DynamoDB Local — adds stay within both maxima (also when many sends race), a subtract
// makes room again, windows and mailboxes count apart, and the item expires by TTL.
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { expect, it } from 'vitest';
import { DynamoDbSendCounter } from '../../../../../lambdas/adapters/aws/dynamodb-send-counter.ts';
import { MESSAGE_TABLE, messageTableKeys } from '../../../../../lambdas/contract/message-table.ts';
import { describeOnDynamoDbServers, type FreshTable, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';
import { MemorySendCounter } from '../../../../support/memory-send-counter.ts';
import { describeSendCounterContract, EXPIRES, window } from '../../../../support/send-counter-contract.ts';

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
