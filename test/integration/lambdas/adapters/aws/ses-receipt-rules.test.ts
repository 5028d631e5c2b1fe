// The directory sync's address rules through the real SES v1 client against the fake SES
// receipt rule API (ses-receipt-rules-fake.ts), which throttles as SES does (one call a
// second; the client here makes one attempt, so a call too soon fails the test): rules are
// created after the stack's rule with its settings and S3 action, a run without changes
// writes nothing, a rule whose settings differ is refreshed, and SES's LimitExceeded stops the
// run with what was written reported and nothing of the stack's rule touched.
import { SESClient } from '@aws-sdk/client-ses';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SesReceiptRules } from '../../../../../lambdas/adapters/aws/ses-receipt-rules.ts';
import { receiptRuleNames, SES_RECEIPT_RULE_LIMITS } from '../../../../../lambdas/contract/receipt-rules.ts';
import { makeDirectoryUser } from '../../../../../lambdas/core/directory.ts';
import { syncReceiptRules } from '../../../../../lambdas/core/receipt-rules-sync.ts';
import { type FakeAws, fakeClientConfig, startFakeAws } from '../../../../support/cli-deployed-aws-fakes.ts';

const names = receiptRuleNames('corp');
const S3_ACTION = {
  S3Action: {
    BucketName: 'corp-stateful-rawmail',
    ObjectKeyPrefix: 'raw/',
    TopicArn: 'arn:aws:sns:eu-central-1:123456789012:corp-inbound',
    IamRoleArn: 'arn:aws:iam::123456789012:role/corp-DeliveryRole',
  },
};
const storeRule = () => ({
  Name: names.storeRule,
  Enabled: true,
  ScanEnabled: true,
  TlsPolicy: 'Optional',
  Recipients: ['postmaster@corp.test'],
  Actions: [S3_ACTION],
});
const users = [
  makeDirectoryUser({ id: 'a', mailbox: 'alice@corp.test', aliases: ['info@corp.test'] }),
  makeDirectoryUser({ id: 'b', mailbox: 'bob@corp.test' }),
];
const input = {
  users,
  domains: ['corp.test'],
  catchAllDomains: [],
  subaddressSeparator: '+',
  names,
  limits: SES_RECEIPT_RULE_LIMITS,
  dryRun: false,
};

let aws: FakeAws;
let client: SESClient;
beforeAll(async () => {
  aws = await startFakeAws();
  client = new SESClient(fakeClientConfig(aws));
});
afterAll(async () => {
  client.destroy();
  await aws.close();
});
beforeEach(() => {
  const fake = aws.doctor.receiptRules;
  fake.ruleSets.clear();
  fake.ruleSets.set(names.ruleSetName, [storeRule()]);
  fake.writes.length = 0;
  fake.maxRulesPerSet = 200;
  fake.minIntervalMs = 1000;
});

const rules = () => new SesReceiptRules(client, names.ruleSetName, 'eu-central-1');
const inSet = () => aws.doctor.receiptRules.ruleSets.get(names.ruleSetName)!;

describe('SesReceiptRules with syncReceiptRules', () => {
  it('answers null for a rule set that does not exist', async () => {
    // Act
    const listed = await new SesReceiptRules(client, 'nobody-inbound', 'eu-central-1').list();

    // Assess
    expect(listed).toBeNull();
  });

  it("creates the address rule after the stack's rule with its settings and S3 action, paced to SES's one call a second", async () => {
    // Act
    const report = await syncReceiptRules(rules(), input);

    // Assess
    expect(report.failure).toBeNull();
    expect(report.written).toBe(1);
    expect(inSet().map((rule) => rule.Name)).toEqual([names.storeRule, 'corp-dir-000']);
    expect(inSet()[1]).toEqual({
      ...storeRule(),
      Name: 'corp-dir-000',
      Recipients: ['alice@corp.test', 'bob@corp.test', 'info@corp.test'],
    });
    expect(inSet()[0]).toEqual(storeRule());
  });

  it('waits a second and tries again when SES answers Throttling (another process wrote rules just then)', async () => {
    // Prepare: the SDK client here makes one attempt; the retry must be the adapter's own
    aws.doctor.receiptRules.failNext.set('CreateReceiptRule', { code: 'Throttling', message: 'Rate exceeded' });
    const started = performance.now();

    // Act
    const report = await syncReceiptRules(rules(), input);

    // Assess
    expect(report.failure).toBeNull();
    expect(report.written).toBe(1);
    expect(inSet().map((rule) => rule.Name)).toEqual([names.storeRule, 'corp-dir-000']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('writes nothing when the rules already match the directory', async () => {
    // Prepare
    await syncReceiptRules(rules(), input);
    aws.doctor.receiptRules.writes.length = 0;

    // Act
    const report = await syncReceiptRules(rules(), input);

    // Assess
    expect([report.plan.create, report.plan.update, report.plan.remove, report.refreshed]).toEqual([[], [], [], []]);
    expect(aws.doctor.receiptRules.writes).toEqual([]);
  });

  it("refreshes a rule whose recipients are right but whose action is not the stack rule's", async () => {
    // Prepare
    await syncReceiptRules(rules(), input);
    const stale = inSet()[1]!;
    stale.Actions = [{ S3Action: { ...S3_ACTION.S3Action, BucketName: 'old-bucket' } }];

    // Act
    const report = await syncReceiptRules(rules(), input);

    // Assess
    expect(report.refreshed).toEqual(['corp-dir-000']);
    expect(inSet()[1]!.Actions).toEqual([S3_ACTION]);
  });

  it("stops at SES's LimitExceeded (a quota below the assumed one), reports what was written, and leaves the stack's rule alone", async () => {
    // Prepare: room for one rule of ours only, a directory that needs two
    aws.doctor.receiptRules.maxRulesPerSet = 2;
    const many = Array.from({ length: 3 }, (_, n) => makeDirectoryUser({ id: `u${n}`, mailbox: `user${n}@corp.test` }));

    // Act
    const report = await syncReceiptRules(rules(), {
      ...input,
      users: many,
      limits: { recipientsPerRule: 2, rulesPerRuleSet: SES_RECEIPT_RULE_LIMITS.rulesPerRuleSet },
    });

    // Assess
    expect(report.written).toBe(1);
    expect(report.failure).toMatchObject({ rule: 'corp-dir-001', action: 'create' });
    expect(report.failure!.reason).toMatch(/Maximum number of receipt rules/);
    expect(inSet().map((rule) => rule.Name)).toEqual([names.storeRule, 'corp-dir-000']);
    expect(inSet()[0]).toEqual(storeRule());
  });

  it('takes the domain whole in the fallback rule when the rule limit leaves no room, and deletes the address rules after', async () => {
    // Prepare
    await syncReceiptRules(rules(), input);

    // Act: the set may hold two rules, one is the stack's; three users need two address rules of 2
    const report = await syncReceiptRules(rules(), {
      ...input,
      users: [...users, makeDirectoryUser({ id: 'c', mailbox: 'carol@corp.test' })],
      limits: { recipientsPerRule: 2, rulesPerRuleSet: 2 },
    });

    // Assess
    expect(report.maxRules).toBe(1);
    expect(report.plan.domainWide).toEqual([{ domain: 'corp.test', reason: 'beyond-limits' }]);
    expect(aws.doctor.receiptRules.writes.slice(-2)).toEqual([
      { action: 'CreateReceiptRule', rule: 'corp-dir-domains' },
      { action: 'DeleteReceiptRule', rule: 'corp-dir-000' },
    ]);
    expect(inSet().map((rule) => [rule.Name, rule.Recipients])).toEqual([
      [names.storeRule, ['postmaster@corp.test']],
      ['corp-dir-domains', ['corp.test']],
    ]);
  });
});
