// Local mode's backlog alarm and /declare page (issue 13): a watcher that reads the
// forward queue's oldest job every check (a minute by default) and, when it has waited
// longer than SHADOWMAIL_FORWARD_BACKLOG_ALARM_MINUTES, runs the same use case as the
// alarm function in AWS — one link per break-glass admin with a contact
// (SHADOWMAIL_BREAK_GLASS_CONTACTS) into the SMS and mail outboxes under the data directory. Like CloudWatch, it "fires"
// on the way from OK to ALARM; a restart during a backlog fires again, and the episode
// keys in the store keep that from sending a second link.
import { FileForwardBacklog } from '../adapters/local/file-forward-backlog.ts';
import { FileMailOutbox, FileSmsOutbox } from '../adapters/local/file-outbox.ts';
import type { LocalQueue } from '../adapters/local/local-queue.ts';
import type { DeclareDeps } from '../core/declare-outage.ts';
import { type BreakGlassContact, sendAlarmLinks } from '../core/outage-alarm-links.ts';
import { OutageLinkSigner } from '../core/outage-link.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { FailoverFlag } from '../ports/failover-flag.ts';
import type { SingleUse } from '../ports/single-use.ts';
import type { LocalPaths } from './local-data-dir.ts';

export interface LocalOutageAlarmOptions {
  /** Who may use a link (SHADOWMAIL_BREAK_GLASS_ADMINS). */
  admins: readonly string[];
  /** Who gets links, and where (SHADOWMAIL_BREAK_GLASS_CONTACTS; each one of the admins). */
  contacts: readonly BreakGlassContact[];
  backlogAlarmMinutes: number;
  checkSeconds: number;
  forwardQueue: LocalQueue;
  /** The episode and link keys (the local store's). */
  singleUse: SingleUse;
  sessionSecret: string;
  flag: FailoverFlag;
  audit: AuditLog;
  clock: Clock;
  paths: Pick<LocalPaths, 'smsOutbox' | 'mailOutbox'>;
  publicOrigin: string;
  timeZone: string;
  log: (line: string) => void;
}

export interface LocalOutageAlarm {
  /** The /declare page's parts. */
  declare: DeclareDeps;
  /** Runs one check now (the timer's work; tests call it to skip the wait). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export function startLocalOutageAlarm(options: LocalOutageAlarmOptions): LocalOutageAlarm {
  const signer = new OutageLinkSigner(options.sessionSecret);
  const { singleUse } = options;
  const backlog = new FileForwardBacklog(options.forwardQueue);
  const { clock, flag, audit } = options;
  const links = {
    admins: options.contacts,
    signer,
    singleUse,
    sms: new FileSmsOutbox(options.paths.smsOutbox, options.log),
    mail: new FileMailOutbox(options.paths.mailOutbox, options.log),
    flag,
    audit,
    clock,
    publicOrigin: options.publicOrigin,
    timeZone: options.timeZone,
  };
  const thresholdSeconds = options.backlogAlarmMinutes * 60;
  let inAlarm = false;
  let running: Promise<void> = Promise.resolve();

  const check = (): Promise<void> => {
    running = running
      .then(async () => {
        const now = clock.now();
        const { oldestAgeSeconds } = await backlog.read(now);
        const breaching = oldestAgeSeconds !== null && oldestAgeSeconds >= thresholdSeconds;
        if (breaching && !inAlarm) {
          options.log(
            `backlog alarm: the oldest forward job waits ${Math.floor(oldestAgeSeconds / 60)} min; links to the break-glass admins`,
          );
          const report = await sendAlarmLinks({ alarmAt: now }, links);
          options.log(
            `backlog alarm links: sent ${report.sent.length}, earlier ${report.alreadySent.length}${report.skipped ? ` (${report.skipped})` : ''}`,
          );
        }
        // A failed send leaves the state OK: the next check tries again, as Lambda retries in AWS.
        inAlarm = breaching;
      })
      .catch((error: unknown) => options.log(`backlog alarm check failed: ${(error as Error).message}`));
    return running;
  };

  const timer = options.contacts.length > 0 ? setInterval(() => void check(), options.checkSeconds * 1000) : null;
  timer?.unref();
  return {
    declare: { signer, singleUse, admins: options.admins, flag, backlog, audit, clock },
    check,
    stop: async () => {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
