// The SNS topic SES notifies after each message it stored in S3, delivering to
// the ingest queue. Stateful: the queue it feeds and the key it uses live
// there, and the receipt rule (stateless stack) only names its ARN. Encrypted
// with the mail key (the notification carries headers), TLS only, and only the
// one receipt rule of this account may publish.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface InboundNotificationsProps {
  /** Encrypts the topic; the key gets a statement letting SES use it through SNS. */
  key: kms.IKey;
  /** Receives every notification (the ingest queue). */
  ingestQueue: sqs.IQueue;
  /** Where SNS puts a notification it could not deliver to the queue (the ingest DLQ): nothing is dropped. */
  deliveryDeadLetterQueue: sqs.IQueue;
  /** The receipt rule allowed to publish (receiptRuleArn of lib/constructs/inbound-mail.ts). */
  receiptRuleArn: string;
}

export class InboundNotifications extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: InboundNotificationsProps) {
    super(scope, id);
    const { account, region } = Stack.of(this);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'shadowmail: SES receipt notifications',
      masterKey: props.key,
      enforceSSL: true,
    });

    const ses = new iam.ServicePrincipal('ses.amazonaws.com');
    const fromTheRule = { 'aws:SourceAccount': account, 'aws:SourceArn': props.receiptRuleArn };
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSesReceiptRulePublish',
        principals: [ses],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: fromTheRule },
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
        conditions: { StringEquals: { ...fromTheRule, 'kms:ViaService': `sns.${region}.amazonaws.com` } },
      }),
    );

    // The SNS envelope is kept (no raw delivery): ingest parses it (lambdas/handlers/ses-receipt-event.ts),
    // local mode wraps its notifications the same way, and a message redriven from the DLQ looks alike.
    this.topic.addSubscription(new SqsSubscription(props.ingestQueue, { rawMessageDelivery: false, deadLetterQueue: props.deliveryDeadLetterQueue }));
  }
}
