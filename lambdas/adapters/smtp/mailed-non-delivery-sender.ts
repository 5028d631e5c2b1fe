// NonDeliverySender for local mode: the report built as RFC 3464 bytes (core/non-delivery-report.ts)
// and sent over the outbound route with the null envelope sender (MAIL FROM:<>), so nobody
// may answer it with another report (RFC 5321 §4.5.5). A route that refuses it for good
// (5xx) withholds it; anything else is thrown, so the forward job tries again.
import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '../../core/errors.ts';
import { buildNonDeliveryReport, type NonDeliveryReport } from '../../core/non-delivery-report.ts';
import type { Clock } from '../../ports/clock.ts';
import type { NonDeliverySender, NonDeliverySendResult } from '../../ports/non-delivery-sender.ts';
import type { OutboundMailer } from '../../ports/outbound-mailer.ts';

export class MailedNonDeliverySender implements NonDeliverySender {
  private readonly mailer: OutboundMailer;
  private readonly clock: Clock;

  constructor(mailer: OutboundMailer, clock: Clock) {
    this.mailer = mailer;
    this.clock = clock;
  }

  async send(report: NonDeliveryReport): Promise<NonDeliverySendResult> {
    const raw = buildNonDeliveryReport({
      ...report,
      date: this.clock.now(),
      messageId: `${randomUUID()}@${report.reportingMta}`,
      boundary: `dsn-${randomUUID()}`,
    });
    try {
      const { providerMessageId } = await this.mailer.send({ from: '', recipients: [report.sender] }, Buffer.from(raw));
      return { sent: true, providerMessageId };
    } catch (error) {
      // A 5xx from the route (OutboundMailer's InvalidInputError) will not change: withheld, not retried for ever.
      if (error instanceof InvalidInputError) return { sent: false, reason: error.message };
      throw error;
    }
  }
}
