// SqsForwardBacklog with the real SDK client against the fake AWS server's SQS JSON
// protocol: the backlog's job count from one GetQueueAttributes call.
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SqsForwardBacklog } from '../../../../../lambdas/adapters/aws/sqs-forward-backlog.ts';
import { fakeAwsForThisFile } from '../../../../support/fake-aws-suite.ts';

const fake = fakeAwsForThisFile();

describe('SqsForwardBacklog', () => {
  it('adds the visible, in-flight and delayed counts; the age is unknown', async () => {
    // The SDK sends SQS calls to the queue URL's host: the fake's, as in the doctor tests.
    const url = `${fake().endpoint}/123456789012/shadowmail-forward`;
    fake().doctor.queueAttributes.set(url, {
      ApproximateNumberOfMessages: '3',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '8',
    });
    expect(await new SqsForwardBacklog(new SQSClient({}), url).read()).toEqual({ jobs: 12, oldestAgeSeconds: null });
  });
});
