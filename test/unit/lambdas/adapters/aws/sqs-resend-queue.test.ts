// The SQS resend queue's requests: steps as JSON, ten per SendMessageBatch, the delay
// SQS accepts, failed entries retried and then reported. No SQS stand-in exists here,
// so a middleware placed after serialization captures what the SDK would send and
// answers it without any network (as in sqs-forward-queue.test.ts).
import { createHash } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SqsResendQueue } from '../../../../../lambdas/adapters/aws/sqs-resend-queue.ts';
import { RetryableError } from '../../../../../lambdas/core/errors.ts';
import type { ResendStep } from '../../../../../lambdas/ports/resend-jobs.ts';

const QUEUE_URL = 'https://sqs.eu-central-1.amazonaws.com/123456789012/shadowmail-resend';

interface Entry {
  Id: string;
  MessageBody: string;
  DelaySeconds: number;
}

/** Answers each batch; `failIds(call)` names the entries SQS reports as failed in that call. */
function capturingClient(failIds: (call: number) => string[] = () => []): { client: SQSClient; batches: Entry[][] } {
  const client = new SQSClient({ region: 'eu-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const batches: Entry[][] = [];
  client.middlewareStack.add(
    () => async (args) => {
      const request = args.request as { body: string | Uint8Array };
      const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
      const entries = (JSON.parse(text) as { Entries: Entry[] }).Entries;
      batches.push(entries);
      const failed = new Set(failIds(batches.length));
      const md5 = (body: string) => createHash('md5').update(body).digest('hex');
      return {
        output: {
          $metadata: {},
          Successful: entries
            .filter((e) => !failed.has(e.Id))
            .map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: md5(e.MessageBody) })),
          Failed: entries.filter((e) => failed.has(e.Id)).map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError' })),
        },
        response: {},
      } as never;
    },
    { step: 'build', name: 'captureRequest', priority: 'low' },
  );
  return { client, batches };
}

const steps = (count: number): ResendStep[] =>
  Array.from({ length: count }, (_, i) => ({ type: 'message', jobId: 'rs-1', sesMessageId: `m${i}`, recipients: null, attempt: 0 }));

describe('SqsResendQueue', () => {
  it('sends the steps as JSON, ten per batch, with the delay clamped to what SQS accepts', async () => {
    // Prepare
    const { client, batches } = capturingClient();
    const queue = new SqsResendQueue(client, QUEUE_URL);
    // Act
    await queue.enqueue(steps(23), 3600);
    // Assess
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 3]);
    expect(batches.flat().map((entry) => JSON.parse(entry.MessageBody))).toEqual(steps(23));
    expect(new Set(batches.flat().map((entry) => entry.DelaySeconds))).toEqual(new Set([900]));
  });

  it('sends again only the entries SQS failed, and reports entries that keep failing as retryable', async () => {
    // Prepare
    const flaky = capturingClient((call) => (call === 1 ? ['3', '7'] : []));
    const broken = capturingClient(() => ['0']);
    // Act
    await new SqsResendQueue(flaky.client, QUEUE_URL).enqueue(steps(10), 0);
    const failure = await new SqsResendQueue(broken.client, QUEUE_URL).enqueue(steps(2), 0).then(
      () => null,
      (error: unknown) => error,
    );
    // Assess
    expect(flaky.batches.map((batch) => batch.map((entry) => entry.Id))).toEqual([
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      ['3', '7'],
    ]);
    expect(failure).toBeInstanceOf(RetryableError);
    expect(broken.batches).toHaveLength(3);
  });
});
