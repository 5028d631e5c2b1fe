// SES inbound for the configured domains (stateless stack): a domain identity
// with Easy DKIM (and optionally a custom MAIL FROM domain) per domain — the webmail
// sends from it, and the DKIM records verify the domain — unless the domain already
// is an SES identity of the account; one receipt rule set with one rule that stores
// every message in the raw-mail bucket and notifies the ingest topic — for every domain,
// or with the recipient check only the catch-all domains and each postmaster@, the
// rest being the address rules `directory sync` keeps beside it
// (lambdas/contract/receipt-rules.ts); and a custom resource that makes that rule set
// the active one (CloudFormation cannot).
// The names of rule set and rule are fixed strings derived from the stack id:
// the stateful stack builds the rule ARN from them for its bucket, key and
// topic policies without referring to this stack.
import { Annotations, ArnFormat, CfnOutput, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { RAW_MAIL_PREFIX } from '../../lambdas/contract/raw-mail-bucket.ts';
import { receiptRuleNames, storeRuleRecipients } from '../../lambdas/contract/receipt-rules.ts';
import { ACTIVATION_PROPERTIES } from '../../lambdas/contract/rule-set-activation.ts';
import { inboundSmtpEndpoint, sesFeedbackEndpoint, sesRegionProblem } from '../ses-regions.ts';
import { MailFunction } from './mail-function.ts';

export interface InboundMailNames {
  ruleSetName: string;
  ruleName: string;
  /** The address rules `directory sync` keeps in the set (lambdas/contract/receipt-rules.ts). */
  directoryRulePrefix: string;
}

/** The receipt rule set and rules of a deployment; both stacks derive them from the stack id alone. */
export function inboundMailNames(stackId: string): InboundMailNames {
  const { ruleSetName, storeRule, directoryRulePrefix } = receiptRuleNames(stackId);
  return { ruleSetName, ruleName: storeRule, directoryRulePrefix };
}

/** arn:<partition>:ses:<region>:<account>:receipt-rule-set/<set>:receipt-rule/<rule>, in the account and region of `scope`'s stack. */
export function receiptRuleArn(scope: Construct, names: InboundMailNames, ruleName = names.ruleName): string {
  return Stack.of(scope).formatArn({
    service: 'ses',
    resource: 'receipt-rule-set',
    resourceName: `${names.ruleSetName}:receipt-rule/${ruleName}`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * Every rule that stores mail: the stack's own and the sync's address rules (a pattern), for the
 * aws:SourceArn conditions of bucket, key, topic and delivery role (ArnLike).
 */
export function storingRuleArns(scope: Construct, names: InboundMailNames): string[] {
  return [receiptRuleArn(scope, names), receiptRuleArn(scope, names, `${names.directoryRulePrefix}*`)];
}

export const RULE_SET_ACTIVATION_HANDLER = 'lambdas/entry/ses-rule-set-activation.ts';
/** MX preference of the SES record; one MX target per region, so any value works. */
export const MX_PREFERENCE = 10;
/** The SPF record of a custom MAIL FROM domain. */
export const MAIL_FROM_SPF = 'v=spf1 include:amazonses.com ~all';

export interface InboundMailProps {
  names: InboundMailNames;
  domains: readonly string[];
  /**
   * Domains (of `domains`) that already are SES identities in the account and region: no identity
   * is created for them (CloudFormation would fail with AlreadyExists), their DKIM and MAIL FROM
   * stay as their owner set them; mail is still received for them and sent from them.
   */
  existingIdentities?: readonly string[];
  /**
   * A custom MAIL FROM domain `<mailFromSubdomain>.<domain>` on each identity this construct creates.
   * If its MX record is missing SES sends with its own MAIL FROM domain rather than refusing
   * (BehaviorOnMxFailure USE_DEFAULT_VALUE): the webmail must send during an outage, and DMARC still
   * passes on DKIM.
   */
  mailFromSubdomain?: string;
  /** The raw-mail bucket (stateful stack); its policy must already let this rule write (RawMailBucket.allowSesDelivery). */
  bucket: s3.IBucket;
  /** The SES notification topic (InboundNotifications, stateful stack). */
  notificationTopic: sns.ITopic;
  /** The role the S3 action works as (InboundNotifications.deliveryRole): bucket, key and topic through it. */
  deliveryRole: iam.IRole;
  /** Key prefix of the stored messages; the bucket policy and the readers use the same. */
  rawPrefix?: string;
  /**
   * Replace a receipt rule set that is active in the account and region at deploy time.
   * Without it the deployment stops and names that rule set: SES allows one active set per region.
   */
  takeOverActiveRuleSet?: boolean;
  /** Domains (of `domains`) SES takes whole even with the recipient check. */
  catchAllDomains?: readonly string[];
  /**
   * Narrow the stack's rule to the catch-all domains and each postmaster@: SES then refuses every
   * address no rule of `directory sync` lists (config inbound.recipientCheck, docs/deploy.md).
   */
  recipientCheck?: boolean;
}

export class InboundMail extends Construct {
  /** Every mail domain the rule receives for, in the configured order. */
  readonly domains: readonly string[];
  /** Per domain, in the configured order; `identity` is absent for an existing identity. */
  readonly identities: ReadonlyArray<{ domain: string; identity?: ses.EmailIdentity }>;
  /** For the webmail's sending grant: the created identities and the existing ones. */
  readonly identityArns: string[];
  /** inbound-smtp.<region>.amazonaws.com: what each domain's MX record points at. */
  readonly mxTarget: string;
  /** The MAIL FROM subdomain of the created identities, if any. */
  readonly mailFromSubdomain?: string;
  readonly ruleSet: ses.ReceiptRuleSet;
  readonly rule: ses.ReceiptRule;
  readonly activation: CustomResource;
  readonly activationFunction: MailFunction;

  constructor(scope: Construct, id: string, props: InboundMailProps) {
    super(scope, id);
    const domains = [...props.domains];
    if (domains.length === 0) throw new Error(`${this.node.path}: at least one mail domain is needed`);
    if (new Set(domains).size !== domains.length) throw new Error(`${this.node.path}: domains repeat: ${domains.join(', ')}`);
    const region = Stack.of(this).region;
    const regionProblem = Token.isUnresolved(region) ? undefined : sesRegionProblem(region);
    if (regionProblem !== undefined) throw new Error(`${this.node.path}: ${regionProblem}`);
    this.mxTarget = inboundSmtpEndpoint(region);
    this.domains = domains;
    if (props.mailFromSubdomain !== undefined) this.mailFromSubdomain = props.mailFromSubdomain;
    const existing = new Set(props.existingIdentities ?? []);
    const strangers = [...existing].filter((domain) => !domains.includes(domain));
    if (strangers.length > 0)
      throw new Error(`${this.node.path}: existing identities ${strangers.join(', ')} are not among the domains ${domains.join(', ')}`);
    const catchAll = [...(props.catchAllDomains ?? [])];
    const foreign = catchAll.filter((domain) => !domains.includes(domain));
    if (foreign.length > 0)
      throw new Error(`${this.node.path}: catch-all domains ${foreign.join(', ')} are not among the domains ${domains.join(', ')}`);

    // The construct id carries the domain, not its position: reordering the list must not replace an
    // identity, which would give it new DKIM tokens and invalidate the DNS records.
    this.identities = domains.map((domain) =>
      existing.has(domain)
        ? { domain }
        : {
            domain,
            identity: new ses.EmailIdentity(this, `Identity-${domain}`, {
              identity: ses.Identity.domain(domain),
              dkimSigning: true,
              dkimIdentity: ses.DkimIdentity.easyDkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
              ...(props.mailFromSubdomain !== undefined && {
                mailFromDomain: `${props.mailFromSubdomain}.${domain}`,
                mailFromBehaviorOnMxFailure: ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
              }),
            }),
          },
    );
    const stack = Stack.of(this);
    this.identityArns = this.identities.map(
      ({ domain, identity }) =>
        identity?.emailIdentityArn ?? stack.formatArn({ service: 'ses', resource: 'identity', resourceName: domain }),
    );

    this.ruleSet = new ses.ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: props.names.ruleSetName });
    this.rule = this.ruleSet.addRule('Store', {
      receiptRuleName: props.names.ruleName,
      recipients: storeRuleRecipients(domains, catchAll, props.recipientCheck ?? false),
      enabled: true,
      // Spam and virus verdicts: the ingest stores them with each message.
      scanEnabled: true,
      // Optional, not Require: shadowmail is the MX (or a backup MX) of the whole domain, and a sender
      // that cannot do TLS still has to reach somebody; refusing it here would bounce real mail.
      tlsPolicy: ses.TlsPolicy.OPTIONAL,
      actions: [storeInBucket(props.bucket, props.rawPrefix ?? RAW_MAIL_PREFIX, props.notificationTopic, props.deliveryRole)],
    });

    // The stack cannot see the sync's rules at synth: it says what the deploy does to them, doctor checks them.
    if (props.recipientCheck) {
      const narrowed = domains.filter((domain) => !catchAll.includes(domain));
      Annotations.of(this).addWarningV2(
        'shadowmail:recipientCheck',
        `inbound.recipientCheck is on: SES will refuse every address of ${narrowed.join(', ')} that no rule ${props.names.directoryRulePrefix}NNN lists (only postmaster@ stays). Run shadowmail directory sync --receipt-rule-set ${props.names.ruleSetName} before this deploy, and shadowmail doctor after it (docs/deploy.md 8.6).`,
      );
    }

    this.activationFunction = new MailFunction(this, 'ActivationFunction', {
      entry: RULE_SET_ACTIVATION_HANDLER,
      description: 'shadowmail: makes the stack receipt rule set the active one (custom resource)',
      timeout: Duration.minutes(1),
      memoryMiB: 256,
      environment: {},
    });
    this.activationFunction.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['ses:DescribeActiveReceiptRuleSet', 'ses:SetActiveReceiptRuleSet'], resources: ['*'] }),
    );
    Validations.of(this.activationFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ses:DescribeActiveReceiptRuleSet and ses:SetActiveReceiptRuleSet act on the account and region, not on a rule set: IAM accepts no resource but "*" for them. The role has nothing else but its own log group.',
    });

    // The provider framework answers CloudFormation; its function gets a role of our own (the default one
    // would carry the AWSLambdaBasicExecutionRole managed policy) and a log group with a retention.
    const frameworkLogs = new logs.LogGroup(this, 'ActivationProviderLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const frameworkRole = new iam.Role(this, 'ActivationProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'shadowmail: custom resource provider framework for the rule set activation (execution role)',
    });
    frameworkRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [frameworkLogs.logGroupArn] }),
    );
    const provider = new cr.Provider(this, 'ActivationProvider', {
      onEventHandler: this.activationFunction.function,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogs,
    });
    const handlerId = stack.resolve(stack.getLogicalId(this.activationFunction.function.node.defaultChild as lambda.CfnFunction)) as string;
    Validations.of(frameworkRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${handlerId}.Arn>:*]`,
      reason:
        'The provider framework invokes the one activation function; the :* covers its versions and aliases (grantInvoke), no other function.',
    });

    this.activation = new CustomResource(this, 'RuleSetActivation', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SesActiveReceiptRuleSet',
      properties: {
        [ACTIVATION_PROPERTIES.ruleSetName]: props.names.ruleSetName,
        [ACTIVATION_PROPERTIES.takeOver]: String(props.takeOverActiveRuleSet ?? false),
      },
    });
    // Activate only a complete rule set; on delete the reverse order deactivates it before the rule and set go
    // (SES refuses to delete the active set).
    this.activation.node.addDependency(this.rule);
  }

  /**
   * The DNS records to create, as stack outputs: MxTarget, and per domain its MX record, how SES
   * verifies it and, for an identity this stack creates, its three DKIM CNAMEs. Output ids carry
   * the domain (MxRecordCorpExample, …).
   */
  addOutputs(): CfnOutput[] {
    const outputs = [
      new CfnOutput(this, 'MxTarget', { value: this.mxTarget, description: 'SES inbound endpoint: the MX target of every domain' }),
      // What `shadowmail doctor` checks: every domain's identity and MX, and that this rule set is the active one.
      new CfnOutput(this, 'MailDomains', {
        value: this.domains.join(','),
        description: 'The mail domains this stack receives for (comma list)',
      }),
      new CfnOutput(this, 'ReceiptRuleSetName', {
        value: this.ruleSet.receiptRuleSetName,
        description: 'The SES receipt rule set that must be the active one in this region',
      }),
    ];
    const labels = new Map<string, string>();
    for (const { domain, identity } of this.identities) {
      const label = outputLabel(domain);
      const clash = labels.get(label);
      if (clash !== undefined) throw new Error(`${this.node.path}: domains ${clash} and ${domain} would share the output names *${label}`);
      labels.set(label, domain);
      outputs.push(
        new CfnOutput(this, `MxRecord${label}`, {
          value: `${domain} MX ${MX_PREFERENCE} ${this.mxTarget}`,
          description: `MX record of ${domain}: set it when ${domain} is to receive mail through SES (see docs/deploy.md)`,
        }),
        ...(identity?.dkimRecords ?? []).map(
          (record, index) =>
            new CfnOutput(this, `DkimRecord${label}${index + 1}`, {
              value: `${record.name} CNAME ${record.value}`,
              description: `DKIM record ${index + 1} of 3 of ${domain} (Easy DKIM, RSA 2048)`,
            }),
        ),
        ...(identity && this.mailFromSubdomain !== undefined ? this.mailFromOutputs(domain, label) : []),
        new CfnOutput(this, `DomainVerification${label}`, {
          value: identity
            ? `${domain}: verified by its three DKIM CNAME records (Easy DKIM); no separate TXT record is needed`
            : `${domain}: an existing SES identity of this account, used as it is: its verification, DKIM and MAIL FROM stay as set (aws sesv2 get-email-identity --email-identity ${domain})`,
          description: `How SES verifies ${domain}`,
        }),
      );
    }
    // Output names as shown in the stack outputs, not prefixed with the construct path.
    for (const output of outputs) output.overrideLogicalId(output.node.id);
    return outputs;
  }

  /**
   * The two records of a custom MAIL FROM domain: its MX at SES's feedback endpoint of the region and
   * its SPF record (SES API Reference, SetIdentityMailFromDomain: "you must add an MX record ... you
   * must also add or update an SPF record"; values from the SES Developer Guide, "Using a custom MAIL
   * FROM domain").
   */
  private mailFromOutputs(domain: string, label: string): CfnOutput[] {
    const mailFrom = `${this.mailFromSubdomain}.${domain}`;
    return [
      new CfnOutput(this, `MailFromMxRecord${label}`, {
        value: `${mailFrom} MX ${MX_PREFERENCE} ${sesFeedbackEndpoint(Stack.of(this).region)}`,
        description: `MX record of ${mailFrom}, the MAIL FROM domain of ${domain}: bounces reach SES there`,
      }),
      new CfnOutput(this, `MailFromSpfRecord${label}`, {
        value: `${mailFrom} TXT "${MAIL_FROM_SPF}"`,
        description: `SPF record of ${mailFrom}: lets SES send with it`,
      }),
    ];
  }
}

/** The S3 action without the aws-ses-actions helper, which would add an aws:Referer statement to a bucket of the other stack. */
function storeInBucket(bucket: s3.IBucket, objectKeyPrefix: string, topic: sns.ITopic, role: iam.IRole): ses.IReceiptRuleAction {
  // No kmsKeyArn: that is SES client-side encryption; the bucket's default SSE-KMS encrypts each object.
  // With iamRoleArn SES reaches bucket, key and topic as that role only.
  return {
    bind: () => ({ s3Action: { bucketName: bucket.bucketName, objectKeyPrefix, topicArn: topic.topicArn, iamRoleArn: role.roleArn } }),
  };
}

/** corp-mail.example → CorpMailExample */
function outputLabel(domain: string): string {
  return domain
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
