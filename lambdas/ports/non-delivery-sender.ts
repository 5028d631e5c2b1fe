// Port: sends a non-delivery report to the envelope sender of a message we received, from
// the null sender. Locally the report is built here (core/non-delivery-report.ts) and goes
// the outbound route; in AWS SES sending cannot use the null sender, so SES builds and
// sends it itself (SendBounce, for mail SES received, within 24 hours of receipt).
import type { NonDeliveryReport } from '../core/non-delivery-report.ts';

export type NonDeliverySendResult = { sent: true; providerMessageId: string } | { sent: false; reason: string };

export interface NonDeliverySender {
  /** `sent: false` when this route can never send this report (e.g. too late); errors are worth a retry. */
  send(report: NonDeliveryReport): Promise<NonDeliverySendResult>;
}
