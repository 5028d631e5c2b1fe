// NoticeMailer on SES v2 SendEmail with simple (plain text) content, from an address at a
// verified mail domain. SES sends it to the private address over the internet, so it
// arrives while the company's own Exchange is down. In the SES sandbox only verified
// recipients get mail (https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html);
// `shadowmail doctor` says so.
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { RetryableError } from '../../core/errors.ts';
import type { NoticeMail, NoticeMailer } from '../../ports/notice-mailer.ts';

export class SesNoticeMailer implements NoticeMailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly from: string,
  ) {}

  async send(mail: NoticeMail): Promise<void> {
    try {
      await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.from,
          Destination: { ToAddresses: [mail.to] },
          Content: {
            Simple: {
              Subject: { Data: mail.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: mail.text, Charset: 'UTF-8' } },
            },
          },
        }),
      );
    } catch (error) {
      throw new RetryableError(`SES did not take the ${mail.purpose} mail: ${(error as Error).name}`, { cause: error });
    }
  }
}
