// DeadLetterRedrive on SQS, in the two ways SQS allows: SqsMoveTaskRedrive
// (StartMessageMoveTask, only for a DLQ of another SQS queue, one task per queue) and
// SqsCopyRedrive for the DLQ an SNS subscription filled: receive, send to the queue the
// subscription feeds, delete only after SQS accepted the copy — a crash leaves a
// duplicate, never a loss (docs/design.md §8).
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { DeadLetterRedrive, QueueDepth, RedriveProgress, RedriveState } from '../../ports/dead-letter-redrive.ts';

async function queueAttributes(client: SQSClient, queueUrl: string): Promise<QueueDepth & { arn: string }> {
  const { Attributes: attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    arn: attributes.QueueArn ?? '',
    waiting: Number(attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

const STATES: Record<string, RedriveState> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  CANCELLING: 'cancelling',
  CANCELLED: 'cancelled',
  FAILED: 'failed',
};

function progressOf(task: ListMessageMoveTasksResultEntry): RedriveProgress {
  return {
    state: STATES[task.Status ?? ''] ?? 'failed',
    moved: task.ApproximateNumberOfMessagesMoved ?? 0,
    ...(task.ApproximateNumberOfMessagesToMove !== undefined && { toMove: task.ApproximateNumberOfMessagesToMove }),
    ...(task.FailureReason && { failureReason: task.FailureReason }),
    ...(task.StartedTimestamp !== undefined && { startedAt: new Date(task.StartedTimestamp).toISOString() }),
  };
}

/** A DLQ of SQS queues: a message move task back to each message's source queue. */
export class SqsMoveTaskRedrive implements DeadLetterRedrive {
  private arn: string | undefined;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    readonly destination: string,
  ) {}

  async depth(): Promise<QueueDepth> {
    const { arn, waiting, inFlight } = await queueAttributes(this.client, this.queueUrl);
    this.arn = arn;
    return { waiting, inFlight };
  }

  async current(): Promise<RedriveProgress | undefined> {
    const latest = await this.latest();
    return latest && (latest.state === 'running' || latest.state === 'cancelling') ? latest : undefined;
  }

  async latest(): Promise<RedriveProgress | undefined> {
    const { Results: results = [] } = await this.client.send(
      new ListMessageMoveTasksCommand({ SourceArn: await this.sourceArn(), MaxResults: 1 }),
    );
    return results[0] && progressOf(results[0]);
  }

  async start(): Promise<RedriveProgress> {
    // No DestinationArn: each message goes back to the queue it was dead-lettered from.
    await this.client.send(new StartMessageMoveTaskCommand({ SourceArn: await this.sourceArn() }));
    return (await this.latest()) ?? { state: 'running', moved: 0 };
  }

  private async sourceArn(): Promise<string> {
    this.arn ??= (await queueAttributes(this.client, this.queueUrl)).arn;
    return this.arn;
  }
}

/** Receive at most this many per call (the SQS maximum), and wait this long for them (long polling asks every server). */
const RECEIVE_BATCH = 10;
const RECEIVE_WAIT_SECONDS = 2;
/** Long enough to send and delete one batch; a message whose copy failed comes back after it. */
const COPY_VISIBILITY_SECONDS = 120;

/** A DLQ that an SNS subscription filled: its messages copied to the subscribed queue, then deleted. */
export class SqsCopyRedrive implements DeadLetterRedrive {
  private last: RedriveProgress | undefined;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly destinationQueueUrl: string,
    readonly destination: string,
  ) {}

  async depth(): Promise<QueueDepth> {
    const { waiting, inFlight } = await queueAttributes(this.client, this.queueUrl);
    return { waiting, inFlight };
  }

  async current(): Promise<RedriveProgress | undefined> {
    return undefined;
  }

  async latest(): Promise<RedriveProgress | undefined> {
    return this.last;
  }

  /** Copies until a receive comes back empty, or stops at the first batch SQS did not take whole. */
  async start(): Promise<RedriveProgress> {
    const startedAt = new Date().toISOString();
    const { waiting } = await this.depth();
    let moved = 0;
    for (;;) {
      const { Messages: messages = [] } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: RECEIVE_BATCH,
          WaitTimeSeconds: RECEIVE_WAIT_SECONDS,
          VisibilityTimeout: COPY_VISIBILITY_SECONDS,
        }),
      );
      if (messages.length === 0) break;
      const entries = messages.map((message, i) => ({ Id: String(i), MessageBody: message.Body ?? '' }));
      const sent = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.destinationQueueUrl, Entries: entries }));
      const copied = (sent.Successful ?? []).map((entry) => messages[Number(entry.Id)]!);
      if (copied.length > 0) {
        // A delete SQS does not take leaves the message to come back and be copied again: a duplicate the ingest ignores.
        await this.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: copied.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })),
          }),
        );
      }
      moved += copied.length;
      const failed = sent.Failed ?? [];
      if (failed.length > 0) {
        const reasons = [...new Set(failed.map((failure) => `${failure.Code}: ${failure.Message ?? ''}`.trim()))].join('; ');
        this.last = {
          state: 'failed',
          moved,
          toMove: Math.max(waiting, moved + failed.length),
          failureReason: `${failed.length} not accepted by ${this.destination} (${reasons}); they stay in the dead-letter queue`,
          startedAt,
        };
        return this.last;
      }
    }
    this.last = { state: 'completed', moved, toMove: Math.max(waiting, moved), startedAt };
    return this.last;
  }
}
