// A DynamoDB client for a DynamoDB-compatible server on this machine (DynamoDB
// Local or dynalite in tests and the bench). Such servers
// ignore signatures, but the SDK insists on a region and credentials.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export function makeDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}
