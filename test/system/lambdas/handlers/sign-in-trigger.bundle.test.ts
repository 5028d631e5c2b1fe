// Cognito's sign-in trigger as deployed: the bundle built by the stack's MailFunction, run in
// a fresh Node process per invocation with the environment the stateless stack gives it, the
// message table on dynalite (directory and audit log through the real adapters), and the
// flag parameter (SSM) and the pool's users (Cognito AdminGetUser) on the fake AWS server the
// real SDK clients talk to. Events as the Cognito developer guide shows them.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { DynamoDbDirectoryStore } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { ENV, WEB_ENV } from '../../../../lambdas/contract/environment.ts';
import { addressesOf, makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { SIGN_IN_REFUSED_MESSAGE, TRIGGER_SOURCES } from '../../../../lambdas/handlers/sign-in-trigger.ts';
import type { AuditEvent } from '../../../../lambdas/ports/audit-log.ts';
import { parseConfig, type ShadowmailConfigInput } from '../../../../lib/config.ts';
import { buildShadowmail } from '../../../../lib/shadowmail-app.ts';
import { type FakeAws, startFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { type FreshTable, freshMessageTable } from '../../../support/dynamodb-table-suite.ts';
import { buildFunctionBundle, invokeBundle, tail } from '../../../support/lambda-bundle.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CDK_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const REGION = 'eu-central-1';
const POOL = `${REGION}_BreakGlass1`;
const ADMIN = 'it-admin@corp.test';
const FLAG = '/shadowmail-trigger/failover';

let work: string;
let bundle: string;
let dynamo: DynamoDbServer;
let aws: FakeAws;
let table: FreshTable;
let variables: Record<string, unknown>;

/** The trigger's environment as the stateless stack sets it (bundling skipped). */
function triggerEnvironment(): Record<string, unknown> {
  const config: ShadowmailConfigInput = {
    stackId: 'shadowmail-trigger',
    region: REGION,
    domains: ['corp.test'],
    smartHost: { host: 'mail.corp.test', authSecretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/relay-AbCdEf' },
    identityProvider: { type: 'saml', metadataUrl: 'https://adfs.corp.test/FederationMetadata/2007-06/FederationMetadata.xml' },
    webmail: { cognitoDomainPrefix: 'corp-test-shadowmail' },
    breakGlass: { admins: [{ username: ADMIN, mobile: '+4915550009999' }] },
  } as ShadowmailConfigInput;
  const app = new App({ outdir: join(work, 'synth'), context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const { stateless } = buildShadowmail(app, parseConfig(config));
  const resources = Template.fromStack(stateless).toJSON().Resources as Record<
    string,
    { Properties: { Environment: { Variables: Record<string, unknown> } } }
  >;
  const fn = stateless.webmail.signInTrigger.function.function.node.defaultChild as CfnElement;
  return resources[stateless.getLogicalId(fn)]!.Properties.Environment.Variables;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shadowmail-trigger-bundle-'));
  [bundle, dynamo, aws] = await Promise.all([
    buildFunctionBundle('lambdas/entry/sign-in-trigger.ts', CDK_CONTEXT, work),
    startDynalite(),
    startFakeAws(),
  ]);
  variables = triggerEnvironment();
}, 180_000);

afterAll(async () => {
  await Promise.all([dynamo?.stop(), aws?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  table = await freshMessageTable(dynamo.endpoint, 'trigger');
  const directory = new DynamoDbDirectoryStore({ client: table.client, tableName: table.tableName });
  const users = [
    makeDirectoryUser({ id: '1', mailbox: 'alice@corp.test', mobile: '+4915550000001' }),
    makeDirectoryUser({ id: '2', mailbox: 'bob@corp.test', disabled: true, mobile: '+4915550000002' }),
  ];
  await directory.putUsers(users);
  await directory.putAddresses(users.flatMap((user) => addressesOf(user).map((address) => ({ address, mailbox: user.mailbox }))));
  aws.parameters.set(FLAG, JSON.stringify({ on: false }));
  aws.doctor.userPools.set(POOL, { Name: 'shadowmail-trigger-webmail' });
  aws.doctor.poolUsers.clear();
  aws.requests.length = 0;
  return () => table.cleanup();
});

function event(triggerSource: string, userName: string, attributes: Record<string, string> = {}) {
  return {
    version: '1',
    triggerSource,
    region: REGION,
    userPoolId: POOL,
    userName,
    callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: '1example23456789' },
    request: { userAttributes: { sub: 'b1f2', email: userName, 'cognito:user_status': 'CONFIRMED', ...attributes }, validationData: {} },
    response: {},
  };
}

async function invoke(input: unknown) {
  return invokeBundle(bundle, variables, input, {
    workDir: work,
    extraEnv: {
      ...aws.endpointEnv(),
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: REGION,
      [ENV.tableName]: table.tableName,
      [WEB_ENV.failoverParameter]: FLAG,
    },
  });
}

async function auditEntries(): Promise<Array<Pick<AuditEvent, 'actor' | 'action' | 'outcome' | 'details'>>> {
  const log = new DynamoDbAuditLog({ client: table.client, tableName: table.tableName });
  const now = Date.now();
  // A narrow window: the log reads one day partition per day of it.
  const page = await log.list({
    since: new Date(now - 3_600_000).toISOString(),
    until: new Date(now + 3_600_000).toISOString(),
    limit: 50,
  });
  return page.events.map(({ actor, action, outcome, details }) => ({ actor, action, outcome, details }));
}

describe('the sign-in trigger bundle', () => {
  it('refuses a staff code sign-in while the flag is off, with the one message, and leaves the reason in the audit log', async () => {
    // Act
    const run = await invoke(event(TRIGGER_SOURCES.preAuthentication, 'alice@corp.test'));

    // Assess
    expect(run.code, tail(run.stderr)).not.toBe(0);
    expect(run.stderr).toContain(SIGN_IN_REFUSED_MESSAGE);
    expect(aws.requests.filter((r) => r.service === 'ssm').map((r) => [r.action, r.params.Name])).toEqual([['GetParameter', FLAG]]);
    expect(await auditEntries()).toEqual([
      { actor: 'alice@corp.test', action: 'signin.code.denied', outcome: 'denied', details: { reason: 'failover-off', breakGlass: true } },
    ]);
  });

  it('admits an enabled user with a number once the flag is on (the event back unchanged), and refuses a disabled one', async () => {
    // Prepare
    aws.parameters.set(
      FLAG,
      JSON.stringify({ on: true, since: '2030-05-01T08:00:00Z', message: 'Exchange is down', changedBy: 'cli:ops' }),
    );
    const input = event(TRIGGER_SOURCES.preAuthentication, 'alice@corp.test');

    // Act
    const alice = await invoke(input);
    const bob = await invoke(event(TRIGGER_SOURCES.preAuthentication, 'bob@corp.test'));

    // Assess
    expect(alice.result, tail(alice.stderr)).toEqual(input);
    expect(bob.stderr).toContain(SIGN_IN_REFUSED_MESSAGE);
    expect(await auditEntries()).toEqual([
      { actor: 'bob@corp.test', action: 'signin.code.denied', outcome: 'denied', details: { reason: 'disabled', breakGlass: true } },
    ]);
  });

  it('admits the break-glass admin with the flag off only once the pool says TOTP is set up (AdminGetUser on the event pool)', async () => {
    // Prepare
    const admin = { Username: ADMIN, Enabled: true, UserStatus: 'CONFIRMED', Attributes: [{ Name: 'email', Value: ADMIN }] };
    aws.doctor.poolUsers.set(`${POOL}/${ADMIN}`, { ...admin, UserMFASettingList: [] });
    const input = event(TRIGGER_SOURCES.preAuthentication, ADMIN);

    // Act
    const without = await invoke(input);
    aws.doctor.poolUsers.set(`${POOL}/${ADMIN}`, { ...admin, UserMFASettingList: ['SOFTWARE_TOKEN_MFA'] });
    const withTotp = await invoke(input);

    // Assess
    expect(without.stderr).toContain(SIGN_IN_REFUSED_MESSAGE);
    expect(withTotp.result, tail(withTotp.stderr)).toEqual(input);
    expect(aws.requests.filter((r) => r.action === 'AdminGetUser').map((r) => r.params)).toEqual([
      { UserPoolId: POOL, Username: ADMIN },
      { UserPoolId: POOL, Username: ADMIN },
    ]);
    expect(await auditEntries()).toEqual([
      { actor: ADMIN, action: 'signin.denied', outcome: 'denied', details: { reason: 'no-totp', breakGlass: true } },
    ]);
  });

  it('audits a completed code sign-in, and lets a federated user through untouched with nothing asked', async () => {
    // Prepare
    const federated = event(TRIGGER_SOURCES.preAuthentication, 'ADFS_alice@corp.test', { 'cognito:user_status': 'EXTERNAL_PROVIDER' });

    // Act
    const post = await invoke(event(TRIGGER_SOURCES.postAuthentication, 'alice@corp.test'));
    const idp = await invoke(federated);

    // Assess
    expect(post.code, tail(post.stderr)).toBe(0);
    expect(idp.result, tail(idp.stderr)).toEqual(federated);
    expect(aws.requests.filter((r) => r.service === 'ssm' || r.service === 'cognito')).toEqual([]);
    expect(await auditEntries()).toEqual([
      { actor: 'alice@corp.test', action: 'signin.code', outcome: 'ok', details: { breakGlass: true } },
    ]);
  });
});
