// SesNoticeMailer with the real SDK client against the fake AWS server's SES v2 API:
// plain text from the configured address to the private one; a refusal is an error.
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { SesNoticeMailer } from '../../../../../lambdas/adapters/aws/ses-notice-mailer.ts';
import { fakeAwsForThisFile } from '../../../../support/fake-aws-suite.ts';

const fake = fakeAwsForThisFile();

describe('SesNoticeMailer', () => {
  it('sends plain text from the configured address to the private one', async () => {
    await new SesNoticeMailer(new SESv2Client({}), 'shadowmail@corp.example').send({
      to: 'oncall@home.example',
      subject: 'shadowmail: switch failover on?',
      text: 'the link',
      purpose: 'outage-alarm',
    });
    const send = fake().requests.find((r) => r.service === 'sesv2' && r.action === 'SendEmail');
    expect(send?.params).toMatchObject({
      FromEmailAddress: 'shadowmail@corp.example',
      ToAddresses: ['oncall@home.example'],
      Content: { Simple: { Subject: { Data: 'shadowmail: switch failover on?' }, Body: { Text: { Data: 'the link' } } } },
    });
  });

  it('reports a refusal (the SES sandbox) as an error', async () => {
    fake().doctor.sendEmailError = { status: 400, type: 'MessageRejected', message: 'Email address is not verified.' };
    try {
      await expect(
        new SesNoticeMailer(new SESv2Client({}), 'shadowmail@corp.example').send({
          to: 'a@b.example',
          subject: 's',
          text: 't',
          purpose: 'outage-alarm',
        }),
      ).rejects.toThrow(/SES did not take the outage-alarm mail: MessageRejected/);
    } finally {
      fake().doctor.sendEmailError = null;
    }
  });
});
