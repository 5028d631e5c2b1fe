// NoticeMailer on SES v2 SendEmail with simple content: a plain-text notice to a private
// address, from an address at one of the mail domains (their SES identity is verified
// for the webmail's own sending), through the webmail's configuration set so bounces and
// complaints are counted with the rest. In the SES sandbox only verified recipients can
// be reached (doctor warns). readSesSendRate gives the account's rate for the bucket.
import { GetAccountCommand, type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { InvalidInputError, RetryableError } from '../../core/errors.ts';
import type { NoticeMail, NoticeMailer } from '../../ports/notice-mailer.ts';
import { SES_PERMANENT_ERRORS } from './ses-outbound-mailer.ts';

export interface SesNoticeMailerOptions {
  client: SESv2Client;
  /** A sender at a verified mail domain, e.g. noreply@corp.example. */
  from: string;
  configurationSetName?: string;
}

export class SesNoticeMailer implements NoticeMailer {
  constructor(private readonly options: SesNoticeMailerOptions) {}

  async send(mail: NoticeMail): Promise<void> {
    try {
      await this.options.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.from,
          Destination: { ToAddresses: [mail.to] },
          Content: {
            Simple: {
              Subject: { Data: mail.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: mail.text, Charset: 'UTF-8' } },
            },
          },
          ...(this.options.configurationSetName && { ConfigurationSetName: this.options.configurationSetName }),
        }),
      );
    } catch (error) {
      const name = (error as { name?: string })?.name ?? 'Error';
      const cause = { name };
      if (SES_PERMANENT_ERRORS.has(name)) throw new InvalidInputError(`SES refused the notice (${mail.purpose}): ${name}`, { cause });
      throw new RetryableError(`sending the notice through SES failed (${mail.purpose}): ${name}`, { cause });
    }
  }
}

/**
 * The account's SES sending rate (messages per second, GetAccount SendQuota.MaxSendRate;
 * 1 in the sandbox: https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas.html),
 * or `fallback` when it cannot be read.
 */
export async function readSesSendRate(client: SESv2Client, fallback: number): Promise<number> {
  try {
    const account = await client.send(new GetAccountCommand({}));
    const rate = account.SendQuota?.MaxSendRate;
    return typeof rate === 'number' && rate > 0 ? rate : fallback;
  } catch {
    return fallback;
  }
}
