// The resend job store on dynalite and AWS's DynamoDB Local on 127.0.0.1 (two clients
// on one table): the ResendJobStore contract (test/support/resend-jobs-contract.ts),
// also run here on the in-memory reference.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe } from 'vitest';
import { makeDynamoDbClient } from '../../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbResendJobs } from '../../../../../lambdas/adapters/aws/dynamodb-resend-jobs.ts';
import { createMessageTable } from '../../../../../lambdas/adapters/aws/message-table.ts';
import { type DynamoDbServer, startDynalite, startDynamoDbLocal } from '../../../../support/dynamodb-servers.ts';
import { MemoryResendJobs } from '../../../../support/memory-resend.ts';
import { describeResendJobsContract, type StoreUnderTest } from '../../../../support/resend-jobs-contract.ts';

describeResendJobsContract('MemoryResendJobs', async () => {
  const store = new MemoryResendJobs();
  return { store, other: store };
});

async function freshStores(endpoint: string): Promise<StoreUnderTest> {
  const client = makeDynamoDbClient(endpoint);
  const otherClient = makeDynamoDbClient(endpoint);
  const tableName = `jobs-${randomUUID()}`;
  await createMessageTable(client, tableName);
  return {
    store: new DynamoDbResendJobs({ client, tableName }),
    other: new DynamoDbResendJobs({ client: otherClient, tableName }),
    cleanup: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
      otherClient.destroy();
    },
  };
}

for (const [name, start] of [
  ['dynalite', () => startDynalite()],
  ['DynamoDB Local', () => startDynamoDbLocal()],
] as const) {
  describe(`DynamoDbResendJobs on ${name}`, () => {
    let server: DynamoDbServer | undefined;
    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await server?.stop();
    });
    describeResendJobsContract(name, () => freshStores(server?.endpoint ?? 'http://127.0.0.1:1'));
  });
}
