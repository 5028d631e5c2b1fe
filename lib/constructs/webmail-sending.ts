// The SES configuration set the webmail sends with (stateless stack): its bounce,
// complaint and reject events become CloudWatch metrics, counted for the webmail's mail
// only (SES's `ses:configuration-set` auto-tag), which the monitoring alarms on. Why
// metrics rather than an SNS topic: docs/design.md §12.9.
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

/** SES's auto-tag holding the configuration set a message was sent with; the metric dimension. */
export const CONFIGURATION_SET_DIMENSION = 'ses:configuration-set';

/** The events published, by the metric name SES gives each in the AWS/SES namespace. */
export const SENDING_PROBLEM_EVENTS = {
  Bounce: ses.EmailSendingEvent.BOUNCE,
  Complaint: ses.EmailSendingEvent.COMPLAINT,
  Reject: ses.EmailSendingEvent.REJECT,
} as const;
export type SendingProblem = keyof typeof SENDING_PROBLEM_EVENTS;

export interface WebmailSendingProps {
  /** The configuration set's name (`<stackId>-webmail`): letters, digits, `-` and `_`, at most 64. */
  configurationSetName: string;
}

export class WebmailSending extends Construct {
  readonly configurationSet: ses.ConfigurationSet;
  /** A reference to the set: whoever uses it (the webmail's environment) is created after it. */
  readonly configurationSetName: string;
  private readonly dimensionValue: string;
  /** arn:…:ses:<region>:<account>:configuration-set/<name>: SendEmail with the set is authorized on it too. */
  readonly configurationSetArn: string;

  constructor(scope: Construct, id: string, props: WebmailSendingProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(props.configurationSetName)) {
      throw new Error(
        `${this.node.path}: ${JSON.stringify(props.configurationSetName)} is no SES configuration set name (letters, digits, - and _, at most 64)`,
      );
    }
    this.dimensionValue = props.configurationSetName;
    // Reputation metrics on (the default), TLS optional (a partner's server without TLS still gets the reply).
    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName: props.configurationSetName,
      reputationMetrics: true,
      sendingEnabled: true,
    });
    this.configurationSet.addEventDestination('Problems', {
      destination: ses.EventDestination.cloudWatchDimensions([
        { name: CONFIGURATION_SET_DIMENSION, source: ses.CloudWatchDimensionSource.MESSAGE_TAG, defaultValue: props.configurationSetName },
      ]),
      events: Object.values(SENDING_PROBLEM_EVENTS),
    });
    this.configurationSetName = this.configurationSet.configurationSetName;
    this.configurationSetArn = Stack.of(this).formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: this.configurationSetName,
    });
  }

  /** Count of `problem` events of mail sent with this set, summed over `period`. */
  metric(problem: SendingProblem, period: Duration = Duration.minutes(5)): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SES',
      metricName: problem,
      dimensionsMap: { [CONFIGURATION_SET_DIMENSION]: this.dimensionValue },
      statistic: 'Sum',
      period,
    });
  }

  /**
   * Every message the account sent through SES (webmail, notices, anything else in the
   * region), summed over `period`: SES's account-level `Send` metric, without dimensions
   * (https://docs.aws.amazon.com/ses/latest/dg/monitor-sending-activity.html). SES publishes
   * no metric of the quota itself (GetAccount's SendQuota), so the quota is configured.
   */
  static accountSends(period: Duration): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: 'AWS/SES', metricName: 'Send', statistic: 'Sum', period });
  }

  addOutputs(): void {
    new CfnOutput(this, 'ConfigurationSetName', {
      value: this.configurationSetName,
      description:
        'SES configuration set of the webmail: bounce, complaint and reject counts in CloudWatch (AWS/SES, dimension ses:configuration-set)',
    }).overrideLogicalId('ConfigurationSetName');
  }
}
