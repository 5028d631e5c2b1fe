// The once-gate on the message table: one ONCE#<key> item per gate, taken with a
// conditional put. Gates expire (TTL) gateRetentionSeconds after they were acquired;
// redelivery of the same SQS message cannot happen that late.
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys } from '../../contract/message-table.ts';
import { DEFAULT_GATE_RETENTION_SECONDS, type LeaseResult, type OnceGate } from '../../ports/once-gate.ts';
import { type DynamoTable, getItem, ignoringConditionFailure, isConditionFailure } from './dynamodb-toolkit.ts';

const ACQUIRE_TRIES = 5;

export class DynamoDbOnceGate implements OnceGate {
  constructor(
    private readonly table: DynamoTable,
    private readonly gateRetentionSeconds = DEFAULT_GATE_RETENTION_SECONDS,
  ) {}

  async acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    const nowMs = now.getTime();
    const nowSeconds = Math.floor(nowMs / 1000);
    const gateKey = keys.gate(key);
    for (let round = 0; round < ACQUIRE_TRIES; round += 1) {
      try {
        await this.table.doc.send(
          new PutCommand({
            TableName: this.table.name,
            Item: {
              ...gateKey,
              type: 'gate',
              gate: key,
              owner,
              until: nowMs + leaseMs,
              done: false,
              expiresAt: nowSeconds + this.gateRetentionSeconds,
            },
            ConditionExpression:
              'attribute_not_exists(#pk) OR #expiresAt <= :nowSeconds OR (#done = :false AND (#until <= :nowMs OR #owner = :owner))',
            ExpressionAttributeNames: {
              '#pk': 'pk',
              '#expiresAt': 'expiresAt',
              '#done': 'done',
              '#until': 'until',
              '#owner': 'owner',
            },
            ExpressionAttributeValues: { ':nowSeconds': nowSeconds, ':false': false, ':nowMs': nowMs, ':owner': owner },
          }),
        );
        return 'acquired';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      // dynalite cannot return the item that failed the condition, so read it.
      const gate = await getItem(this.table, gateKey);
      if (!gate || Number(gate.expiresAt) <= nowSeconds) continue;
      if (gate.done === true) return 'done';
      if (gate.owner !== owner && Number(gate.until) > nowMs) return 'busy';
      // It changed between our write and our read (released or expired): try again.
    }
    return 'busy';
  }

  async completeOnce(key: string, owner: string): Promise<void> {
    await ignoringConditionFailure(
      this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: keys.gate(key),
          UpdateExpression: 'SET #done = :true',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#done': 'done', '#owner': 'owner' },
          ExpressionAttributeValues: { ':true': true, ':owner': owner },
        }),
      ),
    );
  }

  async releaseOnce(key: string, owner: string): Promise<void> {
    await ignoringConditionFailure(
      this.table.doc.send(
        new DeleteCommand({
          TableName: this.table.name,
          Key: keys.gate(key),
          ConditionExpression: '#owner = :owner AND #done = :false',
          ExpressionAttributeNames: { '#done': 'done', '#owner': 'owner' },
          ExpressionAttributeValues: { ':false': false, ':owner': owner },
        }),
      ),
    );
  }
}
