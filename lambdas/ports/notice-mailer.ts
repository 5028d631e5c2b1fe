// Port: plain-text mail to a private address outside the company's domains — the
// company's own mail is what is down. Failover notices and the backlog alarm's link
// (SES in AWS; local mode's mail outbox under the data directory).

export type NoticePurpose = 'failover-notice' | 'outage-alarm';

export interface NoticeMail {
  to: string;
  subject: string;
  text: string;
  purpose: NoticePurpose;
}

export interface NoticeMailer {
  send(mail: NoticeMail): Promise<void>;
}
