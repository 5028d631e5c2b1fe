// The SQS ChangeMessageVisibility request that retries a failed record after a backoff.
// No SQS stand-in exists here, so a middleware placed after serialization captures the
// HTTP request the SDK would send and answers it without any network.
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SqsMessageVisibility } from '../../../../../lambdas/adapters/aws/sqs-message-visibility.ts';
import { RetryableError } from '../../../../../lambdas/core/errors.ts';

const QUEUE_URL = 'https://sqs.eu-central-1.amazonaws.com/123456789012/shadowmail-forward';

function capturingClient(fail?: Error) {
  const client = new SQSClient({ region: 'eu-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const sent: { target: string | undefined; body: Record<string, unknown> }[] = [];
  client.middlewareStack.add(
    () => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: string };
      sent.push({ target: request.headers['x-amz-target'], body: JSON.parse(request.body) as Record<string, unknown> });
      if (fail) throw fail;
      return { output: { $metadata: {} }, response: {} } as never;
    },
    { step: 'build', name: 'captureRequest', priority: 'low' },
  );
  return { client, sent };
}

describe('SqsMessageVisibility', () => {
  it('changes the visibility of the received message on the consumed queue', async () => {
    // Prepare
    const { client, sent } = capturingClient();

    // Act
    await new SqsMessageVisibility(client, QUEUE_URL).retryAfter('AQEB-receipt-handle', 240);

    // Assess
    expect(sent).toEqual([
      {
        target: 'AmazonSQS.ChangeMessageVisibility',
        body: { QueueUrl: QUEUE_URL, ReceiptHandle: 'AQEB-receipt-handle', VisibilityTimeout: 240 },
      },
    ]);
  });

  it('turns a failed call into a RetryableError that names the queue', async () => {
    // Prepare
    const { client } = capturingClient(
      Object.assign(new Error('Message does not exist or is not available for visibility timeout change'), { name: 'MessageNotInflight' }),
    );

    // Act
    const attempt = new SqsMessageVisibility(client, QUEUE_URL).retryAfter('gone', 30);

    // Assess
    await expect(attempt).rejects.toThrow(RetryableError);
    await expect(attempt).rejects.toThrow(/shadowmail-forward/);
  });
});
