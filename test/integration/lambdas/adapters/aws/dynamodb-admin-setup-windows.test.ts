// The admins' TOTP setup windows on dynalite and DynamoDB Local: the AdminSetupWindows
// contract (test/support/admin-setup-windows-contract.ts), and the item carries the
// table's TTL and sits under the SETUP# prefix the sign-in trigger may read.
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbAdminSetupWindows } from '../../../../../lambdas/adapters/aws/dynamodb-admin-setup-windows.ts';
import { ADMIN_SETUP_PREFIX, MESSAGE_TABLE, messageTableKeys } from '../../../../../lambdas/contract/message-table.ts';
import { describeAdminSetupWindowsContract, UNTIL } from '../../../../support/admin-setup-windows-contract.ts';
import { describeOnDynamoDbServers, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';
import { freshPerTest } from '../../../../support/fresh-per-test.ts';

describeOnDynamoDbServers('DynamoDbAdminSetupWindows', (name, endpoint) => {
  describeAdminSetupWindowsContract(name, async () => {
    const table = await freshMessageTable(endpoint(), 'setup');
    return { windows: new DynamoDbAdminSetupWindows({ client: table.client, tableName: table.tableName }), cleanup: table.cleanup };
  });

  describe('the item', () => {
    const table = freshPerTest(() => freshMessageTable(endpoint(), 'setup'));

    it('stores the window under SETUP# with the table TTL in seconds', async () => {
      // Prepare
      const { client, tableName } = table();
      const windows = new DynamoDbAdminSetupWindows({ client, tableName });

      // Act
      await windows.open('it-admin@corp.test', UNTIL);

      // Assess
      const key = messageTableKeys.adminSetup('it-admin@corp.test');
      const { Item } = await DynamoDBDocumentClient.from(client).send(new GetCommand({ TableName: tableName, Key: key }));
      expect(key.pk.startsWith(ADMIN_SETUP_PREFIX)).toBe(true);
      expect(Item).toMatchObject({ type: 'admin-setup', until: UNTIL.toISOString(), [MESSAGE_TABLE.ttlAttribute]: UNTIL.getTime() / 1000 });
    });
  });
});
