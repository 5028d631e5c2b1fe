// The session store: one contract run against the in-memory reference, dynalite and
// AWS's DynamoDB Local — a session reads back as created, sign-out sticks, an expired
// or unknown session is none, and signing out an unknown id creates nothing.
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { expect, it } from 'vitest';
import { DynamoDbSessionStore } from '../../../../../lambdas/adapters/aws/dynamodb-session-store.ts';
import { MESSAGE_TABLE } from '../../../../../lambdas/contract/message-table.ts';
import { describeOnDynamoDbServers, type FreshTable, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';
import { MemorySessionStore } from '../../../../support/memory-session-store.ts';
import { describeSessionStoreContract, SESSION } from '../../../../support/session-store-contract.ts';

describeSessionStoreContract('MemorySessionStore', async () => ({ store: new MemorySessionStore() }));

async function freshStore(endpoint: string): Promise<FreshTable & { store: DynamoDbSessionStore }> {
  const table = await freshMessageTable(endpoint, 'sessions');
  return { ...table, store: new DynamoDbSessionStore({ client: table.client, tableName: table.tableName }) };
}

describeOnDynamoDbServers('DynamoDbSessionStore', (name, endpoint) => {
  describeSessionStoreContract(name, () => freshStore(endpoint()));

  it('writes the session item with the table TTL set to the session expiry, so DynamoDB deletes it', async () => {
    const table = await freshStore(endpoint());
    try {
      await table.store.create(SESSION);

      const { Item: item } = await DynamoDBDocumentClient.from(table.client).send(
        new GetCommand({ TableName: table.tableName, Key: { pk: `SESSION#${SESSION.id}`, sk: 'SESSION' } }),
      );

      expect(item?.[MESSAGE_TABLE.ttlAttribute]).toBe(SESSION.expiresAt);
    } finally {
      await table.cleanup();
    }
  });
});
