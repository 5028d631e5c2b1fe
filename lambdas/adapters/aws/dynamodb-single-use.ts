// Single-use keys on the message table: one USED#<key> item each, taken with a
// conditional put that succeeds only when no live item is there. The item carries the
// key's expiry as the table's TTL attribute; TTL deletes late, so the condition and
// reads compare the expiry themselves.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import type { SingleUse } from '../../ports/single-use.ts';
import { type DynamoTable, getItem, ignoringConditionFailure, isConditionFailure, openTable } from './dynamodb-toolkit.ts';

export class DynamoDbSingleUse implements SingleUse {
  private readonly table: DynamoTable;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.table = openTable(options.client, options.tableName);
  }

  async take(key: string, owner: string, expiresAt: Date, now: Date): Promise<boolean> {
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { ...keys.singleUse(key), type: 'single-use', owner, [MESSAGE_TABLE.ttlAttribute]: seconds(expiresAt) },
          ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
          ExpressionAttributeNames: { '#pk': MESSAGE_TABLE.partitionKey, '#expiresAt': MESSAGE_TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':now': seconds(now) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async isTaken(key: string, now: Date): Promise<boolean> {
    const item = await getItem(this.table, keys.singleUse(key));
    return item !== undefined && Number(item[MESSAGE_TABLE.ttlAttribute]) > seconds(now);
  }

  async giveBack(key: string, owner: string): Promise<void> {
    await ignoringConditionFailure(
      this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.name,
          Key: keys.singleUse(key),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
