// SqsForwardBacklog with the real SDK client against the fake AWS server's SQS JSON
// protocol: the backlog's job count from one GetQueueAttributes call.
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsForwardBacklog } from '../../../../../lambdas/adapters/aws/sqs-forward-backlog.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../../support/cli-deployed-aws-fakes.ts';

let aws: FakeAws;
const saved = { ...process.env };

beforeAll(async () => {
  aws = await startFakeAws();
  useFakeAws(aws);
  process.env.AWS_REGION = 'eu-central-1';
});
afterAll(async () => {
  process.env = saved;
  await aws?.close();
});

describe('SqsForwardBacklog', () => {
  it('adds the visible, in-flight and delayed counts; the age is unknown', async () => {
    // The SDK sends SQS calls to the queue URL's host: the fake's, as in the doctor tests.
    const url = `${aws.endpoint}/123456789012/shadowmail-forward`;
    aws.doctor.queueAttributes.set(url, {
      ApproximateNumberOfMessages: '3',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '8',
    });
    expect(await new SqsForwardBacklog(new SQSClient({}), url).read()).toEqual({ jobs: 12, oldestAgeSeconds: null });
  });
});
