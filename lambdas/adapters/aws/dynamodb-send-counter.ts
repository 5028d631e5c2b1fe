// Send counters on the message table: one SENDCOUNT#<mailbox> / <window> item per user
// and window. An add is one UpdateItem with ADD and a condition on the counts before it,
// so DynamoDB applies it atomically or not at all and concurrent sends cannot together
// pass a limit ("Condition expressions … atomic counters", DynamoDB developer guide:
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.AtomicCounters).
// The item expires by the table's TTL a day after its window.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import type { SendCounter, SendWindowCount } from '../../ports/send-counter.ts';
import { type DynamoTable, ignoringConditionFailure, isConditionFailure, openTable } from './dynamodb-toolkit.ts';

export class DynamoDbSendCounter implements SendCounter {
  private readonly table: DynamoTable;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.table = openTable(options.client, options.tableName);
  }

  async add(count: SendWindowCount, recipients: number): Promise<boolean> {
    // The condition treats a missing item as 0, so an add larger than the limit is refused here.
    if (count.maxMessages < 1 || recipients > count.maxRecipients) return false;
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: keys.sendCount(count.mailbox, count.window),
          UpdateExpression: 'ADD #messages :one, #recipients :recipients SET #type = :type, #expiresAt = :expiresAt',
          // Absent counts are 0: a new window's item passes when the add alone fits.
          ConditionExpression:
            '(attribute_not_exists(#messages) OR #messages <= :messagesBefore) AND (attribute_not_exists(#recipients) OR #recipients <= :recipientsBefore)',
          ExpressionAttributeNames: {
            '#messages': 'messages',
            '#recipients': 'recipients',
            '#type': 'type',
            '#expiresAt': MESSAGE_TABLE.ttlAttribute,
          },
          ExpressionAttributeValues: {
            ':one': 1,
            ':recipients': recipients,
            ':type': 'send-count',
            ':expiresAt': Math.floor(count.expiresAt.getTime() / 1000),
            ':messagesBefore': count.maxMessages - 1,
            ':recipientsBefore': count.maxRecipients - recipients,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async subtract(mailbox: string, window: string, recipients: number): Promise<void> {
    await ignoringConditionFailure(
      this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: keys.sendCount(mailbox, window),
          UpdateExpression: 'ADD #messages :minusOne, #recipients :minusRecipients',
          // Never create an item with negative counts (one that expired meanwhile).
          ConditionExpression: 'attribute_exists(#messages)',
          ExpressionAttributeNames: { '#messages': 'messages', '#recipients': 'recipients' },
          ExpressionAttributeValues: { ':minusOne': -1, ':minusRecipients': -recipients },
        }),
      ),
    );
  }
}
