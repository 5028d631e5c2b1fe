// The admins' TOTP setup windows on dynalite and DynamoDB Local: open until a time (any case
// of the username), closed after it or once closed, one admin's window never another's; the
// item carries the table's TTL and sits under the SETUP# prefix the sign-in trigger may read.
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DynamoDbAdminSetupWindows } from '../../../../../lambdas/adapters/aws/dynamodb-admin-setup-windows.ts';
import { ADMIN_SETUP_PREFIX, MESSAGE_TABLE, messageTableKeys } from '../../../../../lambdas/contract/message-table.ts';
import { describeOnDynamoDbServers, type FreshTable, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';

const NOW = new Date('2030-05-01T08:00:00.000Z');
const UNTIL = new Date('2030-05-01T08:10:00.000Z');

describeOnDynamoDbServers('DynamoDbAdminSetupWindows', (_server, endpoint) => {
  let table: FreshTable;
  let windows: DynamoDbAdminSetupWindows;
  beforeEach(async () => {
    table = await freshMessageTable(endpoint(), 'setup');
    windows = new DynamoDbAdminSetupWindows({ client: table.client, tableName: table.tableName });
  });
  afterEach(async () => table.cleanup());

  it('is open until its time for that admin only, in any case, and closed once closed', async () => {
    // Act
    await windows.open('IT-Admin@Corp.test', UNTIL);

    // Assess
    expect(await windows.isOpen('it-admin@corp.test', NOW)).toBe(true);
    expect(await windows.isOpen('it-admin@corp.test', UNTIL)).toBe(false);
    expect(await windows.isOpen('ceo@corp.test', NOW)).toBe(false);
    await windows.close('it-admin@corp.test');
    expect(await windows.isOpen('it-admin@corp.test', NOW)).toBe(false);
  });

  it('stores the window under SETUP# with the table TTL in seconds', async () => {
    // Act
    await windows.open('it-admin@corp.test', UNTIL);

    // Assess
    const key = messageTableKeys.adminSetup('it-admin@corp.test');
    const { Item } = await DynamoDBDocumentClient.from(table.client).send(new GetCommand({ TableName: table.tableName, Key: key }));
    expect(key.pk.startsWith(ADMIN_SETUP_PREFIX)).toBe(true);
    expect(Item).toMatchObject({ type: 'admin-setup', until: UNTIL.toISOString(), [MESSAGE_TABLE.ttlAttribute]: UNTIL.getTime() / 1000 });
  });
});
