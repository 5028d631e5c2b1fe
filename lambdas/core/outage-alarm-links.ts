// When the forward backlog alarm fires (Exchange has not taken mail for N minutes), each
// break-glass admin gets a link that switches failover on — by SMS and to a private
// address, never the company mailbox, which is what is down. At most one link per admin
// per alarm episode: an admin who got a link is not sent another while it is valid
// (24 h), however often the alarm repeats or SNS redelivers it. Nothing is sent while
// failover is already on.
import { randomUUID } from 'node:crypto';
import { SINGLE_USE_PREFIX } from '../contract/message-table.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { FailoverFlag } from '../ports/failover-flag.ts';
import type { NoticeMailer } from '../ports/notice-mailer.ts';
import type { SingleUse } from '../ports/single-use.ts';
import type { SmsSender } from '../ports/sms-sender.ts';
import { normalizeAddress } from './addresses.ts';
import { recordAudit } from './audit.ts';
import { RetryableError } from './errors.ts';
import { OUTAGE_LINK_VALIDITY_SECONDS, type OutageLinkSigner, outageLinkUrl } from './outage-link.ts';

/** A break-glass admin as configured (config breakGlass.admins; local mode's list). */
export interface BreakGlassContact {
  username: string;
  /** E.164. */
  mobile?: string;
  /** Outside the mail domains (the config refuses others). */
  privateEmail?: string;
}

export interface AlarmLinkDeps {
  admins: readonly BreakGlassContact[];
  signer: OutageLinkSigner;
  singleUse: SingleUse;
  sms: SmsSender;
  mail: NoticeMailer;
  flag: Pick<FailoverFlag, 'read'>;
  audit: AuditLog;
  clock: Clock;
  /** The webmail's public origin, e.g. https://mail.corp.example. */
  publicOrigin: string;
  /** IANA zone for the alarm time in the texts. */
  timeZone: string;
}

export interface BacklogAlarm {
  /** When the alarm went to ALARM. */
  alarmAt: Date;
}

export interface AlarmLinkReport {
  /** Admins who got a link now (by at least one channel). */
  sent: string[];
  /** Admins who got one earlier in this episode. */
  alreadySent: string[];
  /** Admins no channel reached; they are tried again on the next delivery of the alarm. */
  failed: string[];
  /** Why nobody was tried. */
  skipped?: 'failover-on' | 'no-admins';
}

/** The key that marks "this admin has a valid link": one episode lasts as long as a link. */
export const episodeKey = (username: string): string => `${SINGLE_USE_PREFIX.alarmEpisode}${normalizeAddress(username)}`;

export async function sendAlarmLinks(alarm: BacklogAlarm, deps: AlarmLinkDeps): Promise<AlarmLinkReport> {
  const report: AlarmLinkReport = { sent: [], alreadySent: [], failed: [] };
  const channels = { sms: 0, email: 0 };
  if (deps.admins.length === 0) report.skipped = 'no-admins';
  else if ((await deps.flag.read()).on) report.skipped = 'failover-on';
  else {
    for (const admin of deps.admins) {
      const outcome = await sendOne(admin, alarm, deps);
      if (outcome === 'already-sent') report.alreadySent.push(admin.username);
      else if (outcome.sms || outcome.email) {
        report.sent.push(admin.username);
        if (outcome.sms) channels.sms += 1;
        if (outcome.email) channels.email += 1;
      } else report.failed.push(admin.username);
    }
  }
  // The audit names admins and channel counts, never numbers or private addresses.
  await recordAudit(
    deps.audit,
    deps.clock,
    {
      actor: 'system',
      action: 'outage.alarm-link',
      details: {
        alarmAt: alarm.alarmAt.toISOString(),
        sent: report.sent,
        alreadySent: report.alreadySent,
        failed: report.failed,
        sms: channels.sms,
        email: channels.email,
        ...(report.skipped && { skipped: report.skipped }),
      },
    },
    report.failed.length > 0 ? 'error' : 'ok',
  );
  if (report.failed.length > 0) throw new RetryableError(`the backlog alarm link reached no channel of ${report.failed.join(', ')}`);
  return report;
}

async function sendOne(admin: BreakGlassContact, alarm: BacklogAlarm, deps: AlarmLinkDeps) {
  const now = deps.clock.now();
  const owner = randomUUID();
  const key = episodeKey(admin.username);
  if (!(await deps.singleUse.take(key, owner, new Date(now.getTime() + OUTAGE_LINK_VALIDITY_SECONDS * 1000), now))) {
    return 'already-sent' as const;
  }
  const { token, link } = deps.signer.issue({ admin: admin.username, alarmAt: alarm.alarmAt, now });
  const url = outageLinkUrl(deps.publicOrigin, token);
  const since = clockTime(alarm.alarmAt, deps.timeZone);
  const until = `${dateTime(link.expiresAt, deps.timeZone)} (${deps.timeZone})`;
  const reached = { sms: false, email: false };
  if (admin.mobile) {
    reached.sms = await deps.sms
      .send({ to: admin.mobile, purpose: 'outage-alarm', text: smsText(since, url) })
      .then(() => true)
      .catch(() => false);
  }
  if (admin.privateEmail) {
    reached.email = await deps.mail
      .send({
        to: admin.privateEmail,
        purpose: 'outage-alarm',
        subject: 'shadowmail: Exchange is not taking mail - switch failover on?',
        text: mailText(admin.username, since, until, url),
      })
      .then(() => true)
      .catch(() => false);
  }
  // Nobody got the link: the episode is not used up, the alarm's next delivery tries again.
  if (!reached.sms && !reached.email) await deps.singleUse.giveBack(key, owner);
  return reached;
}

/**
 * GSM-7 characters only and about 60 characters before the URL (about 130): with a
 * 120-character token the whole SMS fits two concatenated segments (2 x 153).
 */
export function smsText(since: string, url: string): string {
  return `shadowmail: Exchange takes no mail since ${since}. Switch failover on (24 h, once): ${url}`;
}

function mailText(username: string, since: string, until: string, url: string): string {
  return [
    `Exchange has not taken mail from shadowmail since ${since}: the forward backlog alarm fired.`,
    '',
    `If Exchange is down, this link switches the failover on, so staff can read their mail in the webmail:`,
    '',
    url,
    '',
    `The link is for ${username}, works once and until ${until}. It shows the backlog first and asks`,
    'before it switches; it does nothing else and signs nobody in.',
    '',
    'If you did not expect this message, ignore it.',
    '',
    '---',
    '',
    `Exchange nimmt seit ${since} keine Mail von shadowmail an: der Alarm zum Rückstau hat ausgelöst.`,
    'Ist Exchange ausgefallen, schaltet der Link oben den Notbetrieb ein (einmal, 24 Stunden gültig);',
    'die Seite zeigt zuerst den Rückstau und fragt nach. Sonst ignorieren Sie diese Nachricht.',
  ].join('\n');
}

function clockTime(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
}

function dateTime(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }).format(date);
}
