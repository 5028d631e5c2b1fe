// doctor's receipt rule checks at their edges: the recipient check off (the stack's rule lists
// every domain) warns; on, it names the domains taken whole and why; an address of the directory
// in no rule fails with the check on (SES refuses it) and warns with it off; addresses listed but
// gone warn; a set near SES's rule limit warns; a set without the stack's rule fails.
import { describe, expect, it } from 'vitest';
import { receiptRulesChecks } from '../../../../bin/commands/doctor/receipt-rules.ts';
import { receiptRuleNames } from '../../../../lambdas/contract/receipt-rules.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';

const names = receiptRuleNames('corp');
const domains = ['corp.test', 'sales.test'];
const users = [
  makeDirectoryUser({ id: 'a', mailbox: 'alice@corp.test', aliases: ['info@corp.test'] }),
  makeDirectoryUser({ id: 's', mailbox: 'sam@sales.test' }),
];
const rule = (name: string, recipients: string[]) => ({ name, recipients, settings: '{}' });
const checkOn = rule(names.storeRule, ['postmaster@corp.test', 'sales.test']);
const checkOff = rule(names.storeRule, domains);
const byName = (checks: ReturnType<typeof receiptRulesChecks>) => Object.fromEntries(checks.map((check) => [check.name, check]));

describe('doctor: receipt rules', () => {
  it('is all ok with the check on, every address listed, and names the domains taken whole and why', () => {
    // Act
    const checks = byName(
      receiptRulesChecks({ rules: [checkOn, rule('corp-dir-000', ['alice@corp.test', 'info@corp.test'])], names, domains, users }),
    );

    // Assess
    expect(checks['recipient check']).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('sales.test (stack rule: catch-all)'),
    });
    expect(checks['receipt rules vs directory']).toMatchObject({ status: 'ok', detail: '2 addresses in 1 rules, as the directory says' });
    expect(checks['receipt rule count']).toMatchObject({ status: 'ok', detail: '2 rules of at most 200 a rule set' });
  });

  it('fails for an address SES refuses with the check on, naming it', () => {
    // Act
    const checks = byName(receiptRulesChecks({ rules: [checkOn, rule('corp-dir-000', ['alice@corp.test'])], names, domains, users }));

    // Assess
    expect(checks['receipt rules vs directory']).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^1 address .*: info@corp\.test; SES refuses/),
    });
  });

  it('warns with the check off, and for the addresses SES would refuse once it is on', () => {
    // Act
    const checks = byName(receiptRulesChecks({ rules: [checkOff], names, domains, users }));

    // Assess
    expect(checks['recipient check']).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^off: /) });
    expect(checks['receipt rules vs directory']).toMatchObject({ status: 'ok' });
  });

  it("counts a domain in the sync's fallback rule as taken whole", () => {
    // Act
    const checks = byName(receiptRulesChecks({ rules: [checkOn, rule('corp-dir-domains', ['corp.test'])], names, domains, users }));

    // Assess
    expect(checks['recipient check']!.detail).toContain('corp.test (fallback rule of the sync)');
    expect(checks['receipt rules vs directory']).toMatchObject({ status: 'ok' });
  });

  it('warns for addresses listed that the directory no longer has', () => {
    // Act
    const checks = byName(
      receiptRulesChecks({
        rules: [checkOn, rule('corp-dir-000', ['alice@corp.test', 'info@corp.test', 'gone@corp.test'])],
        names,
        domains,
        users,
      }),
    );

    // Assess
    expect(checks['receipt rules vs directory']).toMatchObject({ status: 'warn', detail: expect.stringContaining('gone@corp.test') });
  });

  it('warns near the rule limit and fails without the stack rule', () => {
    // Act
    const many = Array.from({ length: 185 }, (_, n) => rule(`corp-dir-${String(n).padStart(3, '0')}`, []));
    const near = byName(receiptRulesChecks({ rules: [checkOn, ...many], names, domains, users: [] }));
    const foreign = receiptRulesChecks({ rules: [rule('other', ['corp.test'])], names, domains, users });

    // Assess
    expect(near['receipt rule count']).toMatchObject({ status: 'warn' });
    expect(foreign).toEqual([expect.objectContaining({ status: 'fail', detail: expect.stringContaining('no rule corp-store') })]);
  });
});
