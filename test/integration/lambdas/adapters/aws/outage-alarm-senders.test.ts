// The AWS adapters the backlog alarm link uses, with the real SDK clients against the
// fake AWS server's wire protocols: SNS Publish straight to a number as a transactional
// SMS, SES v2 SendEmail with plain-text content, SQS GetQueueAttributes for the
// backlog's counts. Errors never carry the phone number.
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SesNoticeMailer } from '../../../../../lambdas/adapters/aws/ses-notice-mailer.ts';
import { SnsSmsSender } from '../../../../../lambdas/adapters/aws/sns-sms-sender.ts';
import { SqsForwardBacklog } from '../../../../../lambdas/adapters/aws/sqs-forward-backlog.ts';
import { type FakeAws, startFakeAws, useFakeAws } from '../../../../support/cli-deployed-aws-fakes.ts';

let aws: FakeAws;
const saved = { ...process.env };

beforeAll(async () => {
  aws = await startFakeAws();
  useFakeAws(aws);
  process.env.AWS_REGION = 'eu-central-1';
});
afterAll(async () => {
  process.env = saved;
  await aws?.close();
});

describe('SnsSmsSender', () => {
  it('publishes to the number as a transactional SMS', async () => {
    await new SnsSmsSender(new SNSClient({})).send({
      to: '+4917012345678',
      text: 'link: https://x/declare?t=abc',
      purpose: 'outage-alarm',
    });
    const publish = aws.requests.find((r) => r.service === 'sns' && r.action === 'Publish');
    expect(publish?.params).toMatchObject({
      PhoneNumber: '+4917012345678',
      Message: 'link: https://x/declare?t=abc',
      'MessageAttributes.entry.1.Name': 'AWS.SNS.SMS.SMSType',
      'MessageAttributes.entry.1.Value.StringValue': 'Transactional',
    });
  });

  it('refuses a number that is not E.164 before calling SNS, and names no number in errors', async () => {
    const sender = new SnsSmsSender(new SNSClient({}));
    await expect(sender.send({ to: '0170 1234567', text: 'x', purpose: 'outage-alarm' })).rejects.toThrow(/E\.164/);
    const broken = new SnsSmsSender(new SNSClient({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1 }));
    const error = (await broken.send({ to: '+4917099999999', text: 'x', purpose: 'outage-alarm' }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/SNS did not take the outage-alarm SMS/);
    expect(error.message).not.toContain('4917099999999');
  });
});

describe('SesNoticeMailer', () => {
  it('sends plain text from the configured address to the private one', async () => {
    await new SesNoticeMailer(new SESv2Client({}), 'shadowmail@corp.example').send({
      to: 'oncall@home.example',
      subject: 'shadowmail: switch failover on?',
      text: 'the link',
      purpose: 'outage-alarm',
    });
    const send = aws.requests.find((r) => r.service === 'sesv2' && r.action === 'SendEmail');
    expect(send?.params).toMatchObject({
      FromEmailAddress: 'shadowmail@corp.example',
      ToAddresses: ['oncall@home.example'],
      Content: { Simple: { Subject: { Data: 'shadowmail: switch failover on?' }, Body: { Text: { Data: 'the link' } } } },
    });
  });

  it('reports a refusal (the SES sandbox) as an error', async () => {
    aws.doctor.sendEmailError = { status: 400, type: 'MessageRejected', message: 'Email address is not verified.' };
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
      aws.doctor.sendEmailError = null;
    }
  });
});

describe('SqsForwardBacklog', () => {
  it('adds the visible, in-flight and delayed counts; the age is unknown', async () => {
    // The SDK sends SQS calls to the queue URL's host: the fake's, as in the doctor tests.
    const url = `${aws.endpoint}/123456789012/shadowmail-forward`;
    aws.doctor.queueAttributes.set(url, {
      ApproximateNumberOfMessages: '3',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '8',
    });
    expect(await new SqsForwardBacklog(new SQSClient({}), url).read()).toEqual({ jobs: 12, oldestAgeSeconds: null });
  });
});
