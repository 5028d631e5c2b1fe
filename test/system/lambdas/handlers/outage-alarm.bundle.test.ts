// The outage alarm bundle as deployed: built by the stack's MailFunction, run in a fresh
// Node process with the environment the stateless stack gives it (deploy-time references
// replaced), the session secret from a Secrets Manager stand-in, the flag from the fake
// SSM, SMS and mail through the fake SNS and SES, episode keys and audit in dynalite
// behind the real DynamoDB adapter. The backlog ALARM sends each admin one link that
// verifies with the webmail's key; a second delivery sends nothing; an OK sends nothing.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, WEB_ENV } from '../../../../lambdas/contract/environment.ts';
import { OutageLinkSigner } from '../../../../lambdas/core/outage-link.ts';
import { parseConfig, type ShadowmailConfigInput } from '../../../../lib/config.ts';
import { buildShadowmail } from '../../../../lib/shadowmail-app.ts';
import { type FakeAws, startFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { type FreshTable, freshMessageTable } from '../../../support/dynamodb-table-suite.ts';
import { buildFunctionBundle, invokeBundle, tail } from '../../../support/lambda-bundle.ts';
import { type FakeSecretsManager, startFakeSecretsManager } from '../../../support/secrets-manager-fake.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CDK_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const EXAMPLE = CDK_CONTEXT.shadowmail as ShadowmailConfigInput;
const SECRET = 'bundle-test-session-secret-0123456789abcdef';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/session-AbCdEf';
const PARAMETER = '/shadowmail-example/failover';
const ALARM = 'shadowmail-example-forward-backlog-age';

let work: string;
let bundle: string;
let aws: FakeAws;
let secrets: FakeSecretsManager;
let dynalite: DynamoDbServer;
let table: FreshTable;
let variables: Record<string, unknown>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shadowmail-alarm-bundle-'));
  [bundle, aws, secrets, dynalite] = await Promise.all([
    buildFunctionBundle('lambdas/entry/outage-alarm.ts', CDK_CONTEXT, work),
    startFakeAws(),
    startFakeSecretsManager(),
    startDynalite(),
  ]);
  table = await freshMessageTable(dynalite.endpoint, 'alarm-bundle');
  secrets.secrets.set(SECRET_ARN, SECRET);
  aws.parameters.set(PARAMETER, JSON.stringify({ on: false }));
  const app = new App({ outdir: join(work, 'synth'), context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const config = parseConfig({
    ...EXAMPLE,
    breakGlass: {
      admins: [
        { username: 'oncall@example.com', mobile: '+4917012345678', privateEmail: 'oncall@home.example' },
        { username: 'boss@example.com', privateEmail: 'boss@home.example' },
      ],
    },
  } as ShadowmailConfigInput);
  const { stateless } = buildShadowmail(app, config);
  const resources = Template.fromStack(stateless).toJSON().Resources as Record<
    string,
    { Properties: { Environment: { Variables: Record<string, unknown> } } }
  >;
  const fn = stateless.outageAlarm!.function.function;
  variables = resources[stateless.getLogicalId(fn.node.defaultChild as CfnElement)]!.Properties.Environment.Variables;
}, 180_000);

afterAll(async () => {
  await table?.cleanup();
  await Promise.all([aws?.close(), secrets?.close(), dynalite?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

const notification = (state: string) => ({
  Records: [
    {
      EventSource: 'aws:sns',
      Sns: {
        Type: 'Notification',
        Message: JSON.stringify({
          AlarmName: ALARM,
          NewStateValue: state,
          OldStateValue: state === 'ALARM' ? 'OK' : 'ALARM',
          NewStateReason: 'Threshold Crossed',
          StateChangeTime: '2030-03-01T11:58:00.000+0000',
        }),
      },
    },
  ],
});

function invoke(event: unknown) {
  return invokeBundle(
    bundle,
    {
      ...variables,
      // What CloudFormation fills in at deploy time.
      [ENV.tableName]: table.tableName,
      [WEB_ENV.sessionSecretArn]: SECRET_ARN,
      [WEB_ENV.failoverParameter]: PARAMETER,
      [WEB_ENV.publicUrl]: 'https://mail.example.com',
    },
    event,
    {
      workDir: work,
      extraEnv: { ...aws.cliEnv(), ...secrets.env('eu-central-1'), AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint },
    },
  );
}

describe('the outage alarm bundle', () => {
  it('sends each admin one link on the backlog ALARM, by SMS and to the private address', async () => {
    const run = await invoke(notification('ALARM'));
    expect(run.result, tail(run.stderr)).toEqual([{ sent: ['oncall@example.com', 'boss@example.com'], alreadySent: [], failed: [] }]);

    const sms = aws.requests.filter((r) => r.service === 'sns' && r.action === 'Publish');
    expect(sms.map((r) => r.params.PhoneNumber)).toEqual(['+4917012345678']);
    const token = /https:\/\/mail\.example\.com\/declare\?t=([A-Za-z0-9_-]+)/.exec(String(sms[0]!.params.Message))?.[1];
    expect(new OutageLinkSigner(SECRET).verify(token!, new Date())).toMatchObject({ ok: true, link: { admin: 'oncall@example.com' } });
    const mails = aws.requests.filter((r) => r.service === 'sesv2' && r.action === 'SendEmail');
    expect(mails.map((r) => [r.params.FromEmailAddress, r.params.ToAddresses])).toEqual([
      ['noreply@example.com', ['oncall@home.example']],
      ['noreply@example.com', ['boss@home.example']],
    ]);
  });

  it('sends nothing more when SNS delivers the ALARM again, and nothing for OK', async () => {
    const before = aws.requests.length;
    const again = await invoke(notification('ALARM'));
    expect(again.result, tail(again.stderr)).toEqual([{ sent: [], alreadySent: ['oncall@example.com', 'boss@example.com'], failed: [] }]);
    const ok = await invoke(notification('OK'));
    expect(ok.result, tail(ok.stderr)).toEqual([]);
    expect(aws.requests.slice(before).filter((r) => r.action === 'Publish' || r.action === 'SendEmail')).toEqual([]);
  });
});
