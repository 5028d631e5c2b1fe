// Local mode's report route: the RFC 3464 bytes go to the outbound mailer from the null
// sender; a route that refuses the report for good withholds it (no endless retries of
// the forward job), a passing failure is thrown so the job tries again.
import { describe, expect, it } from 'vitest';
import { MailedNonDeliverySender } from '../../../../../lambdas/adapters/smtp/mailed-non-delivery-sender.ts';
import { InvalidInputError, RetryableError } from '../../../../../lambdas/core/errors.ts';
import type { NonDeliveryReport } from '../../../../../lambdas/core/non-delivery-report.ts';
import type { OutboundEnvelope } from '../../../../../lambdas/ports/outbound-mailer.ts';
import { ManualClock } from '../../../../support/memory-adapters.ts';

const REPORT: NonDeliveryReport = {
  reportingMta: 'mx.corp.test',
  postmaster: 'MAILER-DAEMON@corp.test',
  sender: 'sender@partner.test',
  sesMessageId: 'ses-0001',
  arrivalDate: new Date('2026-11-20T10:00:00Z'),
  originalSubject: 'Quarterly numbers',
  recipients: [{ recipient: 'nobody@corp.test', status: '5.1.1', diagnostic: '550 5.1.1 unknown', explanation: '550 5.1.1 unknown' }],
  originalHeaders: 'Subject: Quarterly numbers',
};
const clock = new ManualClock('2026-11-20T10:05:00Z');

describe('MailedNonDeliverySender', () => {
  it('sends the report from the null sender to the envelope sender only', async () => {
    const sent: { envelope: OutboundEnvelope; raw: Buffer }[] = [];
    const sender = new MailedNonDeliverySender(
      {
        send: async (envelope, raw) => {
          sent.push({ envelope, raw });
          return { providerMessageId: 'q-1' };
        },
      },
      clock,
    );

    expect(await sender.send(REPORT)).toEqual({ sent: true, providerMessageId: 'q-1' });
    expect(sent[0]!.envelope).toEqual({ from: '', recipients: ['sender@partner.test'] });
    expect(sent[0]!.raw.toString()).toContain('Content-Type: multipart/report; report-type=delivery-status;');
  });

  it('withholds a report the route refuses for good, and throws what may pass', async () => {
    const refusing = new MailedNonDeliverySender(
      {
        send: async () =>
          Promise.reject(new InvalidInputError('the mail server relay:25 refused the message: 554 5.7.1 Relay access denied')),
      },
      clock,
    );
    expect(await refusing.send(REPORT)).toEqual({ sent: false, reason: expect.stringMatching(/554 5\.7\.1 Relay access denied/) });

    const away = new MailedNonDeliverySender({ send: async () => Promise.reject(new RetryableError('connection refused')) }, clock);
    await expect(away.send(REPORT)).rejects.toBeInstanceOf(RetryableError);
  });
});
