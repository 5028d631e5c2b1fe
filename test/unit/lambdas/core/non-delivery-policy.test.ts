// No backscatter: a report only to a sender that authenticated, never to the null sender,
// never for spam or a virus.
import { describe, expect, it } from 'vitest';
import type { Verdicts } from '../../../../lambdas/core/model.ts';
import { nonDeliveryDecision, type ReportSubject } from '../../../../lambdas/core/non-delivery-policy.ts';

const PASS: Verdicts = { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' };
const subject = (overrides: Partial<Omit<ReportSubject, 'verdicts'>> & { verdicts?: Partial<Verdicts> } = {}): ReportSubject => ({
  envelopeFrom: 'sender@partner.test',
  spamFlagged: false,
  summary: { from: ['Sender <sender@partner.test>'] },
  ...overrides,
  verdicts: { ...PASS, ...overrides.verdicts },
});

describe('nonDeliveryDecision', () => {
  it('sends when SPF passed for the envelope sender', () => {
    expect(nonDeliveryDecision(subject({ verdicts: { dkim: 'FAIL', dmarc: 'FAIL' } }))).toEqual({ send: true });
  });

  it('sends when DMARC passed for a From domain aligned with the envelope sender (DKIM alone, SPF failed)', () => {
    expect(nonDeliveryDecision(subject({ verdicts: { spf: 'FAIL' } }))).toEqual({ send: true });
    expect(nonDeliveryDecision(subject({ verdicts: { spf: 'GRAY' }, envelopeFrom: 'bounces@mail.partner.test' }))).toEqual({ send: true });
  });

  it('withholds when DMARC passed for a From domain that is not the sender’s (a forged envelope sender)', () => {
    const decision = nonDeliveryDecision(subject({ verdicts: { spf: 'FAIL' }, envelopeFrom: 'victim@innocent.test' }));
    expect(decision).toEqual({ send: false, reason: expect.stringMatching(/not authenticated: SPF for innocent\.test/) });
  });

  it('withholds when neither SPF nor DMARC passed', () => {
    for (const spf of ['FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'] as const) {
      expect(nonDeliveryDecision(subject({ verdicts: { spf, dmarc: 'FAIL' } }))).toMatchObject({ send: false });
    }
  });

  it('never sends to the null sender', () => {
    expect(nonDeliveryDecision(subject({ envelopeFrom: '' }))).toEqual({ send: false, reason: expect.stringMatching(/null sender/) });
  });

  it('never sends for spam or a virus, authenticated or not', () => {
    expect(nonDeliveryDecision(subject({ verdicts: { spam: 'FAIL' } }))).toEqual({ send: false, reason: expect.stringMatching(/spam/) });
    expect(nonDeliveryDecision(subject({ spamFlagged: true }))).toEqual({ send: false, reason: expect.stringMatching(/spam/) });
    expect(nonDeliveryDecision(subject({ verdicts: { virus: 'FAIL' } }))).toEqual({ send: false, reason: expect.stringMatching(/virus/) });
  });

  it('does not count DMARC for several From mailboxes (DMARC judges one)', () => {
    const from = ['a@partner.test', 'b@partner.test'];
    expect(nonDeliveryDecision(subject({ verdicts: { spf: 'FAIL' }, summary: { from } }))).toMatchObject({ send: false });
  });
});
