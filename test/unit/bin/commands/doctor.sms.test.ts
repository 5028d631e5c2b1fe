// doctor's notice checks as pure functions: the SMS spend limit against one outage day.
import { describe, expect, it } from 'vitest';
import { outageDaySms, spendLimitCheck } from '../../../../bin/commands/doctor/sms.ts';

describe('spendLimitCheck', () => {
  const need = { usersWithNumber: 100, smsNotices: false, pricePerPartUSD: 0.08 };

  it('counts a code per user, and two two-part notices per user when SMS notices are on', () => {
    expect(outageDaySms(need)).toEqual({ parts: 100, usd: 8 });
    expect(outageDaySms({ ...need, smsNotices: true }).parts).toBe(100 + 400);
  });

  it("warns at the new account's 1 USD and passes a limit that covers an outage day", () => {
    expect(spendLimitCheck('1', need).status).toBe('warn');
    expect(spendLimitCheck('8', need).status).toBe('ok');
    expect(spendLimitCheck('7.99', need).status).toBe('warn');
  });

  it('warns when SNS reports no limit it can read', () => {
    expect(spendLimitCheck(undefined, need)).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/reports no monthly SMS spend limit/),
    });
    expect(spendLimitCheck('lots', need).status).toBe('warn');
  });
});
