// `cdk synth` of the app in cdk.json as a deployer runs it: the real CLI, offline
// (no telemetry, no version check, no notices), with the real local esbuild
// bundles. Checks that cdk-nag leaves no unacknowledged finding, that each
// function's asset is a bundle Node loads and whose `handler` answers an SQS
// batch (a failed record's retry backoff going to a local SQS stand-in), and that a
// wrong configuration stops synth naming its key.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambdas/wiring/env.ts';
import { startFakeAws, type FakeAws } from '../local/cli-deployed-aws-fakes.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI_TIMEOUT_MS = 120_000;
// Lambda allows 250 MB unzipped; a bundle far above this one's ~2.5 MB would mean
// something (a data file, a second SDK) slipped in and slows every cold start.
const MAX_BUNDLE_BYTES = 10 * 1024 * 1024;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      command,
      args,
      { cwd: ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? CLI_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

const offline = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DISABLE_VERSION_CHECK: 'true' };
const cdk = (args: string[]) => run('npx', ['--no-install', 'cdk', ...args, '--no-notices', '-q'], { env: offline });

type FunctionResource = { Properties: { Environment: { Variables: Record<string, unknown> } }; Metadata: Record<string, string> };

let work: string;
let outdir: string;
let synth: Run;
let aws: FakeAws;

beforeAll(async () => {
  aws = await startFakeAws();
  work = await mkdtemp(join(tmpdir(), 'shadowmail-cdk-synth-'));
  outdir = join(work, 'cdk.out');
  synth = await cdk(['synth', '-o', outdir]);
  console.info(`cdk synth with bundling: ${synth.ms} ms, exit ${synth.code}`);
}, CLI_TIMEOUT_MS + 10_000);

afterAll(async () => {
  await aws?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Where the stand-in of the consumed queue points: the SQS fake, which records ChangeMessageVisibility. */
const consumedQueueUrl = () => `${aws.endpoint}/123456789012/shadowmail-consumed`;

type BundledFunction = 'Ingest' | 'Forward' | 'Resend' | 'Webmail/Function' | 'InboundMail/ActivationFunction';

async function pipelineFunction(name: BundledFunction): Promise<{ resource: FunctionResource; bundle: string }> {
  const template = JSON.parse(await readFile(join(outdir, 'Stateless.template.json'), 'utf8')) as { Resources: Record<string, FunctionResource & { Type: string }> };
  const resource = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:cdk:path'] === `Stateless/${name}/Function/Resource`,
  );
  if (!resource) throw new Error(`no ${name} function in the stateless template`);
  return { resource, bundle: join(outdir, resource.Metadata['aws:asset:path']!, 'index.mjs') };
}

/** Loads a bundle in a fresh Node process and calls its `handler` with `event`. */
async function invokeBundle(bundle: string, variables: Record<string, unknown>, event: unknown): Promise<Run & { result?: unknown; exported?: string }> {
  const script = join(work, 'invoke.mjs');
  await writeFile(
    script,
    [
      "const [bundle, event] = process.argv.slice(2);",
      'const mod = await import(bundle);',
      "const context = { awsRequestId: 'req-1', functionName: 'test', getRemainingTimeInMillis: () => 60_000 };",
      'const result = typeof mod.handler === "function" ? await mod.handler(JSON.parse(event), context) : undefined;',
      "process.stdout.write(`\\nRESULT ${JSON.stringify({ exported: typeof mod.handler, result })}\\n`);",
    ].join('\n'),
  );
  // What the function's environment holds in AWS; the references CloudFormation fills
  // at deploy time get stand-ins of the same shape (nothing is called with them but the
  // consumed queue, which a failed record's backoff reaches: the SQS fake).
  const standIns: Record<string, string> = {
    [ENV.tableName]: 'shadowmail-table',
    [ENV.forwardQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/shadowmail-forward',
    [ENV.resendQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/shadowmail-resend',
    [ENV.sourceQueueUrl]: consumedQueueUrl(),
  };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL_SQS: aws.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : standIns[name]])),
  };
  const outcome = await run(process.execPath, [script, bundle, JSON.stringify(event)], { env, timeoutMs: 30_000 });
  const line = outcome.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { ...outcome, ...(line ? (JSON.parse(line.slice('RESULT '.length)) as { result: unknown; exported: string }) : {}) };
}

/** The end of a child's stderr, with the minified source lines Node echoes on a crash cut short. */
const tail = (text: string) =>
  text
    .split('\n')
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line))
    .slice(-15)
    .join('\n');

const sqsRecord = (messageId: string, body: string) => ({
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

describe('cdk synth of cdk.json (offline, real bundling)', () => {
  it('succeeds with no unacknowledged cdk-nag finding', async () => {
    // Assess
    // With CI=true the CLI logs to stdout, so both streams are read.
    const output = synth.stdout + synth.stderr;
    expect(output).not.toMatch(/ERROR|AwsSolutions-/);
    expect(synth.code, tail(output)).toBe(0);
    const report = JSON.parse(await readFile(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });

  it.each(['Ingest', 'Forward', 'Resend', 'Webmail/Function', 'InboundMail/ActivationFunction'] as const)(
    'bundles %s into one ESM file that Node parses and that exports a handler',
    async (name) => {
      // Act
      const { bundle } = await pipelineFunction(name);
      const size = (await stat(bundle)).size;
      const check = await run(process.execPath, ['--check', bundle], { timeoutMs: 30_000 });
      // Importing runs no wiring (each handler builds its wiring on the first call).
      const loaded = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundle)}); process.stdout.write(typeof m.handler);`], {
        timeoutMs: 30_000,
        env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1' },
      });

      // Assess
      console.info(`${name} bundle: ${(size / 1024 / 1024).toFixed(2)} MiB`);
      expect(size).toBeGreaterThan(100_000);
      expect(size).toBeLessThan(MAX_BUNDLE_BYTES);
      expect(check.code, tail(check.stderr)).toBe(0);
      expect(loaded.stdout, tail(loaded.stderr)).toBe('function');
    },
  );

  it.each(['Ingest', 'Forward'] as const)(
    'loads the %s bundle with the deployed environment, and its handler answers a batch with per-record failures',
    async (name) => {
      // Prepare
      const { resource, bundle } = await pipelineFunction(name);
      const variables = resource.Properties.Environment.Variables;
      const event = { Records: [sqsRecord('bad-1', 'this is not a notification')] };
      aws.sqsVisibilityChanges.length = 0;

      // Act
      const empty = await invokeBundle(bundle, variables, { Records: [] });
      const malformed = await invokeBundle(bundle, variables, event);

      // Assess: the failed record comes back after the first backoff (30 s), set on the queue the function consumes
      expect(empty.exported, tail(empty.stderr)).toBe('function');
      expect(empty.result).toEqual({ batchItemFailures: [] });
      expect(malformed.result, tail(malformed.stderr)).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-1' }] });
      expect(malformed.stderr).not.toMatch(/Dynamic require|is not defined|Cannot find (module|package)/);
      expect(aws.sqsVisibilityChanges, tail(malformed.stdout + malformed.stderr)).toEqual([
        { queueUrl: consumedQueueUrl(), receiptHandle: 'rh-bad-1', visibilityTimeout: 30 },
      ]);
    },
  );

  it('loads the Resend bundle with the deployed environment; a step that can never run is dropped, not retried for ever', async () => {
    // Prepare
    const { resource, bundle } = await pipelineFunction('Resend');
    const variables = resource.Properties.Environment.Variables;
    aws.sqsVisibilityChanges.length = 0;

    // Act
    const empty = await invokeBundle(bundle, variables, { Records: [] });
    const malformed = await invokeBundle(bundle, variables, { Records: [sqsRecord('bad-1', '{"type":"unknown"}')] });

    // Assess
    expect(empty.result, tail(empty.stderr)).toEqual({ batchItemFailures: [] });
    expect(malformed.result, tail(malformed.stderr)).toEqual({ batchItemFailures: [] });
    expect(malformed.stdout + malformed.stderr).toMatch(/resend step dropped/);
    expect(aws.sqsVisibilityChanges).toEqual([]);
  });

  it('stops with the key named when the configuration file is wrong', async () => {
    // Prepare
    const bad = join(work, 'bad-config.json');
    await writeFile(bad, JSON.stringify({ domains: ['corp.example'], smartHost: { host: 'exchange.corp.example', port: 0 } }));

    // Act
    const refused = await cdk(['synth', '-c', `shadowmail.config=${bad}`, '-o', join(work, 'refused.out')]);

    // Assess
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/shadowmail config: shadowmail\.smartHost\.port: .*\(in .*bad-config\.json\)/);
  });
});
