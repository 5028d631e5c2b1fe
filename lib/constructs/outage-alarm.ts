// The backlog alarm's link (issue 13, "declaring the outage from a phone"): a function
// subscribed to the alarm topic that sends each break-glass admin a signed, single-use
// link by SMS (SNS) and to their private address (SES) when the forward backlog alarm
// goes to ALARM, and what the webmail's /declare page needs to show the backlog.
// The subscription filters on the notification's body (SNS payload-based filtering,
// https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html): the function
// runs only for that alarm's ALARM notifications; the handler checks the same again.
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ALARM_ENV, ENV, WEB_ENV } from '../../lambdas/contract/environment.ts';
import { messageTableKeys, SINGLE_USE_PREFIX } from '../../lambdas/contract/message-table.ts';
import type { ShadowmailConfig } from '../config.ts';
import { MailFunction } from './mail-function.ts';
import { noticeSender } from './webmail.ts';

export interface OutageAlarmProps {
  config: ShadowmailConfig;
  table: dynamodb.ITable;
  /** Monitoring.alarmTopic: every alarm of the deployment publishes there. */
  alarmTopic: sns.ITopic;
  /** The forward backlog alarm's full name (`<stackId>-forward-backlog-age`). */
  backlogAlarmName: string;
  failoverParameter: ssm.IStringParameter;
  /** The webmail's session secret: the link key is derived from it (HKDF, its own label). */
  sessionSecret: secretsmanager.ISecret;
  /** The webmail's public URL: the links point there. */
  publicUrl: string;
  /** The mail domains' SES identities; the mail comes from an address at the first. */
  sesIdentityArns: string[];
  /** The webmail function: /declare reads the forward queue's counts. */
  webmailFunction: MailFunction;
  forwardQueue: sqs.IQueue;
}

export class OutageAlarm extends Construct {
  readonly function: MailFunction;

  constructor(scope: Construct, id: string, props: OutageAlarmProps) {
    super(scope, id);
    const { config } = props;
    if (config.breakGlass.admins.length === 0)
      throw new Error(`${this.node.path}: no break-glass admins to send the backlog alarm link to`);

    this.function = new MailFunction(this, 'Function', {
      entry: 'lambdas/entry/outage-alarm.ts',
      description: 'shadowmail outage alarm: the backlog alarm link to the break-glass admins (SMS, private mail)',
      timeout: Duration.seconds(60),
      memoryMiB: 256,
      environment: { [ENV.tableName]: props.table.tableName, [ENV.stackId]: config.stackId },
    });
    const environment: Record<string, string> = {
      [ALARM_ENV.backlogAlarmName]: props.backlogAlarmName,
      [ALARM_ENV.admins]: JSON.stringify(config.breakGlass.admins),
      // The failover notices' sender: one address at a mail domain SES verified for the webmail already.
      [ALARM_ENV.noticeFrom]: noticeSender(config),
      [WEB_ENV.failoverParameter]: props.failoverParameter.parameterName,
      [WEB_ENV.sessionSecretArn]: props.sessionSecret.secretArn,
      [WEB_ENV.publicUrl]: props.publicUrl,
      [WEB_ENV.timeZone]: config.webmail.timeZone,
    };
    for (const [name, value] of Object.entries(environment)) this.function.function.addEnvironment(name, value);
    this.grant(props);

    props.alarmTopic.addSubscription(
      new subscriptions.LambdaSubscription(this.function.function, {
        filterPolicyWithMessageBody: {
          AlarmName: sns.FilterOrPolicy.filter(sns.SubscriptionFilter.stringFilter({ allowlist: [props.backlogAlarmName] })),
          NewStateValue: sns.FilterOrPolicy.filter(sns.SubscriptionFilter.stringFilter({ allowlist: ['ALARM'] })),
        },
      }),
    );

    // The webmail's /declare page (its admins come from WEB_ENV.breakGlassAdmins, which Webmail sets): the forward queue's counts.
    const webmail = props.webmailFunction;
    webmail.function.addEnvironment(ENV.forwardQueueUrl, props.forwardQueue.queueUrl);
    webmail.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: [props.forwardQueue.queueArn] }),
    );
  }

  /**
   * Exactly the calls of the alarm use case: put and delete of its episode keys and put of
   * audit entries (dynamodb:LeadingKeys); the flag read; the session secret; SMS; mail
   * from the mail domains.
   */
  private grant(props: OutageAlarmProps): void {
    const role = this.function.role;
    const episodes = `${messageTableKeys.singleUse(SINGLE_USE_PREFIX.alarmEpisode).pk}*`;
    const audit = `${messageTableKeys.auditDay('')}*`;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [props.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [episodes, audit] } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [props.failoverParameter.parameterArn] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.sessionSecret.secretArn] }),
    );
    // Publishing to a phone number has no resource ARN: IAM needs "*" (Step Functions' SNS
    // policies, https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html). The deny
    // keeps that "*" from reaching any topic.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'SmsToPhoneNumbers', actions: ['sns:Publish'], resources: ['*'] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'NoTopics', effect: iam.Effect.DENY, actions: ['sns:Publish'], resources: ['arn:*:sns:*:*:*'] }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ses:SendEmail'], resources: props.sesIdentityArns }));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'sns:Publish to a phone number has no resource ARN, so IAM needs "*" for it; a Deny on every topic ARN keeps the statement from publishing to any topic.',
    });
  }
}
