// SesNoticeMailer against the fake AWS server (SES v2 REST-JSON, the real SDK client).
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readSesSendRate, SesNoticeMailer } from '../../../../../lambdas/adapters/aws/ses-notice-mailer.ts';
import { InvalidInputError } from '../../../../../lambdas/core/errors.ts';
import { type FakeAws, fakeClientConfig, startFakeAws } from '../../../../support/cli-deployed-aws-fakes.ts';

describe('SesNoticeMailer', () => {
  let aws: FakeAws;
  let client: SESv2Client;

  beforeAll(async () => {
    aws = await startFakeAws();
    client = new SESv2Client(fakeClientConfig(aws));
  });
  afterAll(async () => {
    client.destroy();
    await aws.close();
  });
  beforeEach(() => {
    aws.doctor.sentEmails.length = 0;
    aws.doctor.sendEmailError = null;
  });

  it('sends plain text in UTF-8 from the configured sender, through the configuration set', async () => {
    const mailer = new SesNoticeMailer({ client, from: 'noreply@corp.example', configurationSetName: 'corp-mail-webmail' });
    await mailer.send({
      to: 'jane@example.net',
      subject: 'E-Mail-Störung',
      text: 'Grüße\nhttps://mail.corp.example/',
      purpose: 'failover-notice',
    });
    expect(aws.doctor.sentEmails).toHaveLength(1);
    expect(aws.doctor.sentEmails[0]).toMatchObject({
      from: 'noreply@corp.example',
      to: ['jane@example.net'],
      configurationSetName: 'corp-mail-webmail',
      simple: { subject: 'E-Mail-Störung', text: 'Grüße\nhttps://mail.corp.example/', charset: 'UTF-8' },
    });
  });

  it("turns SES's rejection (the sandbox's unverified recipient) into a permanent error without its text", async () => {
    aws.doctor.sendEmailError = { status: 400, type: 'MessageRejected', message: 'Email address is not verified: jane@example.net' };
    const error = await new SesNoticeMailer({ client, from: 'noreply@corp.example' })
      .send({ to: 'jane@example.net', subject: 's', text: 't', purpose: 'failover-notice' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).not.toContain('jane');
    expect((error as { cause: { name: string } }).cause.name).toBe('MessageRejected');
  });

  it("reads the account's send rate, and falls back when it cannot", async () => {
    aws.doctor.account = { SendQuota: { MaxSendRate: 14, Max24HourSend: 50000, SentLast24Hours: 0 } };
    expect(await readSesSendRate(client, 1)).toBe(14);
    aws.doctor.account = {};
    expect(await readSesSendRate(client, 1)).toBe(1);
  });
});
