// The Lambda handlers: SQS batches in, partial batch responses out; one bad record
// never fails its neighbours. Also the AWS environment contract.
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { buildReceiptNotification, wrapInSnsEnvelope } from '../../lambdas/handlers/ses-receipt-event.ts';
import { MailparserMimeParser } from '../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { ConfigurationError } from '../../lambdas/core/errors.ts';
import { createForwardHandler, FORWARD_BACKLOG_AGE_METRIC } from '../../lambdas/handlers/forward.ts';
import { ingestMessage } from '../../lambdas/core/ingest.ts';
import { createIngestHandler } from '../../lambdas/handlers/ingest.ts';
import { createObservability } from '../../lambdas/handlers/observability.ts';
import { readAwsForwardEnv } from '../../lambdas/wiring/env.ts';
import { ManualClock, MemoryRawMailStore, RecordingForwardQueue, ScriptedRelay } from '../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../support/memory-message-index.ts';
import { receivedMail, simpleMessage } from '../support/received-mail.ts';
import { inSnsEnvelope, SES_SETUP_NOTIFICATIONS } from '../fixtures/ses/setup-notifications.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId, receiptHandle: messageId, body, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:eu-west-1:1:q', awsRegion: 'eu-west-1',
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
  };
}

function notificationBody(id: string): string {
  return wrapInSnsEnvelope(
    buildReceiptNotification({
      sesMessageId: id, receivedAt: new Date('2026-11-20T10:00:00Z'), envelopeFrom: 'p@partner.test', envelopeRecipients: ['alice@corp.test'],
      bucket: 'raw', key: id, headers: [], commonHeaders: {},
    }),
    `sns-${id}`,
  );
}

describe('ingest handler', () => {
  it('reports only the failing records of a batch', async () => {
    // Prepare: one good record, one that is not an SES notification, one whose raw object is missing
    const store = new MemoryRawMailStore();
    store.put({ bucket: 'raw', key: 'good' }, simpleMessage());
    const queue = new RecordingForwardQueue();
    const handler = createIngestHandler({
      index: new MemoryMessageIndex(), rawStore: store, parser: new MailparserMimeParser(), forwardQueue: queue,
      clock: new ManualClock('2026-11-20T10:00:01Z'), config: { retentionDays: 28, stackId: 's', leaseMs: 1000 },
      ...createObservability('test'),
    });
    const event: SQSEvent = {
      Records: [sqsRecord('r-good', notificationBody('good')), sqsRecord('r-bad', '{"not":"ses"}'), sqsRecord('r-missing', notificationBody('missing'))],
    };

    // Act
    const response = await handler(event, context);

    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['r-bad', 'r-missing']);
    expect(queue.sent.map((s) => s.job.sesMessageId)).toEqual(['good']);
  });
});

describe('ingest handler: the SES setup notification', () => {
  it('acknowledges and drops each form of it: nothing indexed, nothing forwarded, logged at info', async () => {
    // Prepare: the test object SES writes is in the store, as in AWS
    const store = new MemoryRawMailStore();
    store.put({ bucket: 'raw', key: 'raw/AMAZON_SES_SETUP_NOTIFICATION' }, simpleMessage());
    const index = new MemoryMessageIndex();
    const putMessage = vi.spyOn(index, 'putMessage');
    const queue = new RecordingForwardQueue();
    const observability = createObservability('test');
    const info = vi.spyOn(observability.logger, 'info');
    const handler = createIngestHandler({
      index, rawStore: store, parser: new MailparserMimeParser(), forwardQueue: queue,
      clock: new ManualClock('2026-11-20T10:00:01Z'), config: { retentionDays: 28, stackId: 's', leaseMs: 1000 },
      ...observability,
    });
    const records = Object.entries(SES_SETUP_NOTIFICATIONS).flatMap(([name, notification]) => [
      sqsRecord(`r-${name}`, inSnsEnvelope(notification, `sns-${name}`)),
      sqsRecord(`r-${name}-bare`, JSON.stringify(notification)),
    ]);

    // Act
    const response = await handler({ Records: records }, context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(putMessage).not.toHaveBeenCalled();
    expect(queue.sent).toEqual([]);
    const dropped = info.mock.calls.filter(([message]) => message === 'SES setup notification acknowledged and dropped');
    expect(dropped).toHaveLength(records.length);
  });

  it('still fails a notification that is neither mail nor the setup notice', async () => {
    // Prepare
    const handler = createIngestHandler({
      index: new MemoryMessageIndex(), rawStore: new MemoryRawMailStore(), parser: new MailparserMimeParser(), forwardQueue: new RecordingForwardQueue(),
      clock: new ManualClock('2026-11-20T10:00:01Z'), config: { retentionDays: 28, stackId: 's', leaseMs: 1000 },
      ...createObservability('test'),
    });
    const bounce = { notificationType: 'Bounce', bounce: { bounceType: 'Permanent' }, mail: { messageId: 'm-1' } };

    // Act
    const response = await handler({ Records: [sqsRecord('r-bounce', inSnsEnvelope(bounce, 'sns-bounce'))] }, context);

    // Assess: not silently dropped: it goes back to the queue and, in the end, to the DLQ
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r-bounce' }]);
  });
});

describe('forward handler', () => {
  it('refuses a malformed job without failing the others', async () => {
    const relay = new ScriptedRelay();
    const handler = createForwardHandler({
      index: new MemoryMessageIndex(), rawStore: new MemoryRawMailStore(), relay, forwardQueue: new RecordingForwardQueue(),
      clock: new ManualClock('2026-11-20T10:00:01Z'),
      config: { stackId: 's', maxAgeMs: 1000, retryBaseSeconds: 1, retryMaxDelaySeconds: 1, leaseMs: 1000 },
      ...createObservability('test'),
    });

    const response = await handler(
      { Records: [sqsRecord('r-bad', 'nope'), sqsRecord('r-gone', JSON.stringify({ sesMessageId: 'gone', receivedAt: '2026-11-01T00:00:00.000Z', attempt: 0 }))] },
      context,
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r-bad' }]);
  });

  it('reports the age of a deferred message as ForwardBacklogAgeSeconds, and nothing for a delivered one', async () => {
    // Prepare: two messages received 2 h ago; the primary defers one recipient and takes the other message
    const index = new MemoryMessageIndex();
    const store = new MemoryRawMailStore();
    const queue = new RecordingForwardQueue();
    const clock = new ManualClock('2026-11-20T10:00:00Z');
    const observability = createObservability('test');
    for (const [id, rcpt] of [['deferred-1', 'late@corp.test'], ['fine-1', 'ok@corp.test']] as const) {
      store.put({ bucket: 'raw', key: id }, simpleMessage());
      await ingestMessage(receivedMail({ sesMessageId: id, raw: { bucket: 'raw', key: id }, envelopeRecipients: [rcpt], receivedAt: clock.now().toISOString() }), {
        index, rawStore: store, parser: new MailparserMimeParser(), forwardQueue: queue, clock, workerId: 'i', config: { retentionDays: 28, stackId: 's', leaseMs: 1000 },
      });
    }
    clock.advance(2 * 3_600_000);
    const relay = new ScriptedRelay();
    relay.codes.set('late@corp.test', 451);
    const addMetric = vi.spyOn(observability.metrics, 'addMetric');
    const handler = createForwardHandler({
      index, rawStore: store, relay, forwardQueue: new RecordingForwardQueue(), clock,
      config: { stackId: 's', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 1000 },
      ...observability,
    });

    // Act
    await handler({ Records: queue.sent.map((sent, i) => sqsRecord(`r-${i}`, JSON.stringify(sent.job))) }, context);

    // Assess: one backlog sample of 7,200 s (the deferred message's age), none for the delivered one
    const recorded = addMetric.mock.calls.map(([name, unit, value]) => ({ name, unit, value }));
    expect(recorded.filter((m) => m.name === FORWARD_BACKLOG_AGE_METRIC)).toEqual([{ name: FORWARD_BACKLOG_AGE_METRIC, unit: 'Seconds', value: 7200 }]);
    expect(recorded.filter((m) => m.name === 'RecipientsDelivered').map((m) => m.value).sort()).toEqual([0, 1]);
  });
});

describe('AWS environment contract', () => {
  const complete = {
    SHADOWMAIL_TABLE_NAME: 'table', SHADOWMAIL_FORWARD_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/forward', SHADOWMAIL_SMART_HOST: 'mx.corp.example',
  };

  it('applies the documented defaults', () => {
    expect(readAwsForwardEnv(complete)).toMatchObject({
      SHADOWMAIL_SMART_HOST_PORT: 587, SHADOWMAIL_SMART_HOST_TLS: 'starttls-required', SHADOWMAIL_RETENTION_DAYS: 28, SHADOWMAIL_FORWARD_MAX_AGE_DAYS: 5,
    });
  });

  it.each([
    ['SHADOWMAIL_SMART_HOST', undefined],
    ['SHADOWMAIL_SMART_HOST_TLS', 'sometimes'],
    ['SHADOWMAIL_FORWARD_QUEUE_URL', 'not a url'],
  ])('names %s when it is wrong or missing', (variable, value) => {
    const env: Record<string, string | undefined> = { ...complete, [variable]: value };
    expect(() => readAwsForwardEnv(env)).toThrow(ConfigurationError);
    expect(() => readAwsForwardEnv(env)).toThrow(new RegExp(`^${variable}: `));
  });
});

describe('webmail Lambda entry point', () => {
  it('refuses to start without its configuration, naming the variable', async () => {
    // Prepare: no webmail variables in this environment
    const { handler } = await import('../../lambdas/handlers/webmail.ts');
    const event = { version: '2.0', rawPath: '/', rawQueryString: '', headers: {}, requestContext: { http: { method: 'GET', path: '/' } } };

    // Act / Assess
    await expect(handler(event as never, context)).rejects.toThrow(/^SHADOWMAIL_[A-Z_]+: /);
  });
});
