// `shadowmail directory import --table … --receipt-rule-set …` end to end, as the AD host runs
// it against a deployed stack: the directory into dynalite, then the address rules into the
// stack's SES receipt rule set — SES being the fake AWS server behind AWS_ENDPOINT_URL_SES
// (ses-receipt-rules-fake.ts, SES's one call a second included), which the real SDK client
// talks to. What the admin reads (rules written, limits, domains taken whole and why), the
// SES calls against the sync role's grant, bad flags refused before anything is written, and
// a rule write SES refuses (exit 3, the directory synced). The CLI runs in-process.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { receiptRuleNames } from '../../../../lambdas/contract/receipt-rules.ts';
import { RECEIPT_RULE_ACTIONS } from '../../../../lib/constructs/directory-sync-role.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../support/cli-deployed-aws-fakes.ts';
import { runCli } from '../../../support/cli-run.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';

const REGION = 'eu-central-1';
const names = receiptRuleNames('corp');
const cli = (...args: string[]) => runCli('directory', ...args);
const csv = (rows: string[]) => `${['mailbox,displayName,aliases', ...rows].join('\n')}\n`;

describe('shadowmail directory with receipt rules (--receipt-rule-set)', () => {
  let dynamo: DynamoDbServer;
  let aws: FakeAws;
  let workDir: string;
  let file: string;
  let table = '';
  let tables = 0;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    [dynamo, aws] = await Promise.all([startDynalite(), startFakeAws()]);
    useFakeAws(aws);
    workDir = await mkdtemp(join(tmpdir(), 'shadowmail-receipt-rules-'));
    file = join(workDir, 'users.csv');
    await writeFile(file, csv(['alice@corp.test,Alice,info@corp.test', 'bob@corp.test,Bob,', 'sam@sales.test,Sam,']));
  });
  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([dynamo?.stop(), aws?.close(), rm(workDir, { recursive: true, force: true })]);
  });
  beforeEach(async () => {
    tables += 1;
    table = `corp-mail-${tables}`;
    const client = makeDynamoDbClient(dynamo.endpoint);
    await createMessageTable(client, table);
    client.destroy();
    const fake = aws.doctor.receiptRules;
    fake.ruleSets.set(names.ruleSetName, [
      {
        Name: names.storeRule,
        Enabled: true,
        ScanEnabled: true,
        TlsPolicy: 'Optional',
        Recipients: ['corp.test', 'sales.test'],
        Actions: [{ S3Action: { BucketName: 'corp-raw', ObjectKeyPrefix: 'raw/', TopicArn: 'arn:aws:sns:eu-central-1:123456789012:t' } }],
      },
    ]);
    fake.maxRulesPerSet = 200;
    fake.writes.length = 0;
    aws.requests.length = 0;
  });

  const target = () => ['--table', table, '--region', REGION, '--endpoint', dynamo.endpoint, '--domains', 'corp.test,sales.test'];
  const rulesInSet = () => aws.doctor.receiptRules.ruleSets.get(names.ruleSetName)!.map((rule) => [rule.Name, rule.Recipients]);
  const auditDetails = async () => {
    const client = makeDynamoDbClient(dynamo.endpoint);
    try {
      const { events } = await new DynamoDbAuditLog({ client, tableName: table }).list({
        since: new Date(Date.now() - 60_000).toISOString(),
        until: new Date(Date.now() + 60_000).toISOString(),
        action: 'directory.sync',
        limit: 10,
      });
      return events.map((event) => event.details);
    } finally {
      client.destroy();
    }
  };
  const directoryUsers = async () => {
    const client = makeDynamoDbClient(dynamo.endpoint);
    try {
      return (await new DynamoDbDirectoryStore({ client, tableName: table }).readState()).users;
    } finally {
      client.destroy();
    }
  };

  it('lists every address outside the catch-all domains in a rule of its own, says what it wrote, and uses only granted calls', async () => {
    // Act
    const run = await cli('import', file, ...target(), '--receipt-rule-set', names.ruleSetName, '--catch-all-domains', 'sales.test');

    // Assess
    expect(run.code, run.err).toBe(0);
    expect(rulesInSet()).toEqual([
      [names.storeRule, ['corp.test', 'sales.test']],
      ['corp-dir-000', ['alice@corp.test', 'bob@corp.test', 'info@corp.test']],
    ]);
    expect(run.out).toContain('+ receipt rule corp-dir-000  3 recipients');
    expect(run.out).toContain(`receipt rules in rule set ${names.ruleSetName} (${REGION}): 1 rules, 3 addresses; wrote 1 of 1`);
    expect(run.out).toContain('SES limits: 100 recipients a rule, 200 rules a set; 1 other rules in the set, room for 199');
    expect(run.out).toContain('domains SES takes whole: sales.test (catch-all)');
    expect(await auditDetails()).toEqual([
      expect.objectContaining({
        usersAdded: 3,
        receiptRulesWritten: 1,
        receiptRulesFailed: 0,
        receiptRuleAddresses: 3,
        domainsTakenWhole: 1,
      }),
    ]);
    const sesCalls = aws.requests.filter((request) => request.service === 'ses').map((request) => `ses:${request.action}`);
    expect(sesCalls.length).toBeGreaterThan(0);
    expect(sesCalls.filter((action) => !(RECEIPT_RULE_ACTIONS as readonly string[]).includes(action))).toEqual([]);
  });

  it('writes nothing on a dry run, and nothing again when nothing changed', async () => {
    // Act
    const dry = await cli('import', file, ...target(), '--receipt-rule-set', names.ruleSetName, '--dry-run');
    const written = aws.doctor.receiptRules.writes.length;
    await cli('import', file, ...target(), '--receipt-rule-set', names.ruleSetName);
    aws.doctor.receiptRules.writes.length = 0;
    const again = await cli('import', file, ...target(), '--receipt-rule-set', names.ruleSetName);

    // Assess
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('would write 1');
    expect(written).toBe(0);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('wrote 0 of 0');
    expect(aws.doctor.receiptRules.writes).toEqual([]);
  });

  it('takes every domain whole in the fallback rule with a separator SES does not know, and says why', async () => {
    // Act
    const run = await cli('import', file, ...target(), '--receipt-rule-set', names.ruleSetName, '--subaddress-separator', '-');

    // Assess
    expect(run.code, run.err).toBe(0);
    expect(rulesInSet().slice(1)).toEqual([['corp-dir-domains', ['corp.test', 'sales.test']]]);
    expect(run.out).toContain("domains SES takes whole: corp.test (the subaddress separator is not SES's +), sales.test");
  });

  it('exits 3 naming the rule SES refused, with the directory synced and the stack rule untouched', async () => {
    // Prepare: SES's real quota lower than the one assumed
    aws.doctor.receiptRules.maxRulesPerSet = 1;

    // Act
    const run = await cli('import', file, ...target(), '--receipt-rule-set', names.ruleSetName);

    // Assess
    expect(run.code).toBe(3);
    expect(run.err).toMatch(/failed: create receipt rule corp-dir-000: Maximum number of receipt rules reached/);
    expect(rulesInSet()).toEqual([[names.storeRule, ['corp.test', 'sales.test']]]);
    expect((await directoryUsers()).map((user) => user.mailbox).sort()).toEqual(['alice@corp.test', 'bob@corp.test', 'sam@sales.test']);
  });

  it('exits 3 when the rule set does not exist, with the directory synced and the failure audited', async () => {
    // Act
    const run = await cli('import', file, ...target(), '--receipt-rule-set', 'gone-inbound');

    // Assess
    expect(run.code).toBe(3);
    expect(run.err).toMatch(/failed: receipt rules in rule set gone-inbound \(eu-central-1\): .*does not exist.*the directory is synced/);
    expect(await directoryUsers()).toHaveLength(3);
    expect(await auditDetails()).toEqual([expect.objectContaining({ usersAdded: 3, receiptRulesFailed: 1 })]);
  });

  it.each([
    ['without --domains', ['--table', 'x', '--region', REGION, '--receipt-rule-set', names.ruleSetName], /needs --domains/],
    ['on local mode', ['--domains', 'corp.test', '--receipt-rule-set', names.ruleSetName], /goes with --table/],
    [
      'a set that is not a stack output',
      ['--table', 'x', '--region', REGION, '--domains', 'corp.test', '--receipt-rule-set', 'default-rule-set'],
      /ReceiptRuleSetName/,
    ],
    [
      'a catch-all domain that is no mail domain',
      [
        '--table',
        'x',
        '--region',
        REGION,
        '--domains',
        'corp.test',
        '--receipt-rule-set',
        names.ruleSetName,
        '--catch-all-domains',
        'other.test',
      ],
      /catch-all domain other\.test is not one of the mail domains/,
    ],
    ['--catch-all-domains alone', ['--table', 'x', '--region', REGION, '--catch-all-domains', 'corp.test'], /go with --receipt-rule-set/],
  ])('refuses %s before anything is written (exit 2)', async (_what, args, message) => {
    // Act
    const run = await cli('import', file, ...args);

    // Assess
    expect(run.code).toBe(2);
    expect(run.err).toMatch(message);
    expect(aws.requests).toEqual([]);
  });
});
