// The Lambda handlers: SQS batches in, partial batch responses out; one bad record
// never fails its neighbours. Also the AWS environment contract.
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { MailparserMimeParser } from '../../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { METRIC } from '../../../lambdas/contract/metrics.ts';
import { ConfigurationError, RetryableError } from '../../../lambdas/core/errors.ts';
import { ingestMessage } from '../../../lambdas/core/ingest.ts';
import { createForwardHandler } from '../../../lambdas/handlers/forward.ts';
import { createIngestHandler } from '../../../lambdas/handlers/ingest.ts';
import { createObservability } from '../../../lambdas/handlers/observability.ts';
import { buildReceiptNotification, wrapInSnsEnvelope } from '../../../lambdas/handlers/ses-receipt-event.ts';
import type { MimeParser } from '../../../lambdas/ports/mime-parser.ts';
import { readAwsForwardEnv } from '../../../lambdas/wiring/env.ts';
import { inSnsEnvelope, SES_SETUP_NOTIFICATIONS } from '../../fixtures/ses/setup-notifications.ts';
import {
  ConcurrencyProbeRelay,
  ManualClock,
  MemoryRawMailStore,
  RecordingForwardQueue,
  RecordingMessageVisibility,
  ScriptedRelay,
} from '../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../support/memory-message-index.ts';
import { MemorySendCounter } from '../../support/memory-send-counter.ts';
import { receivedMail, simpleMessage } from '../../support/received-mail.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

function sqsRecord(messageId: string, body: string, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:1:q',
    awsRegion: 'eu-west-1',
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
  };
}

function notificationBody(id: string): string {
  return wrapInSnsEnvelope(
    buildReceiptNotification({
      sesMessageId: id,
      receivedAt: new Date('2026-11-20T10:00:00Z'),
      envelopeFrom: 'p@partner.test',
      envelopeRecipients: ['alice@corp.test'],
      bucket: 'raw',
      key: id,
      headers: [],
      commonHeaders: {},
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
      index: new MemoryMessageIndex(),
      rawStore: store,
      parser: new MailparserMimeParser(),
      forwardQueue: queue,
      clock: new ManualClock('2026-11-20T10:00:01Z'),
      config: { retentionDays: 28, stackId: 's', leaseMs: 1000, subaddressSeparator: '+' },
      retryVisibility: new RecordingMessageVisibility(),
      ...createObservability('test'),
    });
    const event: SQSEvent = {
      Records: [
        sqsRecord('r-good', notificationBody('good')),
        sqsRecord('r-bad', '{"not":"ses"}'),
        sqsRecord('r-missing', notificationBody('missing')),
      ],
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
      index,
      rawStore: store,
      parser: new MailparserMimeParser(),
      forwardQueue: queue,
      clock: new ManualClock('2026-11-20T10:00:01Z'),
      config: { retentionDays: 28, stackId: 's', leaseMs: 1000, subaddressSeparator: '+' },
      retryVisibility: new RecordingMessageVisibility(),
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
      index: new MemoryMessageIndex(),
      rawStore: new MemoryRawMailStore(),
      parser: new MailparserMimeParser(),
      forwardQueue: new RecordingForwardQueue(),
      clock: new ManualClock('2026-11-20T10:00:01Z'),
      config: { retentionDays: 28, stackId: 's', leaseMs: 1000, subaddressSeparator: '+' },
      retryVisibility: new RecordingMessageVisibility(),
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
      index: new MemoryMessageIndex(),
      rawStore: new MemoryRawMailStore(),
      relay,
      forwardQueue: new RecordingForwardQueue(),
      clock: new ManualClock('2026-11-20T10:00:01Z'),
      config: { stackId: 's', maxAgeMs: 1000, retryBaseSeconds: 1, retryMaxDelaySeconds: 1, leaseMs: 1000 },
      retryVisibility: new RecordingMessageVisibility(),
      ...createObservability('test'),
    });

    const response = await handler(
      {
        Records: [
          sqsRecord('r-bad', 'nope'),
          sqsRecord('r-gone', JSON.stringify({ sesMessageId: 'gone', receivedAt: '2026-11-01T00:00:00.000Z', attempt: 0 })),
          // One receipt rule's part of a message (core/forward-part.ts); an empty part is no job.
          sqsRecord(
            'r-part',
            JSON.stringify({ sesMessageId: 'gone', receivedAt: '2026-11-01T00:00:00.000Z', attempt: 0, recipients: ['a@corp.test'] }),
          ),
          sqsRecord(
            'r-empty',
            JSON.stringify({ sesMessageId: 'gone', receivedAt: '2026-11-01T00:00:00.000Z', attempt: 0, recipients: [] }),
          ),
        ],
      },
      context,
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r-bad' }, { itemIdentifier: 'r-empty' }]);
  });

  it('reports the age of a deferred message as ForwardBacklogAgeSeconds, and nothing for a delivered one', async () => {
    // Act: two messages received 2 h ago; the primary defers one recipient and takes the other message
    const { recorded } = await forwardBatch(
      [
        ['deferred-1', 'late@corp.test'],
        ['fine-1', 'ok@corp.test'],
      ],
      (relay) => relay.codes.set('late@corp.test', 451),
      2 * 3_600_000,
    );

    // Assess: one backlog sample of 7,200 s (the deferred message's age), none for the delivered one
    expect(recorded.filter((m) => m.name === METRIC.forwardBacklogAgeSeconds)).toEqual([
      { name: METRIC.forwardBacklogAgeSeconds, unit: 'Seconds', value: 7200 },
    ]);
    expect(
      recorded
        .filter((m) => m.name === 'RecipientsDelivered')
        .map((m) => m.value)
        .sort(),
    ).toEqual([0, 1]);
  });

  it('counts each attempt the smart host refused on its settings as SmartHostConfigurationFaults, and nothing for other failures', async () => {
    // Act: three messages; the primary refuses our login for one, is away for one, takes one
    const { recorded, warn } = await forwardBatch(
      [
        ['refused-1', 'login@corp.test'],
        ['away-1', 'away@corp.test'],
        ['fine-1', 'ok@corp.test'],
      ],
      (relay) => {
        relay.codes.set('login@corp.test', 535);
        relay.faults.set('login@corp.test', 'auth');
        relay.codes.set('away@corp.test', 0);
        relay.faults.set('away@corp.test', 'unreachable');
      },
    );

    // Assess
    expect(recorded.filter((m) => m.name === METRIC.smartHostConfigurationFaults)).toEqual([
      { name: 'SmartHostConfigurationFaults', unit: 'Count', value: 1 },
    ]);
    expect(warn).toHaveBeenCalledWith(
      'smart host configuration fault',
      expect.objectContaining({ sesMessageId: 'refused-1', configurationFault: 'auth' }),
    );
  });
});

describe('forward handler: non-delivery reports', () => {
  it('sends the report a failed send left owed when the job comes again, although the relay is done', async () => {
    // Prepare: the primary refuses the recipient; the report route fails once
    const index = new MemoryMessageIndex();
    const store = new MemoryRawMailStore();
    const queue = new RecordingForwardQueue();
    const clock = new ManualClock('2026-11-20T10:00:00Z');
    store.put({ bucket: 'raw', key: 'm-1' }, simpleMessage());
    await ingestMessage(
      receivedMail({ sesMessageId: 'm-1', raw: { bucket: 'raw', key: 'm-1' }, envelopeRecipients: ['nobody@corp.test'] }),
      {
        index,
        rawStore: store,
        parser: new MailparserMimeParser(),
        forwardQueue: queue,
        clock,
        workerId: 'i',
        config: { retentionDays: 28, stackId: 's', leaseMs: 1000, subaddressSeparator: '+' },
      },
    );
    const relay = new ScriptedRelay();
    relay.codes.set('nobody@corp.test', 550);
    const reports: string[] = [];
    let routeDown = true;
    const handler = createForwardHandler({
      index,
      rawStore: store,
      relay,
      forwardQueue: new RecordingForwardQueue(),
      clock,
      config: { stackId: 's', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 1000 },
      retryVisibility: new RecordingMessageVisibility(),
      nonDelivery: {
        sender: {
          send: async (report) => {
            if (routeDown) throw new RetryableError('route down');
            reports.push(report.recipients[0]!.recipient);
            return { sent: true, providerMessageId: 'r-1' };
          },
        },
        counter: new MemorySendCounter(),
        reportingMta: 'mx.corp.test',
      },
      ...createObservability('test'),
    });
    const job = sqsRecord('r-1', JSON.stringify(queue.sent[0]!.job));

    // Act: the first delivery relays (refused) but cannot report; the job comes again
    const first = await handler({ Records: [job] }, context);
    routeDown = false;
    const second = await handler({ Records: [job] }, context);

    // Assess: relayed once, reported once
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'r-1' }]);
    expect(second.batchItemFailures).toEqual([]);
    expect(relay.sent).toHaveLength(1);
    expect(reports).toEqual(['nobody@corp.test']);
  });
});

describe('a record that throws', () => {
  /** Ingest of three notifications, the raw object of `missing` absent (the use case throws for it). */
  async function ingestWithAMissingObject(retryVisibility: RecordingMessageVisibility, receiveCount: number) {
    const store = new MemoryRawMailStore();
    store.put({ bucket: 'raw', key: 'good' }, simpleMessage());
    const observability = createObservability('test');
    const warn = vi.spyOn(observability.logger, 'warn');
    const handler = createIngestHandler({
      index: new MemoryMessageIndex(),
      rawStore: store,
      parser: new MailparserMimeParser(),
      forwardQueue: new RecordingForwardQueue(),
      clock: new ManualClock('2026-11-20T10:00:01Z'),
      config: { retentionDays: 28, stackId: 's', leaseMs: 1000, subaddressSeparator: '+' },
      retryVisibility,
      ...observability,
    });
    const response = await handler(
      {
        Records: [
          sqsRecord('r-good', notificationBody('good'), receiveCount),
          sqsRecord('r-missing', notificationBody('missing'), receiveCount),
        ],
      },
      context,
    );
    return { response, warn };
  }

  it.each([
    [1, 30],
    [2, 60],
    [4, 240],
    [6, 900],
    [10, 900],
  ])(
    'at receive %i comes back after %i s (ChangeMessageVisibility), not after the queue visibility timeout',
    async (receiveCount, seconds) => {
      // Prepare
      const visibility = new RecordingMessageVisibility();

      // Act
      const { response } = await ingestWithAMissingObject(visibility, receiveCount);

      // Assess: only the failed record is rescheduled, by its own receipt handle
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r-missing' }]);
      expect(visibility.changes).toEqual([{ receiptHandle: 'handle-r-missing', seconds }]);
    },
  );

  it('is still reported failed (nothing lost) when its visibility cannot be changed, and says so in the log', async () => {
    // Prepare
    const visibility = new RecordingMessageVisibility();
    visibility.failWith = new Error('SQS unavailable');

    // Act
    const { response, warn } = await ingestWithAMissingObject(visibility, 3);

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'r-missing' }]);
    expect(warn).toHaveBeenCalledWith(
      'failed record keeps the queue visibility timeout',
      expect.objectContaining({ messageId: 'r-missing', backoffSeconds: 120 }),
    );
  });
});

describe('sessions to the primary', () => {
  it('the forward relays the records of a batch one after the other, the ingest parses them side by side', async () => {
    // Prepare: three received messages, each with a forward job
    const index = new MemoryMessageIndex();
    const store = new MemoryRawMailStore();
    const jobs = new RecordingForwardQueue();
    const clock = new ManualClock('2026-11-20T10:00:00Z');
    const relay = new ConcurrencyProbeRelay(new ScriptedRelay());
    const parsing = { active: 0, maxActive: 0 };
    const parser = new MailparserMimeParser();
    const slowParser: MimeParser = {
      summarize: async (raw) => {
        parsing.active += 1;
        parsing.maxActive = Math.max(parsing.maxActive, parsing.active);
        try {
          await new Promise((resolve) => setTimeout(resolve, 25));
          return await parser.summarize(raw);
        } finally {
          parsing.active -= 1;
        }
      },
    };
    const observability = createObservability('test');
    const ingest = createIngestHandler({
      index,
      rawStore: store,
      parser: slowParser,
      forwardQueue: jobs,
      clock,
      config: { retentionDays: 28, stackId: 's', leaseMs: 60_000, subaddressSeparator: '+' },
      retryVisibility: new RecordingMessageVisibility(),
      ...observability,
    });
    const forward = createForwardHandler({
      index,
      rawStore: store,
      relay,
      forwardQueue: new RecordingForwardQueue(),
      clock,
      config: { stackId: 's', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 60_000 },
      retryVisibility: new RecordingMessageVisibility(),
      ...observability,
    });
    const ids = ['m-1', 'm-2', 'm-3'];
    for (const id of ids) store.put({ bucket: 'raw', key: id }, simpleMessage());

    // Act
    await ingest({ Records: ids.map((id) => sqsRecord(`i-${id}`, notificationBody(id))) }, context);
    const response = await forward({ Records: jobs.sent.map((sent, i) => sqsRecord(`f-${i}`, JSON.stringify(sent.job))) }, context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.relays).toBe(3);
    expect(relay.maxActive).toBe(1);
    expect(parsing.maxActive).toBeGreaterThan(1);
  });
});
/**
 * Ingests one message per [id, recipient] at the clock's time, lets `afterMs` pass, then
 * runs one forward batch over them against a relay scripted by `script`: the metrics the
 * handler recorded, and its warnings.
 */
async function forwardBatch(messages: Array<[string, string]>, script: (relay: ScriptedRelay) => void, afterMs = 0) {
  const index = new MemoryMessageIndex();
  const store = new MemoryRawMailStore();
  const queue = new RecordingForwardQueue();
  const clock = new ManualClock('2026-11-20T10:00:00Z');
  const observability = createObservability('test');
  for (const [id, rcpt] of messages) {
    store.put({ bucket: 'raw', key: id }, simpleMessage());
    await ingestMessage(
      receivedMail({
        sesMessageId: id,
        raw: { bucket: 'raw', key: id },
        envelopeRecipients: [rcpt],
        receivedAt: clock.now().toISOString(),
      }),
      {
        index,
        rawStore: store,
        parser: new MailparserMimeParser(),
        forwardQueue: queue,
        clock,
        workerId: 'i',
        config: { retentionDays: 28, stackId: 's', leaseMs: 1000, subaddressSeparator: '+' },
      },
    );
  }
  clock.advance(afterMs);
  const relay = new ScriptedRelay();
  script(relay);
  const addMetric = vi.spyOn(observability.metrics, 'addMetric');
  const warn = vi.spyOn(observability.logger, 'warn');
  const handler = createForwardHandler({
    index,
    rawStore: store,
    relay,
    forwardQueue: new RecordingForwardQueue(),
    clock,
    config: { stackId: 's', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 1000 },
    retryVisibility: new RecordingMessageVisibility(),
    ...observability,
  });
  await handler({ Records: queue.sent.map((sent, i) => sqsRecord(`r-${i}`, JSON.stringify(sent.job))) }, context);
  return { recorded: addMetric.mock.calls.map(([name, unit, value]) => ({ name, unit, value })), warn };
}

describe('AWS environment contract', () => {
  const complete = {
    SHADOWMAIL_TABLE_NAME: 'table',
    SHADOWMAIL_FORWARD_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/forward',
    SHADOWMAIL_SMART_HOST: 'mx.corp.example',
    SHADOWMAIL_SOURCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/forward',
  };

  it('applies the documented defaults', () => {
    expect(readAwsForwardEnv(complete)).toMatchObject({
      SHADOWMAIL_SMART_HOST_PORT: 587,
      SHADOWMAIL_SMART_HOST_TLS: 'starttls-required',
      SHADOWMAIL_RETENTION_DAYS: 28,
      SHADOWMAIL_FORWARD_MAX_AGE_DAYS: 5,
    });
  });

  it.each([
    ['SHADOWMAIL_SMART_HOST', undefined],
    ['SHADOWMAIL_SMART_HOST_TLS', 'sometimes'],
    ['SHADOWMAIL_FORWARD_QUEUE_URL', 'not a url'],
    ['SHADOWMAIL_SOURCE_QUEUE_URL', undefined],
  ])('names %s when it is wrong or missing', (variable, value) => {
    const env: Record<string, string | undefined> = { ...complete, [variable]: value };
    expect(() => readAwsForwardEnv(env)).toThrow(ConfigurationError);
    expect(() => readAwsForwardEnv(env)).toThrow(new RegExp(`^${variable}: `));
  });
});

describe('webmail Lambda entry point', () => {
  it('refuses to start without its configuration, naming the variable', async () => {
    // Prepare: no webmail variables in this environment
    const { handler } = await import('../../../lambdas/entry/webmail.ts');
    const event = { version: '2.0', rawPath: '/', rawQueryString: '', headers: {}, requestContext: { http: { method: 'GET', path: '/' } } };

    // Act / Assess
    await expect(handler(event as never, context)).rejects.toThrow(/^SHADOWMAIL_[A-Z_]+: /);
  });
});
