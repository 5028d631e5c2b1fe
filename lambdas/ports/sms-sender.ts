// Port: text messages to a mobile number — failover notices and the backlog alarm's
// link (SNS in AWS; local mode's SMS outbox under the data directory). Cognito sends
// the break-glass sign-in codes itself in AWS; local mode's provider uses this port.

export type SmsPurpose = 'sign-in-code' | 'failover-notice' | 'outage-alarm';

export interface SmsMessage {
  /** E.164: +4917012345678. */
  to: string;
  text: string;
  purpose: SmsPurpose;
}

export interface SmsSender {
  /** Resolves when the provider accepted the message (not when the phone got it). */
  send(message: SmsMessage): Promise<void>;
}
