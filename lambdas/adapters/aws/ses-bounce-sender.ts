// NonDeliverySender in AWS: SES's SendBounce. SES sending always uses a MAIL FROM of its
// own (a subdomain of amazonses.com, or the identity's custom MAIL FROM domain), never the
// null sender a report needs; SendBounce is SES's documented way to send a bounce "to the
// sender of an email you received through Amazon SES", which SES builds as a DSN from the
// fields given here — only up to 24 hours after receipt, at most once per second
// (https://docs.aws.amazon.com/ses/latest/APIReference/API_SendBounce.html). The
// BounceSender must be a verified identity: MAILER-DAEMON@<our domain> is, by its domain.
import { type SESClient, SendBounceCommand } from '@aws-sdk/client-ses';
import { RetryableError } from '../../core/errors.ts';
import { type NonDeliveryReport, nonDeliveryText } from '../../core/non-delivery-report.ts';
import type { Clock } from '../../ports/clock.ts';
import type { NonDeliverySender, NonDeliverySendResult } from '../../ports/non-delivery-sender.ts';

/** SendBounce works on mail received at most this long ago. */
export const SES_BOUNCE_WINDOW_MS = 24 * 3_600_000;

/** SES refuses this bounce for good: sending it again will not help. */
const PERMANENT = new Set(['MessageRejected', 'InvalidParameterValue', 'ValidationError']);

export class SesBounceSender implements NonDeliverySender {
  private readonly client: SESClient;
  private readonly clock: Clock;

  constructor(options: { client: SESClient; clock: Clock }) {
    this.client = options.client;
    this.clock = options.clock;
  }

  async send(report: NonDeliveryReport): Promise<NonDeliverySendResult> {
    if (this.clock.now().getTime() - report.arrivalDate.getTime() >= SES_BOUNCE_WINDOW_MS) {
      return {
        sent: false,
        reason: `SES sends a bounce only within 24 hours of receipt (SendBounce); received ${report.arrivalDate.toISOString()}`,
      };
    }
    try {
      const output = await this.client.send(
        new SendBounceCommand({
          OriginalMessageId: report.sesMessageId,
          BounceSender: report.postmaster,
          Explanation: nonDeliveryText(report),
          MessageDsn: { ReportingMta: `dns; ${report.reportingMta}`, ArrivalDate: report.arrivalDate },
          BouncedRecipientInfoList: report.recipients.map((recipient) => ({
            Recipient: recipient.recipient,
            RecipientDsnFields: {
              Action: 'failed',
              Status: recipient.status,
              ...(recipient.diagnostic && { DiagnosticCode: `smtp; ${recipient.diagnostic}` }),
            },
          })),
        }),
      );
      return { sent: true, providerMessageId: output.MessageId ?? '' };
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (PERMANENT.has(name)) return { sent: false, reason: `SES refused the bounce: ${name}: ${(error as Error).message}` };
      throw new RetryableError(`SES SendBounce failed: ${name || String(error)}`, { cause: error });
    }
  }
}
