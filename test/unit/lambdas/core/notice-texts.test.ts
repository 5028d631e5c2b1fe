// The notice texts: one or two GSM-7 parts by SMS, bilingual plain-text mail.
import { describe, expect, it } from 'vitest';
import { CODE_SIGN_IN_LABEL, mailNoticeText, smsNoticeText } from '../../../../lambdas/core/notice-texts.ts';
import { smsSize } from '../../../../lambdas/core/sms-segments.ts';

const webmailUrl = 'https://mail.corp.example/';

describe('smsNoticeText', () => {
  it('says where the webmail is and which button to choose, in GSM-7 within two parts', () => {
    const sms = smsNoticeText({ direction: 'on', webmailUrl, message: '' });
    expect(sms.text).toContain(webmailUrl);
    expect(sms.text).toContain(CODE_SIGN_IN_LABEL.en);
    expect(sms.text).toContain(CODE_SIGN_IN_LABEL.de);
    expect(sms.text).toMatch(/work address/);
    expect(sms).toMatchObject({ encoding: 'gsm7', includesMessage: false });
    expect(sms.parts).toBe(smsSize(sms.text).parts);
    expect(sms.parts).toBeLessThanOrEqual(2);
  });

  it('still fits two parts with a long webmail address (63-character host)', () => {
    const sms = smsNoticeText({ direction: 'on', webmailUrl: `https://${'m'.repeat(50)}.corp.example/`, message: '' });
    expect(sms).toMatchObject({ encoding: 'gsm7' });
    expect(sms.parts).toBeLessThanOrEqual(2);
  });

  it("adds the admin's message when it still fits two parts, and leaves it out when not", () => {
    const short = smsNoticeText({ direction: 'on', webmailUrl, message: 'Back by 14:00.' });
    expect(short).toMatchObject({ includesMessage: true, encoding: 'gsm7' });
    expect(short.text.endsWith('Back by 14:00.')).toBe(true);
    const long = smsNoticeText({ direction: 'on', webmailUrl, message: 'x'.repeat(200) });
    expect(long.includesMessage).toBe(false);
    expect(long.parts).toBeLessThanOrEqual(2);
  });

  it('keeps GSM-7 unless the message brings a character that needs UCS-2 (then it must still fit)', () => {
    // An en dash forces UCS-2 (134 units in two parts): the base text alone is longer, so the message stays out.
    const dashed = smsNoticeText({ direction: 'on', webmailUrl, message: 'Exchange – Ausfall' });
    expect(dashed).toMatchObject({ includesMessage: false, encoding: 'gsm7' });
  });

  it('tells staff to use Outlook again when failover goes off, and where sent mail is', () => {
    const sms = smsNoticeText({ direction: 'off', webmailUrl, message: 'ignored' });
    expect(sms.text).toMatch(/use Outlook again/);
    expect(sms.text).toMatch(/Sent folder/);
    expect(sms.text).not.toContain(webmailUrl);
    expect(sms).toMatchObject({ encoding: 'gsm7', includesMessage: false });
    expect(sms.parts).toBeLessThanOrEqual(2);
  });
});

describe('mailNoticeText', () => {
  it('is German and English plain text with the address, the button and the message', () => {
    const mail = mailNoticeText({ direction: 'on', webmailUrl, message: 'Wir arbeiten daran.\nWe are on it.' });
    expect(mail.subject).toMatch(/Mail outage/);
    expect(mail.text).toContain(webmailUrl);
    expect(mail.text).toContain(CODE_SIGN_IN_LABEL.de);
    expect(mail.text).toContain(CODE_SIGN_IN_LABEL.en);
    expect(mail.text).toContain('Wir arbeiten daran.\nWe are on it.');
    expect(mail.text).not.toMatch(/<[a-z]/i);
  });

  it('says Outlook again and the Sent folder when off', () => {
    const mail = mailNoticeText({ direction: 'off', webmailUrl, message: '' });
    expect(mail.subject).toMatch(/Mail is back/);
    expect(mail.text).toMatch(/use Outlook again/);
    expect(mail.text).toMatch(/"Sent" folder/);
  });
});
