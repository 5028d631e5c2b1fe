// The SQS forward queue's request: JSON job body and a delay SQS accepts. No
// SQS stand-in exists here, so a middleware placed after serialization captures
// the HTTP request the SDK would send and answers it without any network.
import { createHash } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SqsForwardQueue } from '../../../../../lambdas/adapters/aws/sqs-forward-queue.ts';
import { RetryableError } from '../../../../../lambdas/core/errors.ts';
import type { ForwardJob } from '../../../../../lambdas/core/model.ts';

const QUEUE_URL = 'https://sqs.eu-central-1.amazonaws.com/123456789012/shadowmail-forward';

interface CapturedRequest {
  target: string | undefined;
  body: Record<string, unknown>;
}

function capturingClient(fail?: Error): { client: SQSClient; sent: CapturedRequest[] } {
  const client = new SQSClient({ region: 'eu-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const sent: CapturedRequest[] = [];
  client.middlewareStack.add(
    () => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: string | Uint8Array };
      const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
      const body = JSON.parse(text) as Record<string, unknown>;
      sent.push({ target: request.headers['x-amz-target'], body });
      if (fail) throw fail;
      // SQS answers with the body's MD5, which the SDK checks.
      const md5 = createHash('md5').update(String(body.MessageBody)).digest('hex');
      return { output: { $metadata: {}, MessageId: `id-${sent.length}`, MD5OfMessageBody: md5 }, response: {} } as never;
    },
    { step: 'build', name: 'captureRequest', priority: 'low' },
  );
  return { client, sent };
}

const job: ForwardJob = { sesMessageId: 'abc123', receivedAt: '2030-03-01T12:00:00.000Z', attempt: 2 };

describe('SqsForwardQueue', () => {
  it('sends the job as JSON to the queue with the delay asked for', async () => {
    // Prepare
    const { client, sent } = capturingClient();
    const queue = new SqsForwardQueue(client, QUEUE_URL);
    // Act
    await queue.enqueue(job, 120);
    // Assess
    expect(sent).toHaveLength(1);
    expect(sent[0]?.target).toBe('AmazonSQS.SendMessage');
    expect(sent[0]?.body).toMatchObject({ QueueUrl: QUEUE_URL, DelaySeconds: 120 });
    expect(JSON.parse(String(sent[0]?.body.MessageBody))).toEqual(job);
  });

  it('clamps the delay to what SQS accepts (0 to 900 s, whole seconds)', async () => {
    // Prepare
    const { client, sent } = capturingClient();
    const queue = new SqsForwardQueue(client, QUEUE_URL);
    // Act
    for (const delay of [-5, 0, 0.2, 899.5, 900, 3600, Number.POSITIVE_INFINITY, Number.NaN]) await queue.enqueue(job, delay);
    // Assess
    expect(sent.map((request) => request.body.DelaySeconds)).toEqual([0, 0, 1, 900, 900, 900, 900, 0]);
  });

  it('reports a failed send as retryable, with the SDK error as cause', async () => {
    // Prepare
    const sdkError = Object.assign(new Error('queue does not exist'), { name: 'QueueDoesNotExist' });
    const { client } = capturingClient(sdkError);
    const queue = new SqsForwardQueue(client, QUEUE_URL);
    // Act
    const failure = await queue.enqueue(job, 0).then(
      () => null,
      (error: unknown) => error,
    );
    // Assess
    expect(failure).toBeInstanceOf(RetryableError);
    expect((failure as Error).cause).toBe(sdkError);
  });
});
