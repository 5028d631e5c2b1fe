// SmsSender on Amazon SNS: Publish straight to a phone number (no topic, no subscription),
// SMSType Transactional ("critical messages", delivered with the highest reliability,
// https://docs.aws.amazon.com/sns/latest/dg/sms_publish-to-phone.html). A sender ID is
// sent only when one is configured: it shows instead of a number only where the
// destination country supports sender IDs (some require them registered; the US, Canada
// and China do not support them at all: https://docs.aws.amazon.com/sms-voice/latest/userguide/sender-id.html).
// An error never carries SNS's message on: it can name the number.
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { InvalidInputError, RetryableError } from '../../core/errors.ts';
import type { SmsMessage, SmsSender } from '../../ports/sms-sender.ts';

export interface SnsSmsSenderOptions {
  client: SNSClient;
  /** 1–11 letters and digits, at least one letter; only for countries that support sender IDs. */
  senderId?: string;
}

/** Refusals that sending again will not change (bad number, opted out, SMS not allowed). */
const PERMANENT = new Set(['InvalidParameter', 'InvalidParameterException', 'InvalidParameterValue', 'AuthorizationError', 'OptedOut']);

export const SENDER_ID = /^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/;

export class SnsSmsSender implements SmsSender {
  constructor(private readonly options: SnsSmsSenderOptions) {
    if (options.senderId !== undefined && !SENDER_ID.test(options.senderId))
      throw new InvalidInputError(
        `an SMS sender ID is 1 to 11 letters and digits with at least one letter, not ${JSON.stringify(options.senderId)}`,
      );
  }

  async send(message: SmsMessage): Promise<void> {
    if (!/^\+[1-9]\d{6,14}$/.test(message.to)) throw new InvalidInputError('an SMS goes to a number in E.164 form');
    try {
      await this.options.client.send(
        new PublishCommand({
          PhoneNumber: message.to,
          Message: message.text,
          MessageAttributes: {
            'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
            ...(this.options.senderId && { 'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: this.options.senderId } }),
          },
        }),
      );
    } catch (error) {
      const name = (error as { name?: string })?.name ?? 'Error';
      // The cause keeps the SDK error's name (what the notices count) without its text.
      const cause = { name };
      if (PERMANENT.has(name)) throw new InvalidInputError(`SNS refused the SMS (${purpose(message)}): ${name}`, { cause });
      throw new RetryableError(`sending the SMS through SNS failed (${purpose(message)}): ${name}`, { cause });
    }
  }
}

const purpose = (message: SmsMessage) => message.purpose;
