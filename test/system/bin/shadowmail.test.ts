// `cdk synth` of the app in cdk.json as a deployer runs it: the real CLI, offline
// (no telemetry, no version check, no notices), with the real local esbuild
// bundles. Checks that cdk-nag leaves no unacknowledged finding, that each
// function's asset is a bundle Node loads and whose `handler` answers an SQS
// batch (a failed record's retry backoff going to a local SQS stand-in), that the Ingest
// bundle drops SES's setup notification (with dynalite, s3rver and the SQS fake behind
// its adapters), and that a wrong configuration stops synth naming its key.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbMessageIndex } from '../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../lambdas/adapters/aws/message-table.ts';
import { S3RawMailStore } from '../../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { ENV } from '../../../lambdas/contract/environment.ts';
import { buildReceiptNotification, SES_SETUP_NOTIFICATION, wrapInSnsEnvelope } from '../../../lambdas/handlers/ses-receipt-event.ts';
import { inSnsEnvelope, SES_SETUP_NOTIFICATIONS } from '../../fixtures/ses/setup-notifications.ts';
import { type FakeAws, startFakeAws } from '../../support/cli-deployed-aws-fakes.ts';
import { startDynalite } from '../../support/dynamodb-servers.ts';
import { invokeBundle, type ProcessRun, runProcess, sqsRecord, tail } from '../../support/lambda-bundle.ts';
import { simpleMessage } from '../../support/received-mail.ts';
import { startS3rver } from '../../support/s3rver.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const CLI_TIMEOUT_MS = 120_000;
// Lambda allows 250 MB unzipped; a bundle far above this one's ~2.5 MB would mean
// something (a data file, a second SDK) slipped in and slows every cold start.
const MAX_BUNDLE_BYTES = 10 * 1024 * 1024;

const run = (command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) =>
  runProcess(command, args, { cwd: ROOT, timeoutMs: CLI_TIMEOUT_MS, ...options });

const offline = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DISABLE_VERSION_CHECK: 'true' };
const cdk = (args: string[]) => run('npx', ['--no-install', 'cdk', ...args, '--no-notices', '-q'], { env: offline });

type FunctionResource = { Properties: { Environment: { Variables: Record<string, unknown> } }; Metadata: Record<string, string> };

let work: string;
let outdir: string;
let synth: ProcessRun;
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
  const template = JSON.parse(await readFile(join(outdir, 'Stateless.template.json'), 'utf8')) as {
    Resources: Record<string, FunctionResource & { Type: string }>;
  };
  const resource = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:cdk:path'] === `Stateless/${name}/Function/Resource`,
  );
  if (!resource) throw new Error(`no ${name} function in the stateless template`);
  return { resource, bundle: join(outdir, resource.Metadata['aws:asset:path']!, 'index.mjs') };
}

/**
 * Loads a bundle in a fresh Node process and calls its `handler` with `event` (see
 * test/support/lambda-bundle.ts); the queue it consumes, which a failed record's backoff
 * reaches, is the SQS fake.
 */
const invoke = (bundle: string, variables: Record<string, unknown>, event: unknown) =>
  invokeBundle(bundle, { ...variables, ...(ENV.sourceQueueUrl in variables && { [ENV.sourceQueueUrl]: consumedQueueUrl() }) }, event, {
    workDir: work,
    extraEnv: { AWS_ENDPOINT_URL_SQS: aws.endpoint },
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
      const loaded = await run(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bundle)}); process.stdout.write(typeof m.handler);`],
        {
          timeoutMs: 30_000,
          env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1' },
        },
      );

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
      const empty = await invoke(bundle, variables, { Records: [] });
      const malformed = await invoke(bundle, variables, event);

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

  it('acknowledges and drops SES setup notifications in the Ingest bundle against dynalite and s3rver: nothing indexed, nothing enqueued, real mail beside them goes on', async () => {
    // Prepare: the table in dynalite, the bucket in s3rver with the object SES writes at setup, the forward queue behind the SQS fake
    const { resource, bundle } = await pipelineFunction('Ingest');
    const [dynalite, aws, s3rver] = await Promise.all([startDynalite(), startFakeAws(), startS3rver(['raw-mail'])]);
    const dynamo = makeDynamoDbClient(dynalite.endpoint);
    const s3 = s3rver.client;
    const s3Port = s3rver.port;
    try {
      await createMessageTable(dynamo, 'shadowmail-table');
      const rawStore = new S3RawMailStore(s3);
      await rawStore.put({ bucket: 'raw-mail', key: `raw/${SES_SETUP_NOTIFICATION}` }, Buffer.from(simpleMessage()));
      await rawStore.put({ bucket: 'raw-mail', key: 'raw/real-0001' }, Buffer.from(simpleMessage()));
      const forwardQueue = `${aws.endpoint}/123456789012/shadowmail-forward`;
      aws.addQueue(forwardQueue);
      const setupForms = Object.values(SES_SETUP_NOTIFICATIONS).map((notification) => ({
        ...notification,
        ...('receipt' in notification && {
          receipt: { ...notification.receipt, action: { ...notification.receipt.action, bucketName: 'raw-mail' } },
        }),
      }));
      const real = buildReceiptNotification({
        sesMessageId: 'real-0001',
        receivedAt: new Date(),
        envelopeFrom: 'partner@example.org',
        envelopeRecipients: ['alice@corp.test'],
        bucket: 'raw-mail',
        key: 'raw/real-0001',
        headers: [],
        commonHeaders: {},
      });
      const event = {
        Records: [
          ...setupForms.map((notification, i) => sqsRecord(`setup-${i}`, inSnsEnvelope(notification, `sns-setup-${i}`))),
          sqsRecord('real-1', wrapInSnsEnvelope(real, 'sns-real-1')),
        ],
      };
      const variables = {
        ...resource.Properties.Environment.Variables,
        [ENV.tableName]: 'shadowmail-table',
        [ENV.forwardQueueUrl]: forwardQueue,
        AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Port}`,
        AWS_ENDPOINT_URL_SQS: aws.endpoint,
        // s3rver checks signatures made with its own key; dynalite and the fake take any.
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        POWERTOOLS_METRICS_DISABLED: 'true',
      };

      // Act
      const outcome = await invokeBundle(bundle, variables, event, { workDir: work });

      // Assess: every record acknowledged; only the real message indexed and enqueued for the forward
      expect(outcome.result, tail(outcome.stderr + outcome.stdout)).toEqual({ batchItemFailures: [] });
      const index = new DynamoDbMessageIndex({ client: dynamo, tableName: 'shadowmail-table' });
      const now = new Date();
      for (const id of [SES_SETUP_NOTIFICATION, 'x1y2z3setup']) expect(await index.getMessage(id, now), id).toBeNull();
      expect(await index.getMessage('real-0001', now)).not.toBeNull();
      expect(aws.sqsMessages.map((message) => (JSON.parse(message.body) as { sesMessageId: string }).sesMessageId)).toEqual(['real-0001']);
      expect(outcome.stdout.match(/SES setup notification acknowledged and dropped/g)).toHaveLength(setupForms.length);
    } finally {
      dynamo.destroy();
      await Promise.all([dynalite.stop(), aws.close(), s3rver.close()]);
    }
  });

  it('loads the Resend bundle with the deployed environment; a step that can never run is dropped, not retried for ever', async () => {
    // Prepare
    const { resource, bundle } = await pipelineFunction('Resend');
    const variables = resource.Properties.Environment.Variables;
    aws.sqsVisibilityChanges.length = 0;

    // Act
    const empty = await invoke(bundle, variables, { Records: [] });
    const malformed = await invoke(bundle, variables, { Records: [sqsRecord('bad-1', '{"type":"unknown"}')] });

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
