// Pending-recipient counts on the message table: one PENDING#<shard> / <sesMessageId> item
// per message, written whole with PutItem (the latest count wins, so a repeated write is
// harmless and nothing drifts) and expiring with the message. The sum is one Query per
// shard, each item a few bytes (keys, the count, expiresAt).
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, MESSAGE_TABLE, PENDING_PREFIX, PENDING_SHARDS } from '../../contract/message-table.ts';
import type { PendingRecipients } from '../../ports/pending-recipients.ts';
import { type DynamoTable, openTable, queryLive } from './dynamodb-toolkit.ts';

const shardOf = (sesMessageId: string): number => createHash('sha256').update(sesMessageId, 'utf8').digest()[0]! % PENDING_SHARDS;

export class DynamoDbPendingRecipients implements PendingRecipients {
  private readonly table: DynamoTable;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.table = openTable(options.client, options.tableName);
  }

  async setPendingRecipients(sesMessageId: string, count: number, expiresAt: number): Promise<void> {
    await this.table.doc.send(
      new PutCommand({
        TableName: this.table.name,
        // A count of 0 is written too (not deleted): one action, and the TTL removes it.
        Item: {
          ...keys.pendingRecipients(shardOf(sesMessageId), sesMessageId),
          recipients: count,
          [MESSAGE_TABLE.ttlAttribute]: expiresAt,
        },
      }),
    );
  }

  async countPendingRecipients(now: Date): Promise<number> {
    const sums = await Promise.all(
      Array.from({ length: PENDING_SHARDS }, async (_, shard) => {
        let sum = 0;
        const pages = queryLive(
          this.table,
          {
            KeyConditionExpression: 'pk = :pk',
            ProjectionExpression: '#recipients, #expiresAt',
            ExpressionAttributeNames: { '#recipients': 'recipients' },
            ExpressionAttributeValues: { ':pk': `${PENDING_PREFIX}${shard.toString(16)}` },
          },
          now,
        );
        for await (const items of pages) for (const item of items) sum += Number(item.recipients) || 0;
        return sum;
      }),
    );
    return sums.reduce((total, sum) => total + sum, 0);
  }
}
