// The message table created the way the stack creates it, for local mode, the CLI's
// embedded table and tests: the definition from the contract's key schema
// (lambdas/contract/message-table.ts), created if missing, waited for, TTL enabled.
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { MESSAGE_TABLE } from '../../contract/message-table.ts';
import { ConfigurationError } from '../../core/errors.ts';

export function messageTableDefinition(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, lookupIndex } = MESSAGE_TABLE;
  return {
    TableName: tableName,
    BillingMode: MESSAGE_TABLE.billingMode,
    AttributeDefinitions: [partitionKey, sortKey, lookupIndex.partitionKey, lookupIndex.sortKey].map((name) => ({
      AttributeName: name,
      AttributeType: 'S',
    })),
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: lookupIndex.name,
        KeySchema: [
          { AttributeName: lookupIndex.partitionKey, KeyType: 'HASH' },
          { AttributeName: lookupIndex.sortKey, KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: lookupIndex.projection.type,
          NonKeyAttributes: [...lookupIndex.projection.nonKeyAttributes],
        },
      },
    ],
  };
}

const TABLE_ACTIVE_TIMEOUT_MS = 60_000;

/**
 * Creates the table unless it exists, waits until it and its index are active,
 * and enables TTL where the server supports it (dynalite answers UnknownOperation:
 * harmless, because every read filters on expiresAt anyway).
 */
export async function createMessageTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(messageTableDefinition(tableName)));
  } catch (error) {
    if (errorName(error) !== 'ResourceInUseException') throw error;
  }
  await waitUntilActive(client, tableName);
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: MESSAGE_TABLE.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    const name = errorName(error);
    const alreadyEnabled = name === 'ValidationException' && /already enabled/i.test(String((error as Error).message));
    if (name !== 'UnknownOperationException' && !alreadyEnabled) throw error;
  }
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const index = table?.GlobalSecondaryIndexes?.find((gsi) => gsi.IndexName === MESSAGE_TABLE.lookupIndex.name);
    if (table?.TableStatus === 'ACTIVE' && !index) {
      throw new ConfigurationError(tableName, `table exists without the ${MESSAGE_TABLE.lookupIndex.name} index`);
    }
    if (table?.TableStatus === 'ACTIVE' && index?.IndexStatus === 'ACTIVE') return;
    if (Date.now() > deadline) {
      throw new ConfigurationError(tableName, `table not active after ${TABLE_ACTIVE_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function errorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : undefined;
}
