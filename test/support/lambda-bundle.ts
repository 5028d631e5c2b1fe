// The Lambda bundles as they are deployed: built by the stack's own MailFunction (CDK's
// NodejsFunction with the local esbuild), loaded in a fresh Node process with the
// environment the stack gives the function, and invoked there through `handler`.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { ENV } from '../../lambdas/contract/environment.ts';
import { MailFunction, PROJECT_ROOT } from '../../lib/constructs/mail-function.ts';

export interface ProcessRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<ProcessRun> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd ?? PROJECT_ROOT,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/** The end of a child's stderr, with the minified source lines Node echoes on a crash cut short. */
export const tail = (text: string): string =>
  text
    .split('\n')
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line))
    .slice(-15)
    .join('\n');

/**
 * Stand-ins of the right shape for the references CloudFormation fills at deploy time
 * (nothing is called with them).
 */
export const DEPLOY_TIME_STAND_INS: Record<string, string> = {
  [ENV.tableName]: 'shadowmail-table',
  [ENV.forwardQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/shadowmail-forward',
  [ENV.resendQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/shadowmail-resend',
  [ENV.sourceQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/shadowmail-consumed',
};

export interface BundleInvocation extends ProcessRun {
  result?: unknown;
  exported?: string;
}

/**
 * Loads a bundle in a fresh Node process and calls its `handler` with `event`. The
 * process sees the function's `variables` (CloudFormation references replaced by
 * DEPLOY_TIME_STAND_INS), a region and dummy credentials, and `extraEnv` (endpoints of
 * AWS stand-ins, NODE_EXTRA_CA_CERTS, …).
 */
export async function invokeBundle(
  bundle: string,
  variables: Record<string, unknown>,
  event: unknown,
  options: { workDir: string; extraEnv?: Record<string, string>; timeoutMs?: number },
): Promise<BundleInvocation> {
  const script = join(options.workDir, 'invoke.mjs');
  await writeFile(
    script,
    [
      'const [bundle, event] = process.argv.slice(2);',
      'const mod = await import(bundle);',
      "const context = { awsRequestId: 'req-1', functionName: 'test', getRemainingTimeInMillis: () => 60_000 };",
      'const result = typeof mod.handler === "function" ? await mod.handler(JSON.parse(event), context) : undefined;',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text of the child script.
      'process.stdout.write(`\\nRESULT ${JSON.stringify({ exported: typeof mod.handler, result })}\\n`);',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...Object.fromEntries(
      Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : DEPLOY_TIME_STAND_INS[name]]),
    ),
    ...options.extraEnv,
  };
  const outcome = await runProcess(process.execPath, [script, bundle, JSON.stringify(event)], {
    env,
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  const line = outcome.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { ...outcome, ...(line ? (JSON.parse(line.slice('RESULT '.length)) as { result: unknown; exported: string }) : {}) };
}

type FunctionResource = { Type: string; Metadata?: Record<string, string> };

/**
 * Builds one handler as the stack does (a MailFunction in a scratch app, bundled by CDK
 * with the local esbuild; its cloud assembly under `workDir`) and returns the path of its
 * index.mjs. `context`: cdk.json's context, for the same feature flags.
 */
export async function buildFunctionBundle(entry: string, context: Record<string, unknown>, workDir: string): Promise<string> {
  const outdir = await mkdtemp(join(workDir, 'cdk.out-'));
  // asset metadata names the bundle's directory in the assembly (the CLI switches it on; an App in a test must ask)
  const app = new App({ outdir, context: { ...context, 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Bundle');
  new MailFunction(stack, 'Fn', { entry, description: 'bundle under test', timeout: Duration.minutes(1), memoryMiB: 256, environment: {} });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, FunctionResource> };
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:asset:path']);
  if (!fn) throw new Error(`no bundled function for ${entry}`);
  return resolve(assembly.directory, fn.Metadata!['aws:asset:path']!, 'index.mjs');
}

/**
 * The files a bundle was built from — its source map's `sources` — relative to the project
 * root (`lambdas/…`, `node_modules/<package>/…`).
 */
export async function bundleSources(bundle: string): Promise<string[]> {
  const map = JSON.parse(await readFile(`${bundle}.map`, 'utf8')) as { sources: string[] };
  return map.sources.map((source) => {
    const path = relative(PROJECT_ROOT, resolve(dirname(bundle), source));
    // node_modules may be a link out of the tree (a git worktree sharing another checkout's)
    const linked = /^\.\.\/.*?\/node_modules\/(.*)$/.exec(path.split(sep).join('/'));
    return linked ? `node_modules/${linked[1]}` : path;
  });
}

/** The npm packages among a bundle's sources (`@scope/name` or `name`). */
export function bundledPackages(sources: readonly string[]): Set<string> {
  const names = sources.map((source) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1]).filter((name) => name !== undefined);
  return new Set(names);
}

/** One SQS record as Lambda's event source mapping hands it to a bundled handler. */
export const sqsRecord = (messageId: string, body: string) => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: {},
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:q',
  awsRegion: 'eu-west-1',
});
