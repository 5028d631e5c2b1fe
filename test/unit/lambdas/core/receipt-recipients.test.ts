// The address rules `directory sync` keeps in SES: every directory address (aliases included)
// of the domains not taken whole, at most 100 per rule; an address stays in its rule, so a new
// address writes one rule (SES takes one rule write a second); catch-all domains, a separator SES
// does not know and domains beyond the rule limit stay whole, the latter two in the fallback rule.
import { describe, expect, it } from 'vitest';
import { SES_RECEIPT_RULE_LIMITS } from '../../../../lambdas/contract/receipt-rules.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { type OwnedRule, planReceiptRules } from '../../../../lambdas/core/receipt-recipients.ts';

const alice = makeDirectoryUser({ id: 'a', mailbox: 'alice@corp.test', aliases: ['info@corp.test', 'alice@sales.test'] });
const shared = makeDirectoryUser({ id: 's', mailbox: 'support@corp.test', kind: 'shared' });
const base = {
  domains: ['corp.test', 'sales.test'],
  catchAllDomains: [] as string[],
  subaddressSeparator: '+',
  current: [] as OwnedRule[],
  prefix: 'sm-dir-',
  maxRules: 10,
  recipientsPerRule: SES_RECEIPT_RULE_LIMITS.recipientsPerRule,
};

function manyUsers(count: number, domain: string, from = 0) {
  return Array.from({ length: count }, (_, n) =>
    makeDirectoryUser({ id: `${domain}-${n + from}`, mailbox: `user${String(n + from).padStart(4, '0')}@${domain}` }),
  );
}

describe('planReceiptRules', () => {
  it('lists every address of the directory in new rules, and nothing else to do', () => {
    // Act
    const plan = planReceiptRules({ ...base, users: [alice, shared] });

    // Assess
    expect(plan.rules).toEqual([
      { name: 'sm-dir-000', recipients: ['alice@corp.test', 'alice@sales.test', 'info@corp.test', 'support@corp.test'] },
    ]);
    expect(plan.create).toEqual(plan.rules);
    expect(plan.update).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(plan.domainWide).toEqual([]);
    expect(plan.addresses).toBe(4);
  });

  it('ignores addresses outside the mail domains', () => {
    // Act
    const outsider = makeDirectoryUser({ id: 'o', mailbox: 'olga@elsewhere.test' });

    // Assess
    expect(planReceiptRules({ ...base, users: [outsider, alice] }).rules.flatMap((rule) => rule.recipients)).not.toContain(
      'olga@elsewhere.test',
    );
  });

  it('splits into rules of at most 100 recipients', () => {
    // Act
    const plan = planReceiptRules({ ...base, users: manyUsers(250, 'corp.test') });

    // Assess
    expect(plan.rules.map((rule) => [rule.name, rule.recipients.length])).toEqual([
      ['sm-dir-000', 100],
      ['sm-dir-001', 100],
      ['sm-dir-002', 50],
    ]);
    expect(SES_RECEIPT_RULE_LIMITS.recipientsPerRule).toBe(100);
  });

  it('writes nothing when the rules already say what the directory says', () => {
    // Prepare
    const users = manyUsers(250, 'corp.test');
    const current = planReceiptRules({ ...base, users }).rules;

    // Act
    const plan = planReceiptRules({ ...base, users, current });

    // Assess
    expect([plan.create, plan.update, plan.remove]).toEqual([[], [], []]);
  });

  it('writes one rule for one new address, even one that sorts first, and one for one gone', () => {
    // Prepare
    const users = manyUsers(250, 'corp.test', 1);
    const current = planReceiptRules({ ...base, users }).rules;
    const newcomer = makeDirectoryUser({ id: 'n', mailbox: 'aaron@corp.test' });

    // Act
    const added = planReceiptRules({ ...base, users: [newcomer, ...users], current });
    const removed = planReceiptRules({ ...base, users: users.slice(1), current });

    // Assess
    expect(added.create).toEqual([]);
    expect(added.update).toEqual([{ name: 'sm-dir-002', recipients: [...current[2]!.recipients, 'aaron@corp.test'] }]);
    expect(removed.update.map((rule) => rule.name)).toEqual(['sm-dir-000']);
    expect(removed.update[0]!.recipients).not.toContain('user0001@corp.test');
  });

  it('deletes a rule left empty and drops rules that are not address rules from the plan', () => {
    // Prepare
    const current = [
      { name: 'sm-dir-000', recipients: ['alice@corp.test'] },
      { name: 'sm-dir-001', recipients: ['gone@corp.test'] },
      { name: 'sm-dir-domains', recipients: ['sales.test'] },
    ];

    // Act
    const plan = planReceiptRules({
      ...base,
      domains: ['corp.test'],
      users: [makeDirectoryUser({ id: 'a', mailbox: 'alice@corp.test' })],
      current,
    });

    // Assess
    expect(plan.rules).toEqual([{ name: 'sm-dir-000', recipients: ['alice@corp.test'] }]);
    expect(plan.remove).toEqual(['sm-dir-001', 'sm-dir-domains']);
  });

  it('packs tight rather than take a domain whole when scattered rules pass the limit', () => {
    // Prepare: three rules of one address each, the limit two
    const users = manyUsers(3, 'corp.test');
    const current = users.map((user, n) => ({ name: `sm-dir-00${n}`, recipients: [user.mailbox] }));

    // Act
    const plan = planReceiptRules({ ...base, domains: ['corp.test'], users, current, maxRules: 2 });

    // Assess
    expect(plan.rules).toEqual([{ name: 'sm-dir-000', recipients: users.map((user) => user.mailbox) }]);
    expect(plan.remove).toEqual(['sm-dir-001', 'sm-dir-002']);
    expect(plan.domainWide).toEqual([]);
  });

  it('takes the largest domain whole, in the fallback rule, when the addresses pass the rule limit, and says so', () => {
    // Act
    const plan = planReceiptRules({
      ...base,
      maxRules: 3,
      users: [...manyUsers(250, 'corp.test'), ...manyUsers(150, 'sales.test')],
    });

    // Assess
    expect(plan.domainWide).toEqual([{ domain: 'corp.test', reason: 'beyond-limits' }]);
    expect(plan.rules.map((rule) => rule.name)).toEqual(['sm-dir-000', 'sm-dir-001', 'sm-dir-domains']);
    expect(plan.rules.at(-1)!.recipients).toEqual(['corp.test']);
    expect(plan.rules.slice(0, 2).flatMap((rule) => rule.recipients)).toHaveLength(150);
    expect(plan.rules.length).toBeLessThanOrEqual(3);
  });

  it('takes every domain whole when not even one rule besides the fallback fits', () => {
    // Act
    const plan = planReceiptRules({ ...base, maxRules: 1, users: [...manyUsers(120, 'corp.test'), ...manyUsers(30, 'sales.test')] });

    // Assess
    expect(plan.rules).toEqual([{ name: 'sm-dir-domains', recipients: ['corp.test', 'sales.test'] }]);
    expect(plan.domainWide.map((entry) => entry.reason)).toEqual(['beyond-limits', 'beyond-limits']);
  });

  it('leaves catch-all domains to the stack rule: no addresses, no fallback', () => {
    // Act
    const plan = planReceiptRules({ ...base, catchAllDomains: ['sales.test'], users: [alice] });

    // Assess
    expect(plan.domainWide).toEqual([{ domain: 'sales.test', reason: 'catch-all' }]);
    expect(plan.rules).toEqual([{ name: 'sm-dir-000', recipients: ['alice@corp.test', 'info@corp.test'] }]);
  });

  it("takes every domain whole in the fallback rule when the subaddress separator is not SES's +", () => {
    // Act
    const plan = planReceiptRules({ ...base, subaddressSeparator: '-', users: [alice] });

    // Assess
    expect(plan.rules).toEqual([{ name: 'sm-dir-domains', recipients: ['corp.test', 'sales.test'] }]);
    expect(plan.domainWide.map((entry) => entry.reason)).toEqual(['separator', 'separator']);
  });

  it('holds its promises over 40 runs of a changing directory: every address in one rule, rules full at most, the limit kept, one write per new address', () => {
    // Prepare: a seeded walk (no Math.random: a failure must repeat)
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let users = manyUsers(180, 'corp.test');
    let current: OwnedRule[] = [];
    let fresh = 1000;
    const limits = { ...base, domains: ['corp.test'], maxRules: 4, recipientsPerRule: 50 };

    // Act + Assess
    for (let run = 0; run < 40; run++) {
      const added = next(2) === 0;
      users = added ? [...users, ...manyUsers(1, 'corp.test', fresh++)] : users.filter((_, i) => i !== next(users.length));
      const plan = planReceiptRules({ ...limits, users, current });
      const listed = plan.rules.flatMap((rule) => rule.recipients);
      if (plan.domainWide.length === 0) expect(new Set(listed)).toEqual(new Set(users.map((user) => user.mailbox)));
      expect(listed).toHaveLength(new Set(listed).size);
      expect(plan.rules.every((rule) => rule.recipients.length <= 50)).toBe(true);
      expect(plan.rules.length).toBeLessThanOrEqual(4);
      if (current.length > 0 && plan.domainWide.length === 0) expect(plan.create.length + plan.update.length).toBeLessThanOrEqual(1);
      current = plan.rules;
    }
  });
});
