// The SNS topic SES notifies after each message it stored in S3, delivering to
// the ingest queue, the subscription's own dead-letter queue, and the role SES's S3
// action works as. Stateful: the queue it feeds, the bucket and the key live there,
// and the receipt rule (stateless stack) only names their ARNs. Encrypted with the
// mail key (the notification carries headers), TLS only, and only the storing receipt
// rules of this account may publish (the stack's own and the directory sync's).
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DURABLE_QUEUE_PROPS } from './work-queue.ts';

export interface InboundNotificationsProps {
  /** Encrypts the topic; the key gets a statement letting SES use it through SNS. */
  key: kms.IKey;
  /** Receives every notification (the ingest queue). */
  ingestQueue: sqs.IQueue;
  /** The receipt rules allowed to publish (storingRuleArns of lib/constructs/inbound-mail.ts; ARN patterns). */
  receiptRuleArns: string[];
  /** The raw-mail bucket SES writes into, and the prefix it writes under. */
  bucket: s3.Bucket;
  rawPrefix: string;
}

export class InboundNotifications extends Construct {
  readonly topic: sns.Topic;
  /**
   * Where SNS puts a notification it could not deliver to the ingest queue: nothing is dropped.
   * Its own queue, not the ingest DLQ: SQS's message move task redrives only messages an SQS
   * queue dead-lettered, "Non-SQS queue sources of dead-letter queues, such as ... Amazon SNS
   * topics, are currently not supported" (SQS API Reference, StartMessageMoveTask), so these
   * go back by `shadowmail redrive --queue notifications` (copy to the ingest queue).
   */
  readonly deadLetterQueue: sqs.Queue;
  /**
   * The role the receipt rule's S3 action names (IamRoleArn): with it SES writes the
   * object (SSE-KMS with the mail key) and publishes to the encrypted topic as this role,
   * the documented way for a KMS-encrypted bucket and topic. Only SES, and only for our
   * receipt rule of this account, may assume it.
   */
  readonly deliveryRole: iam.Role;

  constructor(scope: Construct, id: string, props: InboundNotificationsProps) {
    super(scope, id);
    const { account, region } = Stack.of(this);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'shadowmail: SES receipt notifications',
      masterKey: props.key,
      enforceSSL: true,
    });

    const ses = new iam.ServicePrincipal('ses.amazonaws.com');
    const fromTheRules = {
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': props.receiptRuleArns },
    };
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSesReceiptRulePublish',
        principals: [ses],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromTheRules,
      }),
    );
    // A publisher to an encrypted topic needs a data key from the topic's key; only through SNS.
    // (No topic-ARN encryption-context condition: the key policy would reference the topic, which references the key.)
    props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSesReceiptRuleSnsPublish',
        principals: [ses],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { ...fromTheRules.StringEquals, 'kms:ViaService': `sns.${region}.amazonaws.com` },
          ArnLike: fromTheRules.ArnLike,
        },
      }),
    );

    this.deliveryRole = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('ses.amazonaws.com', { conditions: fromTheRules }),
      description: 'shadowmail: SES receipt rule S3 action (store raw mail, encrypt with the mail key, notify the ingest topic)',
    });
    const objects = props.bucket.arnForObjects(`${props.rawPrefix}*`);
    this.deliveryRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects] }));
    // S3 asks KMS for the object's data key as the writer; Decrypt for multipart uploads of large messages.
    this.deliveryRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'], resources: [props.key.keyArn] }),
    );
    this.deliveryRole.addToPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    const stack = Stack.of(this);
    const bucketId = stack.resolve(stack.getLogicalId(props.bucket.node.defaultChild as s3.CfnBucket)) as string;
    Validations.of(this.deliveryRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${props.rawPrefix}*]`,
      reason: 'SES names each object after its message id, unknown in advance: PutObject under the raw-mail prefix, and only there.',
    });

    // SSE-SQS like every queue here: SNS delivers to it without a key grant (the ingest queue proves the way).
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', DURABLE_QUEUE_PROPS);
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the SNS subscription to the ingest queue (its RedrivePolicy), not of another SQS queue, which is what the check looks for.',
    });
    // The SNS envelope is kept (no raw delivery): ingest parses it (lambdas/handlers/ses-receipt-event.ts),
    // local mode wraps its notifications the same way, and a message copied back from the DLQ looks alike.
    // The subscription adds the DLQ's queue policy: SNS may send, only for this topic.
    this.topic.addSubscription(
      new SqsSubscription(props.ingestQueue, { rawMessageDelivery: false, deadLetterQueue: this.deadLetterQueue }),
    );
  }
}
