// `shadowmail export --stack STACK_ID` as an admin runs it with their own AWS credentials:
// the table's name from the stack's CloudFormation outputs (the fake of
// cli-deployed-aws-fakes.ts), the table on dynalite and the raw mail on s3rver, each
// reached through its AWS_ENDPOINT_URL_<SERVICE> variable as the SDK reaches AWS. The zip
// is read back with unzip; the export is in the deployed table's audit log.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { S3RawMailStore } from '../../../../lambdas/adapters/aws/s3-raw-mail-store.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { makeEntry, makeRecord } from '../../../support/index-contract/fixtures.ts';
import { type RunningS3rver, startS3rver } from '../../../support/s3rver.ts';
import { unzip, zipNames } from '../../../support/unzip.ts';

const STACK = 'corp-mail';
const REGION = 'eu-central-1';
const TABLE = 'corp-mail-messages';
const BUCKET = 'corp-mail-raw-123456789012';
const BOB = 'bob@corp.test';
const ID = 'deployed-export-0001';
const RAW = Buffer.from('From: partner@ext.example\r\nTo: bob@corp.test\r\nSubject: Vertrag \u00fcberarbeitet\r\n\r\nAnbei.\r\n', 'latin1');

describe('shadowmail export --stack', () => {
  let dynamo: DynamoDbServer;
  let s3: RunningS3rver;
  let aws: FakeAws;
  let client: ReturnType<typeof makeDynamoDbClient>;
  let outDir: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    [dynamo, s3, aws] = await Promise.all([startDynalite(), startS3rver([BUCKET]), startFakeAws()]);
    aws.stacks.set(`${STACK}-stateful`, { TableName: TABLE, RawMailBucketName: BUCKET });
    // s3rver knows one key pair; dynalite and the fakes take any.
    useFakeAws(aws, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3.port}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, TABLE);
    const index = new DynamoDbMessageIndex({ client, tableName: TABLE });
    const live = Math.floor(Date.now() / 1000) + 20 * 86_400;
    const record = makeRecord(ID, {
      receivedAt: '2026-12-01T10:15:00.000Z',
      expiresAt: live,
      raw: { bucket: BUCKET, key: `inbound/${ID}` },
    });
    await index.putMessage(record);
    await index.putMailboxEntry(makeEntry(BOB, ID, { receivedAt: record.receivedAt, expiresAt: live, subject: 'Vertrag überarbeitet' }));
    await new S3RawMailStore(s3.client).put(record.raw, RAW);
    outDir = await mkdtemp(join(tmpdir(), 'shadowmail-export-stack-'));
  });

  afterAll(async () => {
    process.env = savedEnv;
    client?.destroy();
    await Promise.all([dynamo?.stop(), s3?.close(), aws?.close()]);
    await rm(outDir, { recursive: true, force: true });
  });

  it('exports the mailbox from the deployed table and bucket, byte for byte, and records it in the deployed audit log', async () => {
    // Prepare
    const out = join(outDir, 'bob.zip');

    // Act
    const result = await runCli('export', '--mailbox', BOB, '--out', out, '--stack', STACK, '--region', REGION);

    // Assess
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(await zipNames(out)).toEqual(['inbox/2026-12-01 1015 Vertrag überarbeitet port0001.eml']);
    expect(await unzip('-p', out, 'inbox/2026-12-01 1015 Vertrag überarbeitet port0001.eml')).toEqual(RAW);
    const window = { since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date(Date.now() + 60_000).toISOString() };
    const { events } = await new DynamoDbAuditLog({ client, tableName: TABLE }).list({ ...window, action: 'mailbox.export', limit: 10 });
    expect(events).toEqual([
      expect.objectContaining({
        // As the AWS caller STS names (aws-caller.ts), with the OS user as context.
        actor: `cli:${aws.caller.Arn} (${userInfo().username}@${hostname()})`.toLowerCase(),
        target: BOB,
        outcome: 'ok',
        details: expect.objectContaining({ destination: out, exported: 1 }),
      }),
    ]);
    expect(aws.requests.map((request) => `${request.action} ${String(request.params.StackName)}`)).toContain(
      `DescribeStacks ${STACK}-stateful`,
    );
  });

  it('answers a refusal of S3 (credentials the bucket does not take) with one line, exit 2, and writes nothing', async () => {
    // Prepare
    process.env.AWS_ACCESS_KEY_ID = 'AKIDNOTALLOWED';

    // Act
    const result = await runCli(
      'export',
      '--mailbox',
      BOB,
      '--out',
      join(outDir, 'denied.zip'),
      '--stack',
      STACK,
      '--region',
      REGION,
    ).finally(() => {
      process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /^shadowmail export: not allowed: InvalidAccessKeyId: .+; nothing written \(the IAM it needs: shadowmail export --help\)\n$/,
    );
    expect((await readdir(outDir)).filter((name) => name.includes('denied'))).toEqual([]);
  });

  it('answers a stack that does not exist with one line and writes nothing', async () => {
    // Act
    const result = await runCli('export', '--mailbox', BOB, '--out', join(outDir, 'none.zip'), '--stack', 'nowhere', '--region', REGION);

    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toBe(
      `shadowmail export: stack nowhere-stateful not found in ${REGION}: check --stack (the stackId of the deployment) and --region\n`,
    );
    expect(await readdir(outDir)).not.toContain('none.zip');
  });
});
