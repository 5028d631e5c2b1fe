// SmsSender on SNS: Publish straight to a phone number (no topic), as a transactional
// message — SNS's type for messages that must arrive, such as one-time links, which it
// delivers on routes with the higher reliability ("Publishing to a mobile phone",
// https://docs.aws.amazon.com/sns/latest/dg/sms_publish-to-phone.html; message types:
// https://docs.aws.amazon.com/sns/latest/dg/sms_preferences.html). The account's SMS
// sandbox, spend limit and origination identity are checked by `shadowmail doctor`.
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { InvalidInputError, RetryableError } from '../../core/errors.ts';
import type { SmsMessage, SmsSender } from '../../ports/sms-sender.ts';

const E164 = /^\+[1-9]\d{6,14}$/;

export class SnsSmsSender implements SmsSender {
  constructor(private readonly client: SNSClient) {}

  async send(message: SmsMessage): Promise<void> {
    if (!E164.test(message.to)) throw new InvalidInputError('an SMS goes to a number in E.164 form (+4917012345678)');
    try {
      await this.client.send(
        new PublishCommand({
          PhoneNumber: message.to,
          Message: message.text,
          MessageAttributes: { 'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' } },
        }),
      );
    } catch (error) {
      // Never the number in the message: it ends up in logs and the audit's error detail.
      throw new RetryableError(`SNS did not take the ${message.purpose} SMS: ${(error as Error).name}`, { cause: error });
    }
  }
}
