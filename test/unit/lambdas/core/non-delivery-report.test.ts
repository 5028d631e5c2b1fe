// The report itself: RFC 3464 as a real parser (mailparser) reads it, the human part in
// German and English, the original headers and never the body.
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildNonDeliveryReport, type NonDeliveryReportInput, statusOfReply } from '../../../../lambdas/core/non-delivery-report.ts';

const input = (overrides: Partial<NonDeliveryReportInput> = {}): NonDeliveryReportInput => ({
  reportingMta: 'shadowmail.corp.test',
  postmaster: 'MAILER-DAEMON@corp.test',
  sender: 'sender@partner.test',
  sesMessageId: 'ses-0001',
  arrivalDate: new Date('2026-11-20T10:00:00Z'),
  originalSubject: 'Quarterly numbers',
  recipients: [
    {
      recipient: 'nobody@corp.test',
      status: '5.1.1',
      diagnostic: '550 5.1.1 <nobody@corp.test>: Recipient address rejected',
      explanation: '550 5.1.1 unknown',
    },
  ],
  originalHeaders:
    'From: Sender <sender@partner.test>\r\nTo: nobody@corp.test\r\nSubject: Quarterly numbers\r\nMessage-ID: <m1@partner.test>',
  date: new Date('2026-11-20T10:05:00Z'),
  messageId: 'dsn-1@shadowmail.corp.test',
  boundary: 'b-1',
  ...overrides,
});

/** The parts of a multipart/report, split on its boundary: mailparser reads the report as a whole, these its fields. */
function parts(raw: string, boundary: string): string[] {
  return raw.split(`--${boundary}`).slice(1, -1);
}

/** The message/delivery-status part's body. */
function deliveryStatus(raw: string): string {
  const part = parts(raw, 'b-1').find((p) => p.startsWith('\r\nContent-Type: message/delivery-status\r\n'));
  if (!part) throw new Error('no message/delivery-status part');
  return part.slice(part.indexOf('\r\n\r\n') + 4);
}

describe('buildNonDeliveryReport', () => {
  it('is multipart/report; report-type=delivery-status from MAILER-DAEMON to the sender, as mailparser reads it', async () => {
    const raw = buildNonDeliveryReport(input());
    const parsed = await simpleParser(raw);

    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/report', params: { 'report-type': 'delivery-status' } });
    expect(parsed.from?.value).toEqual([{ address: 'MAILER-DAEMON@corp.test', name: 'Mail Delivery System' }]);
    expect(parsed.to).toMatchObject({ value: [{ address: 'sender@partner.test' }] });
    expect(parsed.subject).toBe('Unzustellbar / Undeliverable: Quarterly numbers');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.text).toContain('Ihre Nachricht konnte nicht zugestellt werden.');
    expect(parsed.text).toContain('Diese Empfänger wurden endgültig abgelehnt:');
    expect(parsed.text).toContain('Your message could not be delivered.');
    // mailparser shows message/delivery-status as text after the human part, the headers as an attachment
    expect(parsed.attachments.map((a) => a.contentType)).toEqual(['text/rfc822-headers']);
    expect(parsed.attachments[0]!.content.toString()).toContain('Message-ID: <m1@partner.test>');
    const status = deliveryStatus(raw);
    expect(status).toMatch(/^Reporting-MTA: dns; shadowmail\.corp\.test\r\n/);
    expect(status).toContain('Arrival-Date: Fri, 20 Nov 2026 10:00:00 +0000');
    expect(status).toContain(
      '\r\n\r\nFinal-Recipient: rfc822; nobody@corp.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@corp.test>: Recipient address rejected',
    );
    expect(parsed.text).toContain('Final-Recipient: rfc822; nobody@corp.test\nAction: failed\nStatus: 5.1.1');
  });

  it('carries the original headers only, and no part but the three', () => {
    const raw = buildNonDeliveryReport(input());
    expect(parts(raw, 'b-1')).toHaveLength(3);
    expect(raw).not.toContain('Hello');
  });

  it('keeps a reply or subject with line breaks on one line: no header can be injected', async () => {
    const raw = buildNonDeliveryReport(
      input({
        originalSubject: 'hi\r\nBcc: victim@else.test',
        recipients: [{ recipient: 'x@corp.test', status: '5.0.0', diagnostic: '550 no\r\nX-Evil: 1', explanation: 'no' }],
      }),
    );
    const parsed = await simpleParser(raw);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.subject).toBe('Unzustellbar / Undeliverable: hi Bcc: victim@else.test');
    expect(deliveryStatus(raw)).toContain('Diagnostic-Code: smtp; 550 no X-Evil: 1\r\n');
  });

  it('leaves out Diagnostic-Code when no primary answered (too large to relay)', () => {
    const raw = buildNonDeliveryReport(
      input({ recipients: [{ recipient: 'x@corp.test', status: '5.3.4', diagnostic: null, explanation: 'too large' }] }),
    );
    const status = deliveryStatus(raw);
    expect(status).toContain('Status: 5.3.4');
    expect(status).not.toContain('Diagnostic-Code');
  });

  it('refuses an address that could break the headers', () => {
    expect(() => buildNonDeliveryReport(input({ sender: 'a@b.test>\r\nBcc: c@d.test' }))).toThrow(/not an address/);
  });
});

describe('statusOfReply', () => {
  it('takes the enhanced status code of the reply, else the class', () => {
    expect(statusOfReply(550, '550 5.1.1 <x@corp.test>: Recipient address rejected: User unknown')).toBe('5.1.1');
    expect(statusOfReply(552, '552-5.3.4 Message size exceeds fixed limit')).toBe('5.3.4');
    expect(statusOfReply(554, '554 Transaction failed')).toBe('5.0.0');
    // a 4.x.x inside a 5xx reply is not the reply's status
    expect(statusOfReply(550, '550 see 4.2.2 earlier')).toBe('5.0.0');
  });
});
