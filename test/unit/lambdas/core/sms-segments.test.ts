// SMS parts: GSM-7 160/153, UCS-2 70/67, extension characters two septets, never split.
import { describe, expect, it } from 'vitest';
import { smsSize } from '../../../../lambdas/core/sms-segments.ts';

describe('smsSize', () => {
  it('fits 160 GSM-7 characters (German umlauts and ß included) in one part, 161 in two', () => {
    const umlauts = 'Störung äöüß ÄÖÜ';
    expect(smsSize(umlauts.padEnd(160, 'x'))).toMatchObject({ encoding: 'gsm7', units: 160, parts: 1 });
    expect(smsSize('x'.repeat(161))).toMatchObject({ encoding: 'gsm7', parts: 2 });
    expect(smsSize('x'.repeat(306))).toMatchObject({ parts: 2 });
    expect(smsSize('x'.repeat(307))).toMatchObject({ parts: 3 });
  });

  it('counts extension characters as two septets and never splits one across parts', () => {
    expect(smsSize('€'.repeat(80))).toMatchObject({ encoding: 'gsm7', units: 160, parts: 1 });
    expect(smsSize('€'.repeat(81)).parts).toBe(2);
    // 306 septets would be two parts, but the € after 152 cannot straddle the 153 boundary.
    expect(smsSize(`${'x'.repeat(152)}€${'x'.repeat(152)}`)).toMatchObject({ units: 306, parts: 3 });
  });

  it('switches the whole text to UCS-2 for one character outside GSM-7 and names it', () => {
    const size = smsSize(`Mail – ${'x'.repeat(60)}`);
    expect(size).toMatchObject({ encoding: 'ucs2', parts: 1, nonGsm: ['–'] });
    expect(smsSize(`–${'x'.repeat(70)}`).parts).toBe(2);
    expect(smsSize(`–${'x'.repeat(133)}`).parts).toBe(2);
    expect(smsSize(`–${'x'.repeat(134)}`).parts).toBe(3);
  });

  it('counts an emoji as two UTF-16 units', () => {
    expect(smsSize('😀'.repeat(35))).toMatchObject({ encoding: 'ucs2', units: 70, parts: 1 });
  });

  it('is zero parts for nothing', () => {
    expect(smsSize('').parts).toBe(0);
  });
});
