// Mobile numbers as people type them into AD or a spreadsheet, read into E.164: the
// forms that must all give the same number, the ones that must not give any (a
// landline cannot take an SMS code), and that no refusal repeats the number.
import { describe, expect, it } from 'vitest';
import { phoneCountry, readMobileNumber } from '../../../../../lambdas/adapters/phone/mobile-numbers.ts';
import { InvalidInputError } from '../../../../../lambdas/core/errors.ts';

const DE = phoneCountry('DE');

describe('readMobileNumber', () => {
  it.each([
    ['0170 1234567'],
    ['01701234567'],
    ['0170/1234567'],
    ['0170-123 45 67'],
    ['(0170) 123 45 67'],
    ['+49 170 1234567'],
    ['+49 (170) 123-4567'],
    ['+49 (0) 170 1234567'],
    ['+491701234567'],
    ['00491701234567'],
    ['  0170 1234567\t'],
    ['+49\u00a0170\u00a01234567'],
  ])('reads the German mobile number %j as +491701234567', (raw) => {
    // Act
    const reading = readMobileNumber(raw, DE);

    // Assess
    expect(reading).toEqual({ mobile: '+491701234567' });
  });

  it.each([
    ['an Austrian mobile', '+43 664 1234567', '+436641234567'],
    ['a Swiss mobile with 00', '0041 79 123 45 67', '+41791234567'],
    ['a 0151 number without spaces', '015112345678', '+4915112345678'],
    ['a US number (fixed line or mobile: the plan does not tell)', '+1 650 253 0000', '+16502530000'],
  ])('reads %s', (_what, raw, e164) => {
    // Act
    const reading = readMobileNumber(raw, DE);

    // Assess
    expect(reading).toEqual({ mobile: e164 });
  });

  it('reads a number without a country code as one of the given country', () => {
    // Act
    const swiss = readMobileNumber('079 123 45 67', phoneCountry('ch'));

    // Assess
    expect(swiss).toEqual({ mobile: '+41791234567' });
  });

  it.each([
    ['a Berlin landline', '030 1234567', /a landline/],
    ['a landline in international form', '+49 30 12345678', /a landline/],
    ['a toll-free number', '0800 1234567', /toll-free/],
    ['a number with an extension', '+49 170 1234567 ext. 5', /extension/],
    ['too few digits', '1234', /not a valid number/],
    ['too many digits', '017012345678901', /not a valid number/],
    ['junk', 'n/a', /cannot be read/],
    ['a word', 'mobile', /cannot be read/],
    ['an overlong value', '0'.repeat(200), /too long/],
  ])('refuses %s, without repeating the number', (_what, raw, reason) => {
    // Act
    const reading = readMobileNumber(raw, DE);

    // Assess
    expect(reading).toEqual({ problem: expect.stringMatching(reason) });
    const digits = raw.replace(/\D/g, '');
    if (digits.length >= 4) expect((reading as { problem: string }).problem).not.toContain(digits.slice(-4));
  });

  it('gives no reading for an empty value: the user has no number', () => {
    // Act
    const readings = [readMobileNumber('', DE), readMobileNumber('   ', DE)];

    // Assess
    expect(readings).toEqual([null, null]);
  });
});

describe('phoneCountry', () => {
  it('takes a two-letter code in any case and refuses one that is no country', () => {
    // Act
    const at = phoneCountry(' at ');
    const attempt = () => phoneCountry('XX');

    // Assess
    expect(at).toBe('AT');
    expect(attempt).toThrow(InvalidInputError);
    expect(attempt).toThrow(/XX/);
  });
});
