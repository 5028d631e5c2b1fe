// Local mode calls the Lambda handlers directly: this gives them the Context a
// Lambda invocation would (name, request id, remaining time of a 15-minute budget).
import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent } from 'aws-lambda';
import type { SqsHandler } from '../handlers/sqs-batch.ts';

export function asLocalLambda(handler: SqsHandler, functionName: string) {
  return (event: SQSEvent) => handler(event, localContext(functionName));
}

export function localContext(functionName: string): Context {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    // Lambda's request ids are UUIDs; randomUUID also draws from a pool, not a call per id.
    awsRequestId: randomUUID(),
    logGroupName: `/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, 900_000 - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
