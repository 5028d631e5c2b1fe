// SnsSmsSender with the real SDK client against the fake AWS server's SNS wire protocol:
// Publish straight to a number as a transactional SMS; a bad number never reaches SNS;
// errors never carry the number.
import { SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { SnsSmsSender } from '../../../../../lambdas/adapters/aws/sns-sms-sender.ts';
import { fakeAwsForThisFile } from '../../../../support/fake-aws-suite.ts';

const fake = fakeAwsForThisFile();

describe('SnsSmsSender', () => {
  it('publishes to the number as a transactional SMS', async () => {
    await new SnsSmsSender(new SNSClient({})).send({
      to: '+4917012345678',
      text: 'link: https://x/declare?t=abc',
      purpose: 'outage-alarm',
    });
    const publish = fake().requests.find((r) => r.service === 'sns' && r.action === 'Publish');
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
