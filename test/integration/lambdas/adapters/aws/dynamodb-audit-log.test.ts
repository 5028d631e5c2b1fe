// The audit log on dynalite and AWS's DynamoDB Local on 127.0.0.1: the AuditLog contract
// (test/support/audit-log-contract.ts, also run on the in-memory reference here) with 3
// items per Query page, then what is DynamoDB's own: day partitions, no TTL attribute on
// the items (the table's TTL never removes them), no method to change or delete.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { createMessageTable } from '../../../../../lambdas/adapters/aws/message-table.ts';
import { MESSAGE_TABLE } from '../../../../../lambdas/contract/message-table.ts';
import { describeAuditLogContract, event, type LogUnderTest } from '../../../../support/audit-log-contract.ts';
import { type DynamoDbServer, startDynalite, startDynamoDbLocal } from '../../../../support/dynamodb-servers.ts';
import { MemoryAuditLog } from '../../../../support/memory-resend.ts';

describeAuditLogContract('MemoryAuditLog', async () => ({ log: new MemoryAuditLog() }));

async function freshLog(endpoint: string): Promise<LogUnderTest & { client: DynamoDBClient; tableName: string }> {
  const client = makeDynamoDbClient(endpoint);
  const tableName = `audit-${randomUUID()}`;
  await createMessageTable(client, tableName);
  return {
    client,
    tableName,
    log: new DynamoDbAuditLog({ client, tableName, queryPageSize: 3, budget: { requests: 25 } }),
    cleanup: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

for (const [name, start] of [
  ['dynalite', () => startDynalite()],
  ['DynamoDB Local', () => startDynamoDbLocal()],
] as const) {
  describe(`DynamoDbAuditLog on ${name}`, () => {
    let server: DynamoDbServer | undefined;
    const endpoint = () => server?.endpoint ?? 'http://127.0.0.1:1';
    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await server?.stop();
    });

    describeAuditLogContract(`${name}, 3 items per query page`, () => freshLog(endpoint()));

    it('writes audit items without the TTL attribute, in day partitions', async () => {
      // Prepare
      const table = await freshLog(endpoint());
      try {
        await table.log.append(event(0));
        // Act
        const { Items: items } = await DynamoDBDocumentClient.from(table.client).send(
          new QueryCommand({
            TableName: table.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': 'AUDIT#2030-03-01' },
          }),
        );
        // Assess
        expect(items).toHaveLength(1);
        expect(items?.[0]).not.toHaveProperty(MESSAGE_TABLE.ttlAttribute);
        expect(items?.[0]?.sk).toBe(`2030-03-01T12:00:00.000Z#${event(0).id}`);
      } finally {
        await table.cleanup?.();
      }
    });

    it('has no method that could change or delete an entry', () => {
      // Assess
      expect(
        Object.getOwnPropertyNames(DynamoDbAuditLog.prototype)
          .filter((m) => m !== 'constructor')
          .sort(),
      ).toEqual(['append', 'list']);
    });
  });
}
