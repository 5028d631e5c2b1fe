// The stateful half of a deployment: everything that holds mail or mail state
// (raw-mail bucket and its key, message index, pipeline queues). Deployed
// rarely, retained on stack deletion; the stateless pipeline stack can be torn
// down and rebuilt against it without losing a message.
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FORWARD_LIMITS, INGEST_LIMITS, RESEND_LIMITS } from '../../lambdas/contract/pipeline-limits.ts';
import { RAW_MAIL_PREFIX } from '../../lambdas/contract/raw-mail-bucket.ts';
import type { ShadowmailConfig } from '../config.ts';
import { RetainedElasticIp } from '../constructs/egress-network.ts';
import { inboundMailNames, storingRuleArns } from '../constructs/inbound-mail.ts';
import { InboundNotifications } from '../constructs/inbound-notifications.ts';
import { MessageIndex } from '../constructs/message-index.ts';
import { RawMailBucket } from '../constructs/raw-mail-bucket.ts';
import { WorkQueue } from '../constructs/work-queue.ts';
import { type DeadLetterQueueLabel, deadLetterQueueOutputKey, INGEST_QUEUE_OUTPUT_KEY } from '../stack-outputs.ts';

export interface StatefulStackProps extends StackProps {
  config: ShadowmailConfig;
}

export class StatefulStack extends Stack {
  readonly rawMail: RawMailBucket;
  readonly messageIndex: MessageIndex;
  /** SES notifications (SNS topic below) → ingest function. */
  readonly ingestQueue: WorkQueue;
  /** The topic SES notifies after each write; here because the ingest queue subscribes to it (no cross-stack cycle). */
  readonly inboundNotifications: InboundNotifications;
  /** The NAT gateway's address when the configuration asks for fixed egress without an own Elastic IP: kept across redeploys. */
  readonly natElasticIp?: RetainedElasticIp;
  /** Forward jobs → forward function; holds a job for the whole forward window. */
  readonly forwardQueue: WorkQueue;
  /** Resend steps (admin console and CLI) → resend worker. */
  readonly resendQueue: WorkQueue;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.rawMail = new RawMailBucket(this, 'RawMail', {
      retentionDays: config.retentionDays,
      keyAlias: `alias/${config.stackId}/mail`,
      rawPrefix: RAW_MAIL_PREFIX,
    });
    this.messageIndex = new MessageIndex(this, 'MessageIndex');
    this.ingestQueue = new WorkQueue(this, 'IngestQueue', { consumer: INGEST_LIMITS });
    this.forwardQueue = new WorkQueue(this, 'ForwardQueue', {
      consumer: FORWARD_LIMITS,
      minRetention: Duration.days(config.forwardMaxAgeDays),
    });
    this.resendQueue = new WorkQueue(this, 'ResendQueue', { consumer: RESEND_LIMITS });

    // SES writes and notifies only for our receipt rules (the stack's and the directory sync's);
    // their ARNs are built from fixed names, so this stack need not wait for (or reference) the stateless one.
    const ruleArns = storingRuleArns(this, inboundMailNames(config.stackId));
    this.rawMail.allowSesDelivery(ruleArns);
    this.inboundNotifications = new InboundNotifications(this, 'InboundNotifications', {
      key: this.rawMail.key,
      ingestQueue: this.ingestQueue.queue,
      receiptRuleArns: ruleArns,
      bucket: this.rawMail.bucket,
      rawPrefix: RAW_MAIL_PREFIX,
    });

    if (config.natGateway && !config.natGateway.elasticIpAllocationId) this.natElasticIp = new RetainedElasticIp(this, 'NatElasticIp');

    // What `shadowmail … --stack <stackId>` reads to find a deployment (bin/commands/deployed-target.ts).
    new CfnOutput(this, 'TableName', {
      value: this.messageIndex.table.tableName,
      description: 'The message index (trace, resend, directory sync: --table)',
    });
    new CfnOutput(this, 'RawMailBucketName', { value: this.rawMail.bucket.bucketName, description: 'Raw mail as SES stored it' });
    new CfnOutput(this, 'ResendQueueUrl', {
      value: this.resendQueue.queue.queueUrl,
      description: 'Resend jobs (shadowmail resend --stack)',
    });
    new CfnOutput(this, INGEST_QUEUE_OUTPUT_KEY, {
      value: this.ingestQueue.queue.queueUrl,
      description: 'SES notifications to index (shadowmail redrive --queue notifications copies back to it)',
    });
    for (const [label, queue] of Object.entries(this.deadLetterQueues) as Array<[DeadLetterQueueLabel, sqs.IQueue]>) {
      new CfnOutput(this, deadLetterQueueOutputKey(label), {
        value: queue.queueUrl,
        description: `The ${label} dead-letter queue (shadowmail redrive --queue ${label})`,
      });
    }
  }

  /** Every dead-letter queue of the deployment by its label: alarms, outputs and the redrive use the same. */
  get deadLetterQueues(): Record<DeadLetterQueueLabel, sqs.IQueue> {
    return {
      ingest: this.ingestQueue.deadLetterQueue,
      forward: this.forwardQueue.deadLetterQueue,
      resend: this.resendQueue.deadLetterQueue,
      notifications: this.inboundNotifications.deadLetterQueue,
    };
  }
}
