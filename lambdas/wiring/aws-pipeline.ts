// What the ingest and the forward functions share in AWS: the index, the raw mail, the
// forward queue and the source queue's visibility. The functions are wired in files of
// their own — aws-ingest.ts, aws-relay.ts, aws.ts (the webmail) — so that each bundle
// holds only what its function runs: every message waits for the ingest's and the
// forward's cold starts (bench/lambda-bundles.ts measures them).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbMessageIndex } from '../adapters/aws/dynamodb-message-index.ts';
import { makeS3Client, S3RawMailStore } from '../adapters/aws/s3-raw-mail-store.ts';
import { SqsForwardQueue } from '../adapters/aws/sqs-forward-queue.ts';
import { SqsMessageVisibility } from '../adapters/aws/sqs-message-visibility.ts';
import { ENV } from '../contract/environment.ts';
import { systemClock } from '../ports/clock.ts';
import type { AwsIngestEnv } from './env.ts';

/** What the ingest and the forward both use: the index, the raw mail, the forward queue and the batch's visibility. */
export function pipelineParts(env: AwsIngestEnv) {
  const sqs = new SQSClient({});
  return {
    index: new DynamoDbMessageIndex({ client: new DynamoDBClient({}), tableName: env[ENV.tableName] }),
    rawStore: new S3RawMailStore(makeS3Client()),
    forwardQueue: new SqsForwardQueue(sqs, env[ENV.forwardQueueUrl]),
    retryVisibility: new SqsMessageVisibility(sqs, env[ENV.sourceQueueUrl]),
    clock: systemClock,
  };
}
