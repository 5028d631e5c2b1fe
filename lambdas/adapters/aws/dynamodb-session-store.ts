// Webmail sessions in the message table: one SESSION#<id> item each, expiring by the
// table's TTL when the session does (TTL deletes late, so reads check expiresAt too).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import type { SessionStore, StoredSession } from '../../ports/session-store.ts';
import { type DynamoTable, getItem, ignoringConditionFailure, openTable } from './dynamodb-toolkit.ts';

export class DynamoDbSessionStore implements SessionStore {
  private readonly table: DynamoTable;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.table = openTable(options.client, options.tableName);
  }

  async create(session: StoredSession): Promise<void> {
    await this.table.doc.send(
      new PutCommand({
        TableName: this.table.name,
        Item: {
          ...keys.session(session.id),
          type: 'session',
          email: session.email,
          ...(session.directoryId !== undefined && { directoryId: session.directoryId }),
          tokenAdmin: session.tokenAdmin,
          ...(session.breakGlassAdmin === true && { breakGlassAdmin: true }),
          createdAt: session.createdAt,
          signedOut: session.signedOut,
          [MESSAGE_TABLE.ttlAttribute]: session.expiresAt,
        },
        // The id is 256 random bits; the condition only makes a collision an error, not a takeover.
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': MESSAGE_TABLE.partitionKey },
      }),
    );
  }

  async get(id: string, now: Date): Promise<StoredSession | null> {
    const item = await getItem(this.table, keys.session(id));
    if (!item) return null;
    const expiresAt = Number(item[MESSAGE_TABLE.ttlAttribute]);
    if (!(expiresAt > now.getTime() / 1000)) return null;
    return {
      id,
      email: String(item.email),
      ...(typeof item.directoryId === 'string' && { directoryId: item.directoryId }),
      tokenAdmin: item.tokenAdmin === true,
      ...(item.breakGlassAdmin === true && { breakGlassAdmin: true }),
      createdAt: Number(item.createdAt),
      expiresAt,
      signedOut: item.signedOut !== false,
    };
  }

  async signOut(id: string): Promise<void> {
    // Only an existing item: an update would otherwise create a bare one for any id.
    await ignoringConditionFailure(
      this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: keys.session(id),
          UpdateExpression: 'SET #signedOut = :true',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#signedOut': 'signedOut', '#pk': MESSAGE_TABLE.partitionKey },
          ExpressionAttributeValues: { ':true': true },
        }),
      ),
    );
  }
}
