// `shadowmail reconcile --stack` as on the on-prem host: the table's name from the
// stateful stack's outputs (CloudFormation fake), the table in dynalite, the Sent copies
// in s3rver, the mailboxes in Dovecot. The reply lands in Sent, the run is audited in the
// deployed table as the AWS caller STS names, and the journal is a file in the state directory.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { S3RawMailStore } from '../../../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import { type Dovecot, startDovecot } from '../../../support/dovecot.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { putSentCopy, rawMessage, reconcileArgs } from '../../../support/reconcile-mail.ts';
import { type RunningS3rver, startS3rver } from '../../../support/s3rver.ts';

const STACK = 'corp-mail';
const TABLE = 'corp-mail-table';
const BUCKET = 'corp-mail-raw';
const ALICE = 'alice@corp.test';

describe('shadowmail reconcile --stack', () => {
  let dynamo: DynamoDbServer;
  let aws: FakeAws;
  let s3: RunningS3rver;
  let dovecot: Dovecot;
  let work: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    [dynamo, aws, s3, dovecot] = await Promise.all([
      startDynalite(),
      startFakeAws(),
      startS3rver([BUCKET]),
      startDovecot({ domain: 'corp.test' }),
    ]);
    work = await mkdtemp(join(tmpdir(), 'shadowmail-reconcile-stack-'));
    aws.stacks.set(`${STACK}-stateful`, { TableName: TABLE, RawMailBucketName: BUCKET });
    useFakeAws(aws, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3.port}`,
      // s3rver checks signatures made with its own key; dynalite and the fake take any.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      XDG_STATE_HOME: join(work, 'state'),
    });
  }, 60_000);
  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([dynamo?.stop(), aws?.close(), s3?.close(), dovecot?.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  it('reads the deployment through its outputs, appends the reply to Sent, audits the run in the table, keeps its journal on the host', async () => {
    // Prepare
    const client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, TABLE);
    const directory = new DynamoDbDirectoryStore({ client, tableName: TABLE });
    await directory.putUsers([makeDirectoryUser({ id: 'a', mailbox: ALICE })]);
    await directory.putAddresses([{ address: ALICE, mailbox: ALICE }]);
    const at = new Date(Date.now() - 3_600_000);
    const raw = rawMessage('<stack-1@corp.test>', 'Re: the deployed way', ALICE, at);
    const store = {
      index: new DynamoDbMessageIndex({ client, tableName: TABLE }),
      raw: new S3RawMailStore(s3.client),
      bucket: BUCKET,
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    };
    await putSentCopy(store, ALICE, 'sent-stack-1', raw, at);
    const passwordFile = join(work, 'password');
    await writeFile(passwordFile, dovecot.servicePassword, { mode: 0o600 });
    const startedAt = new Date().toISOString();

    // Act
    const run = await runCli(...reconcileArgs(dovecot, passwordFile, '--json', '--stack', STACK, '--region', 'eu-central-1'));

    // Assess
    expect(run.code, run.err).toBe(0);
    expect(JSON.parse(run.out).summary).toMatchObject({ appended: 1, failed: 0 });
    const sent = await dovecot.messages('alice', 'Sent');
    expect(sent.map((m) => m.raw.toString())).toEqual([raw]);
    const audit = await new DynamoDbAuditLog({ client, tableName: TABLE }).list({
      since: startedAt,
      until: new Date(Date.now() + 60_000).toISOString(),
      action: 'mailbox.reconcile',
      limit: 10,
    });
    expect(audit.events).toEqual([
      expect.objectContaining({
        actor: `cli:${aws.caller.Arn} (${userInfo().username}@${hostname()})`.toLowerCase(),
        outcome: 'ok',
        target: 'all mailboxes',
      }),
    ]);
    expect(await readdir(join(work, 'state', 'shadowmail'))).toEqual([`reconcile-${STACK}.json`]);
    client.destroy();
  }, 60_000);
});
