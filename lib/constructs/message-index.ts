// The message index: the one DynamoDB table of lambdas/adapters/aws/message-table.ts,
// built from its constants so the deployed table and the adapter cannot disagree
// on key names, the TTL attribute or the lookup index.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { MESSAGE_TABLE } from '../../lambdas/contract/message-table.ts';

const string = dynamodb.AttributeType.STRING;

export class MessageIndex extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const { partitionKey, sortKey, ttlAttribute, lookupIndex } = MESSAGE_TABLE;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: partitionKey, type: string },
      sortKey: { name: sortKey, type: string },
      billingMode:
        MESSAGE_TABLE.billingMode === 'PAY_PER_REQUEST' ? dynamodb.BillingMode.PAY_PER_REQUEST : dynamodb.BillingMode.PROVISIONED,
      timeToLiveAttribute: ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: lookupIndex.name,
      partitionKey: { name: lookupIndex.partitionKey, type: string },
      sortKey: { name: lookupIndex.sortKey, type: string },
      projectionType: dynamodb.ProjectionType[lookupIndex.projection.type],
      nonKeyAttributes: [...lookupIndex.projection.nonKeyAttributes],
    });
  }
}
