// The receipt rules' recipient lists: every directory address (aliases included) and each
// domain's postmaster, at most 100 per rule and one domain per rule; catch-all domains, a
// separator SES does not know and domains beyond the rule limit stay whole.
import { describe, expect, it } from 'vitest';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { planReceiptRecipients, SES_RECIPIENTS_PER_RULE } from '../../../../lambdas/core/receipt-recipients.ts';

const alice = makeDirectoryUser({ id: 'a', mailbox: 'alice@corp.test', aliases: ['info@corp.test', 'alice@sales.test'] });
const shared = makeDirectoryUser({ id: 's', mailbox: 'support@corp.test', kind: 'shared' });
const base = { domains: ['corp.test', 'sales.test'], catchAllDomains: [], subaddressSeparator: '+', maxRules: 10 };

function manyUsers(count: number, domain: string) {
  return Array.from({ length: count }, (_, n) =>
    makeDirectoryUser({ id: `u${n}`, mailbox: `user${String(n).padStart(4, '0')}@${domain}` }),
  );
}

describe('planReceiptRecipients', () => {
  it('lists every address of the directory and each postmaster, per domain, sorted', () => {
    const plan = planReceiptRecipients({ ...base, users: [alice, shared] });
    expect(plan.addressRules).toEqual([
      ['alice@corp.test', 'info@corp.test', 'postmaster@corp.test', 'support@corp.test'],
      ['alice@sales.test', 'postmaster@sales.test'],
    ]);
    expect(plan.domainWide).toEqual([]);
    expect(plan.addresses).toBe(6);
  });

  it('ignores addresses outside the mail domains', () => {
    const outsider = makeDirectoryUser({ id: 'o', mailbox: 'olga@elsewhere.test' });
    expect(planReceiptRecipients({ ...base, users: [outsider] }).addressRules.flat()).not.toContain('olga@elsewhere.test');
  });

  it('splits a domain into rules of at most 100 recipients', () => {
    const plan = planReceiptRecipients({ ...base, domains: ['corp.test'], users: manyUsers(250, 'corp.test') });
    expect(plan.addressRules.map((rule) => rule.length)).toEqual([100, 100, 51]);
    expect(new Set(plan.addressRules.flat()).size).toBe(251);
    expect(SES_RECIPIENTS_PER_RULE).toBe(100);
  });

  it('keeps a domain whole when its lists would pass the rule limit, and says so', () => {
    const plan = planReceiptRecipients({
      ...base,
      maxRules: 3,
      users: [...manyUsers(150, 'corp.test'), ...manyUsers(150, 'sales.test')],
    });
    expect(plan.addressRules).toHaveLength(2);
    expect(plan.addressRules.flat().every((address) => address.endsWith('@corp.test'))).toBe(true);
    expect(plan.domainWide).toEqual([{ domain: 'sales.test', reason: 'beyond-limits' }]);
  });

  it('keeps catch-all domains whole', () => {
    const plan = planReceiptRecipients({ ...base, catchAllDomains: ['sales.test'], users: [alice] });
    expect(plan.domainWide).toEqual([{ domain: 'sales.test', reason: 'catch-all' }]);
    expect(plan.addressRules.flat().some((address) => address.endsWith('@sales.test'))).toBe(false);
  });

  it("keeps every domain whole when the subaddress separator is not SES's +", () => {
    const plan = planReceiptRecipients({ ...base, subaddressSeparator: '-', users: [alice] });
    expect(plan.addressRules).toEqual([]);
    expect(plan.domainWide.map((entry) => entry.reason)).toEqual(['separator', 'separator']);
  });
});
