// SnsSmsSender against the fake AWS server (SNS's awsQuery wire protocol, the real SDK client).
import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SnsSmsSender } from '../../../../../lambdas/adapters/aws/sns-sms-sender.ts';
import { InvalidInputError, RetryableError } from '../../../../../lambdas/core/errors.ts';
import { type FakeAws, fakeClientConfig, startFakeAws } from '../../../../support/cli-deployed-aws-fakes.ts';

describe('SnsSmsSender', () => {
  let aws: FakeAws;
  let client: SNSClient;

  beforeAll(async () => {
    aws = await startFakeAws();
    client = new SNSClient(fakeClientConfig(aws));
  });
  afterAll(async () => {
    client.destroy();
    await aws.close();
  });
  beforeEach(() => {
    aws.doctor.sms.published.length = 0;
    aws.doctor.sms.publishError = null;
  });

  it('publishes to the phone number as a transactional SMS, without a sender ID unless configured', async () => {
    await new SnsSmsSender({ client }).send({
      to: '+4917012345678',
      text: 'Störung: https://mail.corp.example/',
      purpose: 'failover-notice',
    });
    expect(aws.doctor.sms.published).toEqual([
      {
        phoneNumber: '+4917012345678',
        message: 'Störung: https://mail.corp.example/',
        attributes: { 'AWS.SNS.SMS.SMSType': 'Transactional' },
      },
    ]);
    await new SnsSmsSender({ client, senderId: 'CorpIT' }).send({ to: '+4917012345678', text: 'x', purpose: 'failover-notice' });
    expect(aws.doctor.sms.published[1]!.attributes).toEqual({ 'AWS.SNS.SMS.SMSType': 'Transactional', 'AWS.SNS.SMS.SenderID': 'CorpIT' });
  });

  it('refuses a sender ID SNS would not take and a number that is not E.164, before any call', async () => {
    expect(() => new SnsSmsSender({ client, senderId: 'Corp IT Department' })).toThrow(/sender ID/);
    expect(() => new SnsSmsSender({ client, senderId: '12345' })).toThrow(/sender ID/);
    await expect(new SnsSmsSender({ client }).send({ to: '0170 1234567', text: 'x', purpose: 'failover-notice' })).rejects.toThrow(
      /E\.164/,
    );
    expect(aws.doctor.sms.published).toEqual([]);
  });

  it("turns SNS's refusal into a permanent error that keeps the code and not the message (it can name the number)", async () => {
    aws.doctor.sms.publishError = {
      status: 400,
      code: 'InvalidParameter',
      message: 'Invalid parameter: PhoneNumber Reason: +4917012345678 is not valid',
    };
    const error = await new SnsSmsSender({ client })
      .send({ to: '+4917012345678', text: 'x', purpose: 'failover-notice' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).not.toContain('+49');
    // The SDK names the modeled error for the wire code InvalidParameter.
    expect((error as { cause: { name: string } }).cause.name).toBe('InvalidParameterException');
  });

  it('turns a throttle into a retryable error', async () => {
    aws.doctor.sms.publishError = { status: 400, code: 'Throttling', message: 'Rate exceeded' };
    const error = await new SnsSmsSender({ client })
      .send({ to: '+4917012345678', text: 'x', purpose: 'failover-notice' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
  });
});
