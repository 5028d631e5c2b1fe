// Staff notices through AWS: SNS for SMS, SES for mail. Apart from notices.ts, so that
// local mode, which writes notices to outbox files, never loads the SDK's SES and SNS
// clients (bench/README.md, issue 18: memory).
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { readSesSendRate, SesNoticeMailer } from '../adapters/aws/ses-notice-mailer.ts';
import { SnsSmsSender } from '../adapters/aws/sns-sms-sender.ts';
import { DEFAULT_NOTICE_RATES, type NoticeRates } from '../core/staff-notices.ts';
import type { NoticeParts } from './notices.ts';

export interface AwsNoticeInput {
  channels: { sms: boolean; email: boolean };
  /** The webmail's address as staff type it (the WebmailUrl output, with its trailing slash). */
  webmailUrl: string;
  /** The sender of notice mail, at a mail domain with a verified SES identity. */
  sender: string;
  mailDomains: readonly string[];
  configurationSetName?: string | undefined;
  region?: string | undefined;
}

/**
 * SNS and SES clients for the configured channels (no call until a notice is planned);
 * the mail rate is the account's (GetAccount, read once when first needed), 1/s when
 * it cannot be read.
 */
export function awsNoticeParts(input: AwsNoticeInput): NoticeParts {
  const clientConfig = input.region ? { region: input.region } : {};
  const sns = input.channels.sms ? new SNSClient(clientConfig) : null;
  const ses = input.channels.email ? new SESv2Client(clientConfig) : null;
  let rates: Promise<NoticeRates> | null = null;
  const readRates = (): Promise<NoticeRates> => {
    rates ??= (ses ? readSesSendRate(ses, DEFAULT_NOTICE_RATES.mailsPerSecond) : Promise.resolve(DEFAULT_NOTICE_RATES.mailsPerSecond)).then(
      (mailsPerSecond) => ({ smsPartsPerSecond: DEFAULT_NOTICE_RATES.smsPartsPerSecond, mailsPerSecond }),
    );
    return rates;
  };
  return {
    settings: { channels: input.channels, webmailUrl: input.webmailUrl, mailDomains: input.mailDomains, rates: readRates },
    sms: sns ? new SnsSmsSender({ client: sns }) : null,
    mailer: ses
      ? new SesNoticeMailer({
          client: ses,
          from: input.sender,
          ...(input.configurationSetName && { configurationSetName: input.configurationSetName }),
        })
      : null,
    close: () => {
      sns?.destroy();
      ses?.destroy();
    },
  };
}
