// A DynamoDB client for a DynamoDB-compatible server on this machine (embedded
// dynalite in local mode, DynamoDB Local or dynalite in tests). Such servers
// ignore signatures, but the SDK insists on a region and credentials.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export function makeDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}
