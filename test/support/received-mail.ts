// Builders for the test inputs of the use cases: an SES receipt as the domain sees it.
import type { ReceivedMail } from '../../lambdas/core/model.ts';

export function receivedMail(overrides: Partial<ReceivedMail> = {}): ReceivedMail {
  const sesMessageId = overrides.sesMessageId ?? 'ses-0001';
  return {
    sesMessageId,
    receivedAt: '2026-11-20T10:00:00.000Z',
    envelopeFrom: 'sender@partner.test',
    envelopeRecipients: ['alice@corp.test'],
    verdicts: { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' },
    raw: { bucket: 'raw-bucket', key: `raw/${sesMessageId}` },
    headers: [],
    headersTruncated: false,
    commonHeaders: {},
    ...overrides,
  };
}

export function simpleMessage(options: { subject?: string; from?: string; extraHeaders?: string; body?: string } = {}): string {
  return [
    `From: ${options.from ?? 'Sender <sender@partner.test>'}`,
    'To: Alice <alice@corp.test>',
    `Subject: ${options.subject ?? 'Quarterly numbers'}`,
    'Date: Fri, 20 Nov 2026 10:00:00 +0000',
    'Message-ID: <m1@partner.test>',
    ...(options.extraHeaders ? [options.extraHeaders] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    options.body ?? 'Hello Alice,\r\nthe numbers are attached.\r\n',
  ].join('\r\n');
}
