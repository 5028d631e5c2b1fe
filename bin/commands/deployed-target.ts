// The CLI's way to a deployed stack (`--stack STACK_ID [--region R]`): the names of the
// table, the raw mail bucket, the resend queue and the failover parameter come from
// the CloudFormation outputs of <STACK_ID>-stateful and <STACK_ID>-stateless, and the
// commands then use the AWS adapters directly with the caller's own AWS credentials:
// IAM decides what an admin may do, no webmail API sits in between. Credentials,
// region and endpoints come from the usual SDK sources (environment, profile, SSO).
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDbAuditLog } from '../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { DynamoDbDirectoryStore } from '../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { DynamoDbResendJobs } from '../../lambdas/adapters/aws/dynamodb-resend-jobs.ts';
import { makeS3Client, S3RawMailStore } from '../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { SqsCopyRedrive, SqsMoveTaskRedrive } from '../../lambdas/adapters/aws/sqs-dead-letter-redrive.ts';
import { SqsResendQueue } from '../../lambdas/adapters/aws/sqs-resend-queue.ts';
import { SsmFailoverFlag } from '../../lambdas/adapters/aws/ssm-failover-flag.ts';
import { parseNoticeChannels } from '../../lambdas/contract/environment.ts';
import { ShadowmailError } from '../../lambdas/core/errors.ts';
import { DEFAULT_RESEND_CONFIG, type ResendStartDeps } from '../../lambdas/core/resend.ts';
import type { AuditLog } from '../../lambdas/ports/audit-log.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { DeadLetterRedrive } from '../../lambdas/ports/dead-letter-redrive.ts';
import type { DeliveryLog } from '../../lambdas/ports/delivery-log.ts';
import type { DirectoryStore } from '../../lambdas/ports/directory.ts';
import type { MessageRecords } from '../../lambdas/ports/message-records.ts';
import type { MessageSearch } from '../../lambdas/ports/message-search.ts';
import type { ResendJobStore, ResendQueue } from '../../lambdas/ports/resend-jobs.ts';
import { awsNoticeParts } from '../../lambdas/wiring/aws-notices.ts';
import type { MailData } from '../../lambdas/wiring/local-mail-data.ts';
import type { NoticeParts } from '../../lambdas/wiring/notices.ts';
import {
  DEAD_LETTER_QUEUE_OUTPUT_PREFIX,
  type DeadLetterQueueLabel,
  deadLetterQueueOutputKey,
  INGEST_QUEUE_OUTPUT_KEY,
} from '../../lib/stack-outputs.ts';
import { cliAwsConfig } from './aws-clients.ts';
import { UsageError } from './command.ts';

/** The stack outputs the CLI reads: which stack (suffix of the stack name) and which output key. */
export const STACK_OUTPUTS = {
  ...outputsOf('stateful', {
    tableName: 'TableName',
    rawBucket: 'RawMailBucketName',
    resendQueueUrl: 'ResendQueueUrl',
    ingestQueueUrl: INGEST_QUEUE_OUTPUT_KEY,
    ingestDeadLetterQueueUrl: deadLetterQueueOutputKey('ingest'),
    forwardDeadLetterQueueUrl: deadLetterQueueOutputKey('forward'),
    resendDeadLetterQueueUrl: deadLetterQueueOutputKey('resend'),
    notificationsDeadLetterQueueUrl: deadLetterQueueOutputKey('notifications'),
  }),
  ...outputsOf('stateless', {
    failoverParameter: 'FailoverParameterName',
    // What `shadowmail doctor` and `shadowmail probe` check (bin/commands/doctor/).
    mailDomains: 'MailDomains',
    mxTarget: 'MxTarget',
    receiptRuleSetName: 'ReceiptRuleSetName',
    forwardFunctionName: 'ForwardFunctionName',
    userPoolId: 'UserPoolId',
    cognitoDomain: 'CognitoDomain',
    identityProviderName: 'IdentityProviderName',
    /** Break-glass admin usernames, comma-separated; absent when none are configured. */
    breakGlassAdmins: 'BreakGlassAdmins',
    /** The webmail's app client (USER_AUTH): `shadowmail breakglass admin-setup` signs in with it. */
    userPoolClientId: 'UserPoolClientId',
    alarmTopicArn: 'AlarmTopicArn',
    /** webmail.sesDailyQuota as deployed: doctor compares it with the account's SES quota. */
    sesDailyQuota: 'SesDailyQuota',
    /** Only in stacks with the webmail's SES configuration set. */
    configurationSetName: 'ConfigurationSetName',
    // Failover notices (`failover on --notify --stack`, doctor's SMS checks).
    webmailUrl: 'WebmailUrl',
    noticeChannels: 'NoticeChannels',
    noticeSender: 'NoticeSender',
  }),
};

function outputsOf<const S extends 'stateful' | 'stateless', const T extends Record<string, string>>(
  stack: S,
  keys: T,
): { [N in keyof T]: { stack: S; key: T[N] } } {
  return Object.fromEntries(Object.entries(keys).map(([name, key]) => [name, { stack, key }])) as {
    [N in keyof T]: { stack: S; key: T[N] };
  };
}

/** Output keys of the dead-letter queues (`DeadLetterQueue<Label>Url`): doctor checks every one, present or future. */
export const DEAD_LETTER_QUEUE_OUTPUT = new RegExp(`^${DEAD_LETTER_QUEUE_OUTPUT_PREFIX}([A-Za-z0-9]+)Url$`);

/** The output holding each dead-letter queue's URL. */
export const DEAD_LETTER_QUEUE_OUTPUTS = {
  ingest: 'ingestDeadLetterQueueUrl',
  forward: 'forwardDeadLetterQueueUrl',
  resend: 'resendDeadLetterQueueUrl',
  notifications: 'notificationsDeadLetterQueueUrl',
} as const satisfies Record<DeadLetterQueueLabel, DeployedOutput>;

export type DeployedOutput = keyof typeof STACK_OUTPUTS;

/** The deployment config's stackId rule (lib/config.ts): a CloudFormation stack name prefix. */
const STACK_ID = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/** parseArgs options of the shared target. */
export const deployedTargetOptions = {
  stack: { type: 'string' },
  region: { type: 'string' },
} as const;

export type CliTarget = { kind: 'local'; dataDir: string | undefined } | { kind: 'stack'; stackId: string; region: string | undefined };

/**
 * The target a command's options name: local mode (--data-dir or the default data
 * directory) or a deployed stack (--stack, --region). Bad combinations are usage errors.
 */
export function cliTarget(values: { stack?: string | undefined; region?: string | undefined; 'data-dir'?: string | undefined }): CliTarget {
  const { stack, region } = values;
  if (stack === undefined) {
    if (region !== undefined) throw new UsageError('--region goes with --stack');
    return { kind: 'local', dataDir: values['data-dir'] };
  }
  if (values['data-dir'] !== undefined) throw new UsageError('give either --data-dir or --stack, not both');
  if (!STACK_ID.test(stack))
    throw new UsageError(
      `--stack must be the stackId of the deployment (a letter, then letters, digits or dashes), not ${JSON.stringify(stack)}`,
    );
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    throw new UsageError(`--region must be an AWS region such as eu-central-1, not ${JSON.stringify(region)}`);
  return { kind: 'stack', stackId: stack, region };
}

export interface DeployedTarget<K extends DeployedOutput> {
  stackId: string;
  region: string;
  outputs: Record<K, string>;
  /** For messages: `stack <id> (<region>)`. */
  where: string;
}

/**
 * Reads the outputs `needs` names from the stack's CloudFormation stacks (only the
 * stacks that hold them). A missing region, stack, output or permission is one clear
 * ShadowmailError line.
 */
export async function resolveDeployedTarget<K extends DeployedOutput>(
  target: { stackId: string; region: string | undefined },
  needs: readonly K[],
): Promise<DeployedTarget<K>> {
  return withCloudFormation(target, async (cloudFormation, region) => {
    const stackNames = [...new Set(needs.map((need) => `${target.stackId}-${STACK_OUTPUTS[need].stack}`))];
    const outputsByStack = new Map<string, Output[]>();
    for (const stackName of stackNames) outputsByStack.set(stackName, await describeOutputs(cloudFormation, stackName, region));
    const outputs = {} as Record<K, string>;
    for (const need of needs) {
      const { stack, key } = STACK_OUTPUTS[need];
      const stackName = `${target.stackId}-${stack}`;
      const value = outputsByStack.get(stackName)!.find((output) => output.OutputKey === key)?.OutputValue;
      if (!value) throw missingOutputError(stackName, region, key);
      outputs[need] = value;
    }
    return { stackId: target.stackId, region, outputs, where: `stack ${target.stackId} (${region})` };
  });
}

const throwError = (error: Error): never => {
  throw error;
};

function missingOutputError(stackName: string, region: string, key: string): ShadowmailError {
  return new ShadowmailError(
    'STACK_OUTPUT',
    `stack ${stackName} (${region}) has no output ${key}: deploy the current version of shadowmail`,
  );
}

/** A CloudFormation client in the target's region (or the SDK's default region), destroyed afterwards. */
async function withCloudFormation<T>(
  target: { region: string | undefined },
  use: (client: CloudFormationClient, region: string) => Promise<T>,
): Promise<T> {
  const cloudFormation = new CloudFormationClient(cliAwsConfig(target.region));
  try {
    const region = await cloudFormation.config.region().catch(() => undefined);
    if (!region) throw new ShadowmailError('NO_REGION', 'no AWS region: pass --region or set AWS_REGION (or a profile with a region)');
    return await use(cloudFormation, region);
  } finally {
    cloudFormation.destroy();
  }
}

/** Every output of both stacks of a deployment, by stack: for commands that look at all of it (doctor). */
export interface DeployedOutputs {
  stackId: string;
  region: string;
  where: string;
  stacks: Record<'stateful' | 'stateless', Map<string, string>>;
  /** The value of a named output, or undefined when the stack lacks it (an older version). */
  get(name: DeployedOutput): string | undefined;
  /** The value of a named output; a stack without it is one ShadowmailError line. */
  require(name: DeployedOutput): string;
}

/** Reads every output of <stackId>-stateful and <stackId>-stateless; a missing stack, region or permission is one ShadowmailError line. */
export async function readDeployedOutputs(target: { stackId: string; region: string | undefined }): Promise<DeployedOutputs> {
  return withCloudFormation(target, async (cloudFormation, region) => {
    const stacks = { stateful: new Map<string, string>(), stateless: new Map<string, string>() };
    for (const kind of ['stateful', 'stateless'] as const) {
      for (const output of await describeOutputs(cloudFormation, `${target.stackId}-${kind}`, region)) {
        if (output.OutputKey && output.OutputValue !== undefined) stacks[kind].set(output.OutputKey, output.OutputValue);
      }
    }
    const get = (name: DeployedOutput): string | undefined => stacks[STACK_OUTPUTS[name].stack].get(STACK_OUTPUTS[name].key) || undefined;
    return {
      stackId: target.stackId,
      region,
      where: `stack ${target.stackId} (${region})`,
      stacks,
      get,
      require: (name) =>
        get(name) ?? throwError(missingOutputError(`${target.stackId}-${STACK_OUTPUTS[name].stack}`, region, STACK_OUTPUTS[name].key)),
    };
  });
}

async function describeOutputs(client: CloudFormationClient, stackName: string, region: string): Promise<Output[]> {
  try {
    const { Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = stacks?.[0];
    if (!stack) throw noStackError(stackName, region);
    return stack.Outputs ?? [];
  } catch (error) {
    if (error instanceof ShadowmailError) throw error;
    throw awsError(error, stackName, region);
  }
}

function noStackError(stackName: string, region: string, cause?: unknown): ShadowmailError {
  return new ShadowmailError(
    'NO_STACK',
    `stack ${stackName} not found in ${region}: check --stack (the stackId of the deployment) and --region`,
    cause === undefined ? {} : { cause },
  );
}

/** One line for what went wrong while reading a stack. */
function awsError(error: unknown, stackName: string, region: string): ShadowmailError {
  const name = (error as { name?: string }).name ?? 'Error';
  const message = String((error as Error).message ?? error)
    .split('\n')[0]!
    .trim();
  if (name === 'ValidationError' && /does not exist/i.test(message)) return noStackError(stackName, region, error);
  if (name === 'CredentialsProviderError' || /credential/i.test(name)) {
    return new ShadowmailError('NO_CREDENTIALS', `no AWS credentials (${message}): sign in (aws sso login, AWS_PROFILE) and try again`, {
      cause: error,
    });
  }
  if (/AccessDenied|UnrecognizedClient|InvalidClientTokenId|ExpiredToken/i.test(name)) {
    return new ShadowmailError('ACCESS_DENIED', `not allowed to read stack ${stackName} in ${region}: ${name}: ${message}`, {
      cause: error,
    });
  }
  return new ShadowmailError('STACK_READ', `cannot read stack ${stackName} in ${region}: ${name}: ${message}`, { cause: error });
}

/** What trace and resend use on a deployed stack: its table (index, audit log, resend jobs). */
export interface DeployedTable {
  target: DeployedTarget<'tableName'>;
  index: MessageRecords & DeliveryLog & MessageSearch;
  audit: AuditLog;
  jobs: ResendJobStore;
  close(): Promise<void>;
}

/** The deployed table, named by the stack's TableName output. */
export async function openDeployedTable(target: { stackId: string; region: string | undefined }): Promise<DeployedTable> {
  const resolved = await resolveDeployedTarget(target, ['tableName']);
  return { target: resolved, ...tableAdapters(resolved) };
}

/** The adapters of the deployed table, on one DynamoDB client that close() destroys. */
function tableAdapters(resolved: DeployedTarget<'tableName'>): Omit<DeployedTable, 'target'> {
  const dynamo = new DynamoDBClient(cliAwsConfig(resolved.region));
  const tableName = resolved.outputs.tableName;
  return {
    index: new DynamoDbMessageIndex({ client: dynamo, tableName }),
    audit: new DynamoDbAuditLog({ client: dynamo, tableName }),
    jobs: new DynamoDbResendJobs({ client: dynamo, tableName }),
    close: async () => dynamo.destroy(),
  };
}

export interface DeployedResend extends Omit<DeployedTable, 'target'> {
  target: DeployedTarget<'tableName' | 'resendQueueUrl'>;
  queue: ResendQueue;
  startDeps: ResendStartDeps;
}

/** The deployed table and resend queue: a job started here is run by the stack's resend function. */
export async function openDeployedResend(target: { stackId: string; region: string | undefined }, clock: Clock): Promise<DeployedResend> {
  const resolved = await resolveDeployedTarget(target, ['tableName', 'resendQueueUrl']);
  const table = tableAdapters(resolved);
  const sqs = new SQSClient(cliAwsConfig(resolved.region));
  const queue = new SqsResendQueue(sqs, resolved.outputs.resendQueueUrl);
  return {
    target: resolved,
    ...table,
    queue,
    startDeps: { index: table.index, jobs: table.jobs, queue, audit: table.audit, clock, config: DEFAULT_RESEND_CONFIG },
    close: async () => {
      await table.close();
      sqs.destroy();
    },
  };
}

/**
 * The deployed failover parameter and, for a switch (`audited`), the audit log in the
 * deployed table; `status` needs only the parameter.
 */
export async function openDeployedFailover(
  target: { stackId: string; region: string | undefined },
  audited: boolean,
): Promise<{ flag: SsmFailoverFlag; audit: AuditLog | null; region: string; where: string; close(): Promise<void> }> {
  const resolved = await resolveDeployedTarget(target, audited ? ['failoverParameter', 'tableName'] : ['failoverParameter']);
  const ssm = new SSMClient(cliAwsConfig(resolved.region));
  const dynamo = audited ? new DynamoDBClient(cliAwsConfig(resolved.region)) : null;
  const tableName = (resolved.outputs as Partial<Record<DeployedOutput, string>>).tableName;
  return {
    flag: new SsmFailoverFlag(ssm, resolved.outputs.failoverParameter),
    audit: dynamo && tableName ? new DynamoDbAuditLog({ client: dynamo, tableName }) : null,
    region: resolved.region,
    where: `SSM parameter ${resolved.outputs.failoverParameter} of ${resolved.where}`,
    close: async () => {
      ssm.destroy();
      dynamo?.destroy();
    },
  };
}

/**
 * The deployed dead-letter queues `labels` names, each with its way back: the ingest, forward
 * and resend DLQs by a message move task to the queue they came from, the notifications DLQ
 * (SNS could not deliver to the ingest queue) by copying each message to the ingest queue.
 */
export async function openDeployedRedrive(
  target: { stackId: string; region: string | undefined },
  labels: readonly DeadLetterQueueLabel[],
): Promise<{
  target: DeployedTarget<DeployedOutput>;
  queues: Array<{ label: DeadLetterQueueLabel; url: string; redrive: DeadLetterRedrive }>;
  close(): Promise<void>;
}> {
  const needs: DeployedOutput[] = labels.map((label) => DEAD_LETTER_QUEUE_OUTPUTS[label]);
  if (labels.includes('notifications')) needs.push('ingestQueueUrl');
  const resolved = await resolveDeployedTarget(target, needs);
  const outputs = resolved.outputs as Partial<Record<DeployedOutput, string>>;
  const sqs = new SQSClient(cliAwsConfig(resolved.region));
  const queues = labels.map((label) => {
    const url = outputs[DEAD_LETTER_QUEUE_OUTPUTS[label]]!;
    const redrive =
      label === 'notifications'
        ? new SqsCopyRedrive(sqs, url, outputs.ingestQueueUrl!, 'the ingest queue')
        : new SqsMoveTaskRedrive(sqs, url, `the ${label} queue`);
    return { label, url, redrive };
  });
  return { target: resolved, queues, close: async () => sqs.destroy() };
}

/**
 * What `failover on|off --notify --stack` needs besides the flag: the synced directory in
 * the deployed table, and SNS / SES for the channels the deployment configured (the
 * NoticeChannels output), with the webmail's address and the notice sender.
 */
export async function openDeployedNotices(target: { stackId: string; region: string | undefined }): Promise<{
  directory: Pick<DirectoryStore, 'readState'>;
  parts: NoticeParts;
  close(): Promise<void>;
}> {
  const outputs = await readDeployedOutputs(target);
  const channels = parseNoticeChannels(outputs.require('noticeChannels'));
  if (channels === null)
    throw new ShadowmailError(
      'STACK_OUTPUT',
      `the NoticeChannels output of ${outputs.where} is not understood: ${outputs.get('noticeChannels')}`,
    );
  const tableName = outputs.require('tableName');
  const parts = awsNoticeParts({
    channels,
    webmailUrl: outputs.require('webmailUrl'),
    sender: outputs.require('noticeSender'),
    mailDomains: outputs
      .require('mailDomains')
      .split(',')
      .map((domain) => domain.trim().toLowerCase())
      .filter(Boolean),
    configurationSetName: outputs.get('configurationSetName'),
    region: outputs.region,
  });
  const dynamo = new DynamoDBClient(cliAwsConfig(outputs.region));
  return {
    directory: new DynamoDbDirectoryStore({ client: dynamo, tableName }),
    parts,
    close: async () => {
      parts.close();
      dynamo.destroy();
    },
  };
}

/**
 * The deployed table with the raw mail its records point to (S3, streamed), and the
 * directory: what reads mailboxes' messages whole (`shadowmail export`, `shadowmail reconcile`).
 * The bucket is the one each record names.
 */
export async function openDeployedMailStore(target: {
  stackId: string;
  region: string | undefined;
}): Promise<MailData & { target: DeployedTarget<'tableName'> }> {
  const resolved = await resolveDeployedTarget(target, ['tableName']);
  const dynamo = new DynamoDBClient(cliAwsConfig(resolved.region));
  const s3 = makeS3Client(cliAwsConfig(resolved.region));
  const tableName = resolved.outputs.tableName;
  return {
    target: resolved,
    index: new DynamoDbMessageIndex({ client: dynamo, tableName }),
    audit: new DynamoDbAuditLog({ client: dynamo, tableName }),
    rawStore: new S3RawMailStore(s3),
    directory: new DynamoDbDirectoryStore({ client: dynamo, tableName }),
    where: resolved.where,
    close: async () => {
      dynamo.destroy();
      s3.destroy();
    },
  };
}
