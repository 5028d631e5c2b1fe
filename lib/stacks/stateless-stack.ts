// The stateless half: the ingest, forward and resend functions fed by the queues
// of the stateful stack, each granted exactly what its use case touches. Replaceable
// at any time: a redeploy changes code, never data.
import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BACKLOG_ALARM_SUFFIX, ENV } from '../../lambdas/contract/environment.ts';
import { type ConsumerLimits, FORWARD_LIMITS, INGEST_LIMITS, RESEND_LIMITS } from '../../lambdas/contract/pipeline-limits.ts';
import { splitPrimarySessions } from '../../lambdas/contract/primary-sessions.ts';
import type { ShadowmailConfig } from '../config.ts';
import { DirectorySyncRole } from '../constructs/directory-sync-role.ts';
import { EgressNetwork } from '../constructs/egress-network.ts';
import { InboundMail, inboundMailNames } from '../constructs/inbound-mail.ts';
import { type ContractEnvironment, MailFunction } from '../constructs/mail-function.ts';
import { Monitoring } from '../constructs/monitoring.ts';
import { OutageAlarm } from '../constructs/outage-alarm.ts';
import { ReconcileRole } from '../constructs/reconcile-role.ts';
import { grantTableAccess, TABLE_ACCESS } from '../constructs/table-access.ts';
import { Webmail } from '../constructs/webmail.ts';
import { WebmailSending } from '../constructs/webmail-sending.ts';
import { functionTimeout } from '../pipeline-limits.ts';
import type { StatefulStack } from './stateful-stack.ts';

/** SMTP between mail servers (RFC 5321): the port AWS blocks for Lambda and EC2 by default. */
const SMTP_RELAY_PORT = 25;

export interface StatelessStackProps extends StackProps {
  config: ShadowmailConfig;
  /** With webmail.waf: the CloudFront web ACL of the edge stack (us-east-1). */
  webAclArn?: string;
  stateful: StatefulStack;
}

export class StatelessStack extends Stack {
  readonly ingest: MailFunction;
  readonly forward: MailFunction;
  readonly resend: MailFunction;
  readonly inbound: InboundMail;
  readonly webmail: Webmail;
  readonly webmailSending: WebmailSending;
  readonly directorySync: DirectorySyncRole;
  readonly reconcile: ReconcileRole;
  readonly monitoring: Monitoring;
  readonly egress?: EgressNetwork;
  readonly outageAlarm?: OutageAlarm;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, stateful } = props;

    const common = (limits: ConsumerLimits): ContractEnvironment => ({
      [ENV.tableName]: stateful.messageIndex.table.tableName,
      [ENV.forwardQueueUrl]: stateful.forwardQueue.queue.queueUrl,
      [ENV.stackId]: config.stackId,
      [ENV.retentionDays]: String(config.retentionDays),
      [ENV.forwardMaxAgeDays]: String(config.forwardMaxAgeDays),
      [ENV.leaseSeconds]: String(limits.timeoutSeconds),
    });

    this.ingest = new MailFunction(this, 'Ingest', {
      entry: 'lambdas/entry/ingest.ts',
      description: 'shadowmail ingest: SES receipt notification to message index and forward job',
      timeout: functionTimeout(INGEST_LIMITS),
      memoryMiB: INGEST_LIMITS.memoryMiB,
      // 'off' rather than '': an empty value is not one to rely on in a Lambda environment.
      environment: {
        ...common(INGEST_LIMITS),
        [ENV.subaddressSeparator]: config.subaddressSeparator || 'off',
        [ENV.mailDomains]: config.domains.join(','),
      },
    });

    const { smartHost } = config;
    // Fixed egress (optional): forward and resend leave through one NAT gateway whose
    // Elastic IP the Exchange receive connector allow-lists.
    if (config.natGateway) {
      const allocationId = config.natGateway.elasticIpAllocationId ?? stateful.natElasticIp?.allocationId;
      if (!allocationId) throw new Error('natGateway: the stateful stack holds no Elastic IP');
      this.egress = new EgressNetwork(this, 'Egress', {
        vpcCidr: config.natGateway.vpcCidr,
        elasticIpAllocationId: allocationId,
        smtpPorts: [smartHost.port],
      });
      // lib/config.ts refuses port 25 without NAT; with NAT it works only once AWS lifted the
      // restriction for this Elastic IP, which can be asked for only after the stateful
      // stack allocated it (https://repost.aws/knowledge-center/ec2-port-25-throttle).
      // `shadowmail doctor` proves it from inside the forward function.
      if (smartHost.port === SMTP_RELAY_PORT) {
        Annotations.of(this.egress).addWarningV2(
          'shadowmail:smartHostPort25',
          `smartHost.port is 25: AWS blocks outbound port 25 until it grants a request to remove the port 25 restriction for the NAT gateway's Elastic IP (output NatElasticIp of ${config.stackId}-stateful). Until then no message reaches ${smartHost.host}: file the request right after the first deploy (docs/deploy.md 6.4) and check with shadowmail doctor.`,
        );
      }
    }
    const network = this.egress ? { network: this.egress.functionNetwork } : {};
    const smartHostEnvironment: ContractEnvironment = {
      [ENV.smartHost]: smartHost.host,
      [ENV.smartHostPort]: String(smartHost.port),
      [ENV.smartHostTls]: smartHost.tls,
      [ENV.smartHostAuthSecretArn]: smartHost.authSecretArn,
      [ENV.heloName]: smartHost.heloName,
      [ENV.smartHostMaxMessageBytes]: String(smartHost.maxMessageBytes),
    };
    this.forward = new MailFunction(this, 'Forward', {
      entry: 'lambdas/entry/forward.ts',
      description: 'shadowmail forward: raw message to the Exchange smart host over SMTP',
      timeout: functionTimeout(FORWARD_LIMITS),
      memoryMiB: FORWARD_LIMITS.memoryMiB,
      environment: { ...common(FORWARD_LIMITS), ...smartHostEnvironment },
      ...network,
    });
    this.resend = new MailFunction(this, 'Resend', {
      entry: 'lambdas/entry/resend.ts',
      description: 'shadowmail resend: stored messages to the Exchange smart host again (admin restore jobs)',
      timeout: functionTimeout(RESEND_LIMITS),
      memoryMiB: RESEND_LIMITS.memoryMiB,
      environment: {
        ...common(RESEND_LIMITS),
        ...smartHostEnvironment,
        [ENV.resendQueueUrl]: stateful.resendQueue.queue.queueUrl,
      },
      ...network,
    });

    for (const fn of [this.ingest, this.forward, this.resend]) this.grantPipelineAccess(fn, stateful);
    grantTableAccess(this.ingest.role, stateful.messageIndex.table, TABLE_ACCESS.ingest);
    grantTableAccess(this.forward.role, stateful.messageIndex.table, TABLE_ACCESS.forward);
    // Bulk jobs enumerate mailboxes and time ranges through the lookup index (TABLE_ACCESS.resend.lookupIndex).
    grantTableAccess(this.resend.role, stateful.messageIndex.table, TABLE_ACCESS.resend);
    // Bulk jobs enqueue their own next steps.
    stateful.resendQueue.queue.grantSendMessages(this.resend.role);
    if (smartHost.authSecretArn) {
      for (const fn of [this.forward, this.resend]) {
        fn.role.addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [smartHost.authSecretArn] }));
      }
    }

    // smartHost.maxSessions bounds the SMTP sessions to the primary: forward and resend hold
    // one each per invocation, so their event sources' concurrency splits it.
    const sessions = splitPrimarySessions(smartHost.maxSessions);
    consume(this.ingest, stateful.ingestQueue.queue, INGEST_LIMITS);
    consume(this.forward, stateful.forwardQueue.queue, { ...FORWARD_LIMITS, maxConcurrency: sessions.forward });
    consume(this.resend, stateful.resendQueue.queue, { ...RESEND_LIMITS, maxConcurrency: sessions.resend });

    this.inbound = new InboundMail(this, 'InboundMail', {
      names: inboundMailNames(config.stackId),
      domains: config.domains,
      existingIdentities: config.ses.existingIdentities,
      ...(config.ses.mailFromSubdomain !== undefined && { mailFromSubdomain: config.ses.mailFromSubdomain }),
      bucket: stateful.rawMail.bucket,
      notificationTopic: stateful.inboundNotifications.topic,
      deliveryRole: stateful.inboundNotifications.deliveryRole,
      takeOverActiveRuleSet: config.ses.takeOverActiveRuleSet,
      catchAllDomains: config.inbound.catchAllDomains,
      recipientCheck: config.inbound.recipientCheck,
    });
    this.inbound.addOutputs();
    // Issue 17: the forward sends non-delivery reports through SES SendBounce, from MAILER-DAEMON at one of our domains.
    this.forward.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ses:SendBounce'], resources: this.inbound.identityArns }));

    this.webmailSending = new WebmailSending(this, 'WebmailSending', { configurationSetName: `${config.stackId}-webmail` });
    this.webmailSending.addOutputs();
    this.webmail = new Webmail(this, 'Webmail', {
      config,
      table: stateful.messageIndex.table,
      rawBucket: stateful.rawMail.bucket,
      rawKey: stateful.rawMail.key,
      resendQueue: stateful.resendQueue.queue,
      mailObjectsPolicy: stateful.rawMail.webmailPolicy,
      sesIdentityArns: this.inbound.identityArns,
      sesConfigurationSet: { name: this.webmailSending.configurationSetName, arn: this.webmailSending.configurationSetArn },
      ...(props.webAclArn !== undefined && { webAclArn: props.webAclArn }),
    });

    // The console's first page: backlog and dead-letter queue depths (issue 16).
    this.webmail.showQueueDepths(stateful.forwardQueue.queue, stateful.deadLetterQueues);

    const { directorySync } = config;
    this.directorySync = new DirectorySyncRole(this, 'DirectorySync', {
      table: stateful.messageIndex.table,
      ...(directorySync.externalId && { externalId: directorySync.externalId }),
      ...(directorySync.bindPasswordSecretArn && { bindPasswordSecretArn: directorySync.bindPasswordSecretArn }),
      ...(directorySync.bindPasswordSecretKeyArn && { bindPasswordSecretKeyArn: directorySync.bindPasswordSecretKeyArn }),
      ...(directorySync.rolesAnywhere && { rolesAnywhere: directorySync.rolesAnywhere }),
      // The break-glass accounts the sync keeps (docs/deploy.md §8.5); none without staff SMS codes.
      ...(config.breakGlass.staffSmsCodes && { userPoolArn: this.webmail.userPool.userPoolArn }),
      // The address rules of the receipt rule set (issue 17, docs/deploy.md "Recipient check at SES").
      receiptRules: { deliveryRoleArn: stateful.inboundNotifications.deliveryRole.roleArn },
    });
    // `shadowmail reconcile --stack` from the same on-prem side, trusted as the directory sync is (docs/deploy.md, "Reconcile").
    this.reconcile = new ReconcileRole(this, 'Reconcile', {
      table: stateful.messageIndex.table,
      sentReadPolicy: stateful.rawMail.sentReadPolicy,
      statefulStackName: stateful.stackName,
      ...(directorySync.externalId && { externalId: directorySync.externalId }),
      ...(directorySync.rolesAnywhere && { rolesAnywhere: directorySync.rolesAnywhere }),
    });

    const queues = [
      { label: 'ingest', work: stateful.ingestQueue },
      { label: 'forward', work: stateful.forwardQueue },
      { label: 'resend', work: stateful.resendQueue },
    ];
    this.monitoring = new Monitoring(this, 'Monitoring', {
      namePrefix: config.stackId,
      ...(config.alarmEmail && { alarmEmail: config.alarmEmail }),
      forwardBacklogAlarmMinutes: config.forwardBacklogAlarmMinutes,
      ingestFunction: this.ingest.function,
      forwardQueue: stateful.forwardQueue.queue,
      deadLetterQueues: Object.entries(stateful.deadLetterQueues).map(([label, queue]) => ({ label, queue })),
      workQueues: queues.map(({ label, work }) => ({ label, queue: work.queue })),
      functions: [
        { label: 'forward', fn: this.forward.function },
        { label: 'resend', fn: this.resend.function },
        { label: 'webmail', fn: this.webmail.function.function },
      ],
      httpApiId: this.webmail.httpApi.apiId,
      webmailSending: {
        bounces: this.webmailSending.metric('Bounce', Duration.hours(1)),
        complaints: this.webmailSending.metric('Complaint'),
        rejects: this.webmailSending.metric('Reject'),
      },
      sesQuota: { sends: WebmailSending.accountSends(Duration.days(1)), dailyQuota: config.webmail.sesDailyQuota },
    });
    // Issue 13: the backlog alarm's link to the break-glass admins, when there are any.
    if (config.breakGlass.admins.length > 0) {
      this.outageAlarm = new OutageAlarm(this, 'OutageAlarm', {
        config,
        table: stateful.messageIndex.table,
        alarmTopic: this.monitoring.alarmTopic,
        // The name as Monitoring gives it: a literal, so the subscription's filter policy is plain JSON.
        backlogAlarmName: `${config.stackId}-${BACKLOG_ALARM_SUFFIX}`,
        failoverParameter: this.webmail.failoverParameter,
        sessionSecret: this.webmail.sessionSecret,
        publicUrl: this.webmail.publicUrl,
        sesIdentityArns: this.inbound.identityArns,
        webmailFunction: this.webmail.function,
        forwardQueue: stateful.forwardQueue.queue,
      });
    }
    // shadowmail doctor invokes it in probe mode: the way to Exchange as the forward sees it.
    new CfnOutput(this, 'ForwardFunctionName', {
      value: this.forward.function.functionName,
      description: 'The forward function (shadowmail doctor probes the smart host through it)',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.alarmTopic.topicArn,
      description: 'Alarms publish here; subscribe more endpoints if needed',
    });
    // shadowmail doctor compares it with the account's quota (SES GetAccount).
    new CfnOutput(this, 'SesDailyQuota', {
      value: String(config.webmail.sesDailyQuota),
      description: 'webmail.sesDailyQuota: the SES sending quota the ses-sending-quota alarm is set by',
    });
  }

  /**
   * What the pipeline functions share: raw messages (read, decrypt), the forward queue
   * (send; forward re-enqueues its retries). Their table items: TABLE_ACCESS, one grant
   * per function (table-access.ts). Actions and resources are named exactly: no `index/*`, no `s3:Get*`.
   */
  private grantPipelineAccess(fn: MailFunction, stateful: StatefulStack): void {
    fn.role.addManagedPolicy(stateful.rawMail.readPolicy);
    stateful.forwardQueue.queue.grantSendMessages(fn.role);
  }
}

/**
 * Handlers answer with partial batch responses: only the failed records come back, each
 * after a backoff the handler sets on the source queue (ChangeMessageVisibility, which the
 * event source's grantConsumeMessages already allows).
 */
function consume(fn: MailFunction, queue: sqs.IQueue, limits: ConsumerLimits): void {
  fn.function.addEventSource(
    new SqsEventSource(queue, { batchSize: limits.batchSize, maxConcurrency: limits.maxConcurrency, reportBatchItemFailures: true }),
  );
  fn.function.addEnvironment(ENV.sourceQueueUrl, queue.queueUrl);
}
