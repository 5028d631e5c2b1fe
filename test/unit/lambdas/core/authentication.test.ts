// The warning rule: which verdicts and which From headers make the webmail warn.
import { describe, expect, it } from 'vitest';
import { type AuthenticationVerdicts, authenticationWarnings, recipientDomains } from '../../../../lambdas/core/authentication.ts';

const passed: AuthenticationVerdicts = { spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' };
const own = ['corp.test', 'corp-group.test'];

describe('authenticationWarnings', () => {
  it('says nothing about external mail that passed, or that had nothing to check (GRAY, DISABLED)', () => {
    expect(authenticationWarnings({ verdicts: passed, from: ['Partner <p@partner.test>'], ownDomains: own })).toEqual([]);
    const unchecked: AuthenticationVerdicts = { spf: 'GRAY', dkim: 'DISABLED', dmarc: 'PROCESSING_FAILED' };
    expect(authenticationWarnings({ verdicts: unchecked, from: ['p@partner.test'], ownDomains: own })).toEqual([]);
  });

  it.each([
    ['spf', { spf: 'FAIL' }],
    ['dkim', { dkim: 'FAIL' }],
    ['dmarc', { dmarc: 'FAIL' }],
  ] as const)('warns when %s failed', (check, failed) => {
    const verdicts = { ...passed, ...failed };
    expect(authenticationWarnings({ verdicts, from: ['p@partner.test'], ownDomains: own })).toEqual([check]);
  });

  it('lists every failed check in a fixed order', () => {
    const verdicts: AuthenticationVerdicts = { spf: 'FAIL', dkim: 'FAIL', dmarc: 'FAIL' };
    expect(authenticationWarnings({ verdicts, from: ['p@partner.test'], ownDomains: own })).toEqual(['spf', 'dkim', 'dmarc']);
  });

  it('warns about a From at one of our domains (or a subdomain, in any case) that did not pass DMARC', () => {
    for (const dmarc of ['GRAY', 'DISABLED', 'PROCESSING_FAILED'] as const) {
      const verdicts = { ...passed, dmarc };
      expect(authenticationWarnings({ verdicts, from: ['CEO <ceo@corp.test>'], ownDomains: own })).toEqual(['own-domain']);
      expect(authenticationWarnings({ verdicts, from: ['it@Mail.Corp-Group.TEST'], ownDomains: own })).toEqual(['own-domain']);
    }
    expect(authenticationWarnings({ verdicts: { ...passed, dmarc: 'FAIL' }, from: ['ceo@corp.test'], ownDomains: own })).toEqual([
      'dmarc',
      'own-domain',
    ]);
  });

  it('trusts a From at our domain that passed DMARC', () => {
    expect(authenticationWarnings({ verdicts: passed, from: ['CEO <ceo@corp.test>'], ownDomains: own })).toEqual([]);
    expect(authenticationWarnings({ verdicts: passed, from: ['news@mail.corp.test'], ownDomains: own })).toEqual([]);
  });

  it('warns about our domain named in the display name of an address elsewhere, even when that address passed DMARC', () => {
    const from = ['"ceo@corp.test" <attacker@evil.test>'];
    expect(authenticationWarnings({ verdicts: passed, from, ownDomains: own })).toEqual(['own-domain']);
  });

  it('warns when one of several From mailboxes is ours: DMARC judges a single one', () => {
    const from = ['friend@evil.test', 'ceo@corp.test'];
    expect(authenticationWarnings({ verdicts: passed, from, ownDomains: own })).toEqual(['own-domain']);
  });

  it('does not take a look-alike suffix for our domain', () => {
    for (const address of ['a@notcorp.test', 'a@corp.test.evil.test']) {
      expect(authenticationWarnings({ verdicts: { ...passed, dmarc: 'GRAY' }, from: [address], ownDomains: own })).toEqual([]);
    }
  });
});

describe('recipientDomains', () => {
  it('lists each envelope recipient domain once, in comparison form', () => {
    expect(recipientDomains(['alice@corp.test', 'Bob@CORP.test', 'info@corp-group.test'])).toEqual(['corp.test', 'corp-group.test']);
  });
});
