// Pending-recipient counts: the shared contract (support/pending-recipients-contract.ts) run
// against the in-memory reference, dynalite and AWS's DynamoDB Local.
import { DynamoDbPendingRecipients } from '../../../../../lambdas/adapters/aws/dynamodb-pending-recipients.ts';
import { describeOnDynamoDbServers, type FreshTable, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';
import { MemoryPendingRecipients } from '../../../../support/memory-pending-recipients.ts';
import { describePendingRecipientsContract } from '../../../../support/pending-recipients-contract.ts';

describePendingRecipientsContract('in memory', async () => ({ pending: new MemoryPendingRecipients() }));

describeOnDynamoDbServers('DynamoDbPendingRecipients', (_server, endpoint) => {
  let table: FreshTable;
  describePendingRecipientsContract('DynamoDB', async () => {
    table = await freshMessageTable(endpoint(), 'pending-recipients');
    return { pending: new DynamoDbPendingRecipients(table), cleanup: () => table.cleanup() };
  });
});
