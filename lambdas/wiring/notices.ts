// The parts failover notices need, composed once for local mode (the outbox files under
// the data directory) and for AWS (SNS for SMS, SES v2 for mail at the account's sending
// rate): the core's settings and the senders of the configured channels only.
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import type { AdminNotices } from '../../web/routes/admin.ts';
import { readSesSendRate, SesNoticeMailer } from '../adapters/aws/ses-notice-mailer.ts';
import { SnsSmsSender } from '../adapters/aws/sns-sms-sender.ts';
import { FileMailOutbox, FileSmsOutbox } from '../adapters/local/file-outbox.ts';
import { DEFAULT_NOTICE_RATES, type NoticeRates, type NoticeSettings } from '../core/staff-notices.ts';
import type { DirectoryStore } from '../ports/directory.ts';
import type { NoticeMailer } from '../ports/notice-mailer.ts';
import type { SmsSender } from '../ports/sms-sender.ts';
import type { LocalConfig } from './local-config.ts';
import { localPaths } from './local-data-dir.ts';

export interface NoticeParts {
  settings: NoticeSettings;
  sms: SmsSender | null;
  mailer: NoticeMailer | null;
  close(): void;
}

/** Outbox files have no provider behind them: local notices are not throttled. */
const LOCAL_RATES = { smsPartsPerSecond: 1000, mailsPerSecond: 1000 };

/** Local mode's notices; `publicUrl` is the webmail's address when the running stack knows it better than the config. */
export function localNoticeParts(config: LocalConfig, publicUrl?: string): NoticeParts {
  const paths = localPaths(config.dataDir);
  const origin = (publicUrl ?? config.publicUrl ?? `http://127.0.0.1:${config.httpPort}`).replace(/\/$/, '');
  return {
    settings: { channels: config.notices, webmailUrl: `${origin}/`, mailDomains: config.domains, rates: LOCAL_RATES },
    sms: config.notices.sms ? new FileSmsOutbox(paths.smsOutbox) : null,
    mailer: config.notices.email ? new FileMailOutbox(paths.mailOutbox) : null,
    close: () => undefined,
  };
}

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

/** The admin console's notices in local mode, or null when SHADOWMAIL_NOTICES is none. */
export function localAdminNotices(
  config: LocalConfig,
  publicUrl: string,
  directory: Pick<DirectoryStore, 'readState'>,
): AdminNotices | null {
  if (!config.notices.sms && !config.notices.email) return null;
  const parts = localNoticeParts(config, publicUrl);
  return { settings: parts.settings, parts: { directory, sms: parts.sms, mailer: parts.mailer } };
}
