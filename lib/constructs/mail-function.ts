// One pipeline Lambda function: a handler of lambdas/handlers bundled by the
// local esbuild into one ESM file (AWS SDK included, so the code runs against
// the SDK version it was tested with, not whatever the runtime ships), its own
// log group with a retention, and its own role that may write only to that
// log group until the stack grants more. Optionally in a VPC (EgressNetwork: the
// fixed NAT address an Exchange receive connector allow-lists).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ENV } from '../../lambdas/contract/environment.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The environment names of the Lambda contract (lambdas/wiring/env.ts), nothing else. */
export type ContractEnvironment = Partial<Record<(typeof ENV)[keyof typeof ENV], string>>;

// esbuild's ESM output has no `require`; CommonJS dependencies (mailparser,
// nodemailer, …) call it for Node built-ins, so the bundle gets one.
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __shadowmailCreateRequire } from 'node:module'; const require = __shadowmailCreateRequire(import.meta.url);";

/**
 * esbuild aliases of every function's bundle: package → a module of lambdas/bundle/ that
 * stands in for it (paths from the project root, where CDK runs esbuild; an alias also
 * covers the package's subpaths, and the longest alias wins). What the stand-ins replace
 * is code the functions carry but never run, compiled and run at each cold start for
 * nothing (issue 18; bench/README.md "Lambda bundles" has the figures):
 * - html-to-text, linkify-it and its TLD list: mailparser's display helpers, which the
 *   only MailParser the functions build (mailparser-run.ts, PARSER_OPTIONS) switches off;
 * - he: the default-options encode() that mailparser calls, without the entity tables;
 * - iconv-lite: the same, but libmime's question at load (the DBCS decoder class) is
 *   answered without building the GBK codec (its own files are aliased to themselves);
 * - @aws-sdk/credential-provider-node: the credential chain reduced to the environment,
 *   where Lambda puts the execution role's credentials.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'html-to-text': './lambdas/bundle/html-to-text.ts',
  'linkify-it': './lambdas/bundle/linkify-it.ts',
  tlds: './lambdas/bundle/tlds.ts',
  he: './lambdas/bundle/he.ts',
  'iconv-lite': './lambdas/bundle/iconv-lite.ts',
  'iconv-lite/lib': 'iconv-lite/lib',
  'iconv-lite/encodings': 'iconv-lite/encodings',
  '@aws-sdk/credential-provider-node': './lambdas/bundle/credential-provider-node.ts',
};

// Stack traces in CloudWatch name the original .ts file and line: Node reads the bundle's
// separate .map file when it loads the bundle (a cost that bench/lambda-bundles.ts measures).
export const MAIL_FUNCTION_NODE_OPTIONS = '--enable-source-maps';

/** Where a function runs inside a VPC (EgressNetwork.functionNetwork). */
export interface MailFunctionNetwork {
  vpc: ec2.IVpc;
  vpcSubnets: ec2.SubnetSelection;
  securityGroups: ec2.ISecurityGroup[];
}

// What Lambda does with the execution role to attach a function to a VPC
// (the actions of the AWSLambdaVPCAccessExecutionRole managed policy, without its
// logs:* on every log group).
export const VPC_NETWORK_INTERFACE_ACTIONS: readonly string[] = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

export interface MailFunctionProps {
  /** Handler file relative to the project root, e.g. `lambdas/entry/ingest.ts` (exports `handler`). */
  entry: string;
  description: string;
  timeout: Duration;
  memoryMiB: number;
  environment: ContractEnvironment;
  logRetention?: logs.RetentionDays;
  /** Run inside a VPC (for a fixed egress address); default: Lambda's own network. */
  network?: MailFunctionNetwork;
  /** Concurrency reserved for this function (and its ceiling); 0 or absent: none (0 is not "throttle all" here). */
  reservedConcurrency?: number;
}

export class MailFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: MailFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of our own instead of the default one: the default attaches the
    // AWSLambdaBasicExecutionRole managed policy, which may write to any log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
      // Inline in the role resource, not a separate policy: Lambda checks the ENI
      // permissions when the function is created, before a policy attached later exists.
      ...(props.network && {
        inlinePolicies: {
          VpcNetworkInterfaces: new iam.PolicyDocument({
            statements: [new iam.PolicyStatement({ actions: [...VPC_NETWORK_INTERFACE_ACTIONS], resources: ['*'] })],
          }),
        },
      }),
    });
    if (props.network) {
      // On the role resource only (its inline policy): the grants added later stay checked.
      Validations.of(this.role.node.defaultChild!).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Lambda creates and deletes the network interfaces of a VPC function with the execution role; their ids are not known in advance, ec2:Describe* accepts only "*", and Lambda checks these permissions on "*" when it creates the function.',
      });
    }
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    this.function = new NodejsFunction(this, 'Function', {
      entry: resolve(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: resolve(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout,
      memorySize: props.memoryMiB,
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      role: this.role,
      logGroup,
      ...(props.network && {
        vpc: props.network.vpc,
        vpcSubnets: props.network.vpcSubnets,
        securityGroups: props.network.securityGroups,
      }),
      environment: { ...definedOnly(props.environment), NODE_OPTIONS: MAIL_FUNCTION_NODE_OPTIONS },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        banner: ESM_REQUIRE_BANNER,
        externalModules: [],
        // ES module builds first (the AWS SDK ships both): esbuild can then leave out the
        // commands and code a function never calls; the CommonJS builds are kept whole.
        mainFields: ['module', 'main'],
        esbuildArgs: { '--alias': Object.entries(BUNDLE_ALIASES).map(([name, standIn]) => `${name}=${standIn}`) },
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        logLevel: LogLevel.WARNING,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x on purpose: the handlers are tested on Node 20 and 22 (package.json engines); nodejs24.x follows when the test machines run Node 24.',
    });
  }
}

function definedOnly(environment: ContractEnvironment): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
