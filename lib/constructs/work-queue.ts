// A pipeline queue with its dead-letter queue: SQS-managed encryption (an SNS
// topic can deliver to it without a key grant), TLS only, retention at the SQS
// maximum so an outage of a consumer loses nothing, and a visibility timeout
// derived from the consumer's limits.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ConsumerLimits } from '../../lambdas/contract/pipeline-limits.ts';
import { SQS_MAX_RETENTION_DAYS } from '../config.ts';
import { visibilityTimeoutFor } from '../pipeline-limits.ts';

export interface WorkQueueProps {
  consumer: ConsumerLimits;
  /** How long the queue must be able to hold a message; SQS allows at most 14 days. */
  minRetention?: Duration;
}

/** What every queue of a deployment shares, dead-letter queues included (see the top of this file). */
export const DURABLE_QUEUE_PROPS = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
  retentionPeriod: Duration.days(SQS_MAX_RETENTION_DAYS),
  removalPolicy: RemovalPolicy.RETAIN,
} as const satisfies sqs.QueueProps;

export class WorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    if (props.minRetention && props.minRetention.toSeconds() > DURABLE_QUEUE_PROPS.retentionPeriod.toSeconds()) {
      throw new Error(
        `${this.node.path}: SQS keeps messages at most ${SQS_MAX_RETENTION_DAYS} days, ${props.minRetention.toHumanString()} asked`,
      );
    }
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', DURABLE_QUEUE_PROPS);
    this.queue = new sqs.Queue(this, 'Queue', {
      ...DURABLE_QUEUE_PROPS,
      visibilityTimeout: visibilityTimeoutFor(props.consumer),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.consumer.maxReceiveCount },
    });
  }
}
