// `shadowmail redrive --stack STACK_ID` against a deployed stack's dead-letter queues, as
// an admin runs it after a DLQ alarm: CloudFormation and SQS are the small fakes of
// cli-deployed-aws-fakes.ts behind their endpoint variables, the real SQS client talks to
// them. The ingest, forward and resend DLQs go back by a message move task (no destination:
// back to the queue they came from), the notifications DLQ by copy to the ingest queue,
// deleted only once the copy was accepted. The command runs in-process through bin/cli.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildReceiptNotification, parseIngestRecord, wrapInSnsEnvelope } from '../../../../lambdas/handlers/ses-receipt-event.ts';
import { type FakeAws, type FakeQueue, startFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';

const STACK = 'corp-mail';
const REGION = 'eu-central-1';
const LABELS = ['ingest', 'forward', 'resend', 'notifications'] as const;

const run = runCli;

/** What SNS put into the subscription's DLQ: the envelope the ingest queue would have received. */
function undelivered(id: string): string {
  const notification = buildReceiptNotification({
    sesMessageId: id,
    receivedAt: new Date('2030-03-01T09:00:00Z'),
    envelopeFrom: 'partner@example.org',
    envelopeRecipients: ['bob@corp.test'],
    bucket: 'corp-mail-raw',
    key: `raw/${id}`,
    headers: [],
    commonHeaders: { subject: `notice ${id}` },
  });
  return wrapInSnsEnvelope(notification, `sns-${id}`);
}

describe('shadowmail redrive against a deployed stack', () => {
  let aws: FakeAws;
  const savedEnv = { ...process.env };
  const url = (name: string) => `${aws.endpoint}/123456789012/${STACK}-${name}`;
  let work: Record<'ingest' | 'forward' | 'resend', FakeQueue>;
  let dlq: Record<(typeof LABELS)[number], FakeQueue>;

  beforeAll(async () => {
    aws = await startFakeAws();
    Object.assign(process.env, aws.cliEnv());
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    delete process.env.AWS_PROFILE;
    aws.stacks.set(`${STACK}-stateful`, {
      TableName: 'corp-mail-messages',
      IngestQueueUrl: url('ingest'),
      DeadLetterQueueIngestUrl: url('ingest-dlq'),
      DeadLetterQueueForwardUrl: url('forward-dlq'),
      DeadLetterQueueResendUrl: url('resend-dlq'),
      DeadLetterQueueNotificationsUrl: url('notifications-dlq'),
    });
    // A stack of an earlier version: no dead-letter queue outputs.
    aws.stacks.set('old-mail-stateful', { TableName: 'old-mail-messages', ResendQueueUrl: `${aws.endpoint}/123456789012/old-mail-resend` });
  });

  beforeEach(() => {
    aws.queues.clear();
    aws.refuseSend = undefined;
    aws.failMoveTasks = undefined;
    work = { ingest: aws.addQueue(url('ingest')), forward: aws.addQueue(url('forward')), resend: aws.addQueue(url('resend')) };
    dlq = {
      ingest: aws.addQueue(url('ingest-dlq'), { redriveSourceUrl: url('ingest') }),
      forward: aws.addQueue(url('forward-dlq'), { redriveSourceUrl: url('forward') }),
      resend: aws.addQueue(url('resend-dlq'), { redriveSourceUrl: url('resend') }),
      notifications: aws.addQueue(url('notifications-dlq')),
    };
  });

  afterAll(async () => {
    process.env = savedEnv;
    await aws?.close();
  });

  const put = (queue: FakeQueue, ...bodies: string[]) =>
    queue.messages.push(...bodies.map((body, i) => ({ messageId: `m-${queue.messages.length + i}`, body })));
  const actionsSince = (before: number) =>
    aws.requests
      .slice(before)
      .filter((r) => r.service === 'sqs')
      .map((r) => r.action);

  it('shows with --dry-run how many messages wait in each dead-letter queue, and moves nothing', async () => {
    // Prepare
    put(dlq.forward, '{"sesMessageId":"f-1"}', '{"sesMessageId":"f-2"}');
    put(dlq.notifications, undelivered('n-1'));
    const before = aws.requests.length;

    // Act
    const result = await run('redrive', '--stack', STACK, '--region', REGION, '--dry-run');

    // Assess
    expect(result.code, result.err).toBe(0);
    expect(result.out.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^ingest\s+empty$/),
      expect.stringMatching(/^forward\s+2 waiting: would move them back to the forward queue$/),
      expect.stringMatching(/^resend\s+empty$/),
      expect.stringMatching(/^notifications\s+1 waiting: would move them back to the ingest queue$/),
      `redrive of stack ${STACK} (${REGION}): 3 messages would move`,
    ]);
    expect(new Set(actionsSince(before))).toEqual(new Set(['GetQueueAttributes', 'ListMessageMoveTasks']));
    expect(dlq.forward.messages).toHaveLength(2);
    expect(dlq.notifications.messages).toHaveLength(1);
  });

  it('moves SQS-sourced dead letters by a move task back to their queue, and copies the notifications SNS could not deliver to the ingest queue unchanged', async () => {
    // Prepare
    put(dlq.forward, '{"sesMessageId":"f-1"}', '{"sesMessageId":"f-2"}');
    put(dlq.resend, '{"type":"step"}');
    const notices = ['n-1', 'n-2', 'n-3'].map(undelivered);
    put(dlq.notifications, ...notices);
    const before = aws.requests.length;

    // Act
    const result = await run('redrive', '--stack', STACK, '--region', REGION);

    // Assess
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/^forward\s+done: 2 of 2 moved back to the forward queue$/m);
    expect(result.out).toMatch(/^resend\s+done: 1 of 1 moved back to the resend queue$/m);
    expect(result.out).toMatch(/^notifications\s+done: 3 of 3 moved back to the ingest queue$/m);
    expect(result.out).toMatch(/^ingest\s+empty$/m);
    expect(result.out.trimEnd().split('\n').at(-1)).toBe(`redrive of stack ${STACK} (${REGION}): 6 messages moved`);
    const starts = aws.requests
      .slice(before)
      .filter((r) => r.action === 'StartMessageMoveTask')
      .map((r) => r.params);
    expect(starts).toEqual([{ SourceArn: dlq.forward.arn }, { SourceArn: dlq.resend.arn }]);
    expect(work.forward.messages.map((m) => m.body)).toEqual(['{"sesMessageId":"f-1"}', '{"sesMessageId":"f-2"}']);
    expect(work.resend.messages.map((m) => m.body)).toEqual(['{"type":"step"}']);
    // The copies are the DLQ's bodies byte for byte, which the ingest reads as the mail they announce.
    expect(work.ingest.messages.map((m) => m.body)).toEqual(notices);
    expect(work.ingest.messages.map((m) => parseIngestRecord(m.body))).toEqual(
      ['n-1', 'n-2', 'n-3'].map((id) => ({
        kind: 'received',
        mail: expect.objectContaining({ sesMessageId: id, envelopeRecipients: ['bob@corp.test'] }),
      })),
    );
    for (const label of LABELS) expect(dlq[label].messages, label).toEqual([]);
  });

  it('never deletes a notification whose copy SQS refused: it stays in the dead-letter queue and the command says so', async () => {
    // Prepare
    const notices = ['n-1', 'n-2'].map(undelivered);
    put(dlq.notifications, ...notices);
    aws.refuseSend = (queueUrl, body) => queueUrl === url('ingest') && body === notices[1];

    // Act
    const result = await run('redrive', '--stack', STACK, '--region', REGION, '--queue', 'notifications');

    // Assess
    expect(result.code).toBe(3);
    expect(result.out).toMatch(
      /^notifications\s+FAILED: 1 of 2 moved — 1 not accepted by the ingest queue \(InternalError: refused by the test\); they stay in the dead-letter queue$/m,
    );
    expect(work.ingest.messages.map((m) => m.body)).toEqual([notices[0]]);
    expect(dlq.notifications.messages.map((m) => m.body)).toEqual([notices[1]]);
    expect(result.out.trimEnd().split('\n').at(-1)).toBe(`redrive of stack ${STACK} (${REGION}): 1 message moved, 1 queue need attention`);
  });

  it('reports a failed move task with its reason', async () => {
    // Prepare
    put(dlq.ingest, undelivered('i-1'));
    aws.failMoveTasks = 'AccessDenied: not allowed to send to the source queue';

    // Act
    const result = await run('redrive', '--stack', STACK, '--region', REGION, '--queue', 'ingest');

    // Assess
    expect(result.code).toBe(3);
    expect(result.out).toMatch(/^ingest\s+FAILED: 0 of 1 moved — AccessDenied: not allowed to send to the source queue$/m);
    expect(dlq.ingest.messages).toHaveLength(1);
  });

  it('follows a move task that is already running instead of starting a second one', async () => {
    // Prepare: SQS allows one move task per queue; this one finishes while the command follows it
    const running = {
      TaskHandle: 'task-1',
      Status: 'RUNNING' as const,
      SourceArn: dlq.forward.arn,
      ApproximateNumberOfMessagesMoved: 2,
      ApproximateNumberOfMessagesToMove: 5,
      StartedTimestamp: Date.parse('2030-03-01T10:00:00Z'),
    };
    dlq.forward.moveTasks.push(running);
    const finished = setTimeout(() => Object.assign(running, { Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 5 }), 300);
    const before = aws.requests.length;

    // Act
    const result = await run('redrive', '--stack', STACK, '--region', REGION, '--queue', 'forward');
    clearTimeout(finished);

    // Assess
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/^forward\s+a move started 2030-03-01T10:00:00.000Z is still running \(2 of 5 moved\): following it$/m);
    expect(result.out).toMatch(/^forward\s+done: 5 of 5 moved back to the forward queue$/m);
    expect(actionsSince(before)).not.toContain('StartMessageMoveTask');
  });

  it('answers bad input and a stack without the dead-letter queue outputs with one clear line', async () => {
    // Act
    const unknownQueue = await run('redrive', '--stack', STACK, '--region', REGION, '--queue', 'outbound');
    const noStack = await run('redrive', '--queue', 'ingest');
    const oldStack = await run('redrive', '--stack', 'old-mail', '--region', REGION);
    const help = await run('redrive', '--help');

    // Assess
    expect(unknownQueue.code).toBe(2);
    expect(unknownQueue.err.split('\n')[0]).toBe(
      'shadowmail redrive: --queue must be one of ingest, forward, resend, notifications, not "outbound"',
    );
    expect(noStack.code).toBe(2);
    expect(noStack.err.split('\n')[0]).toBe(
      'shadowmail redrive: --stack STACK_ID is required: only a deployed stack has dead-letter queues',
    );
    expect(oldStack.code).toBe(2);
    expect(oldStack.err).toBe(
      `shadowmail redrive: stack old-mail-stateful (${REGION}) has no output DeadLetterQueueIngestUrl: deploy the current version of shadowmail\n`,
    );
    expect(help.code).toBe(0);
    expect(help.out).toContain('--queue ingest|forward|resend|notifications');
  });
});
