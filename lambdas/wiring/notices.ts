// The parts failover notices need: the core's settings and the senders of the configured
// channels only. Local mode's are here (the outbox files under the data directory); AWS's
// (SNS for SMS, SES v2 for mail at the account's sending rate) are in aws-notices.ts.
import type { AdminNotices } from '../../web/routes/admin.ts';
import { FileMailOutbox, FileSmsOutbox } from '../adapters/local/file-outbox.ts';
import type { NoticeSettings } from '../core/staff-notices.ts';
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
