// The frame of a DynamoDB adapter's tests: one describe per server (dynalite and
// DynamoDB Local, each started once for it) and a fresh message table per test.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe } from 'vitest';
import { makeDynamoDbClient } from '../../lambdas/adapters/aws/dynamodb-client.ts';
import { createMessageTable } from '../../lambdas/adapters/aws/message-table.ts';
import { type DynamoDbServer, startDynalite, startDynamoDbLocal } from './dynamodb-servers.ts';

export interface FreshTable {
  client: DynamoDBClient;
  tableName: string;
  cleanup(): Promise<void>;
}

/** A new message table (the real key schema) under a random name on `endpoint`. */
export async function freshMessageTable(endpoint: string, prefix: string): Promise<FreshTable> {
  const client = makeDynamoDbClient(endpoint);
  const tableName = `${prefix}-${randomUUID()}`;
  await createMessageTable(client, tableName);
  return {
    client,
    tableName,
    cleanup: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

/** `body` inside `<title> on <server>` for each server; `endpoint()` is valid inside tests. */
export function describeOnDynamoDbServers(title: string, body: (server: string, endpoint: () => string) => void): void {
  for (const [name, start] of [
    ['dynalite', () => startDynalite()],
    ['DynamoDB Local', () => startDynamoDbLocal()],
  ] as const) {
    describe(`${title} on ${name}`, () => {
      let server: DynamoDbServer | undefined;
      beforeAll(async () => {
        server = await start();
      });
      afterAll(async () => {
        await server?.stop();
      });
      body(name, () => server?.endpoint ?? 'http://127.0.0.1:1');
    });
  }
}
