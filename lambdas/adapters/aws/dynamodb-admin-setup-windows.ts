// The admins' TOTP setup windows in the message table: one SETUP#<username> item each,
// removed by the table's TTL after it closes (TTL deletes late, so reads check `until`).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import { normalizeAddress } from '../../core/addresses.ts';
import type { AdminSetupWindows } from '../../ports/admin-setup-windows.ts';
import { type DynamoTable, getItem, openTable } from './dynamodb-toolkit.ts';

export class DynamoDbAdminSetupWindows implements AdminSetupWindows {
  private readonly table: DynamoTable;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.table = openTable(options.client, options.tableName);
  }

  async open(username: string, until: Date): Promise<void> {
    await this.table.doc.send(
      new PutCommand({
        TableName: this.table.name,
        Item: {
          ...keys.adminSetup(normalizeAddress(username)),
          type: 'admin-setup',
          until: until.toISOString(),
          [MESSAGE_TABLE.ttlAttribute]: Math.ceil(until.getTime() / 1000),
        },
      }),
    );
  }

  async isOpen(username: string, now: Date): Promise<boolean> {
    const item = await getItem(this.table, keys.adminSetup(normalizeAddress(username)));
    return typeof item?.until === 'string' && Date.parse(item.until) > now.getTime();
  }

  async close(username: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: keys.adminSetup(normalizeAddress(username)) }));
  }
}
