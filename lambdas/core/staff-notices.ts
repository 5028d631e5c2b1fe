// Failover notices to staff: when failover goes on (CLI, admin console, the backlog
// alarm's link) or off, every enabled personal directory user may be told by SMS to the
// directory's mobile number and/or by mail to their private address — never to the company
// address, which is what is down. Channels only as configured (both off by default).
// A dry run shows who would get what with numbers and addresses masked; a real run sends
// through a token bucket per channel (never faster than the provider allows), goes on
// past a failed recipient, counts sent/failed/skipped and writes one audit event with
// those counts (never a number or an address). `repeat: 'once'` sends no second round
// for the same switch (the alarm link after an admin already notified); an explicit ask
// (`--notify`, the console's checkbox) sends again.
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { DirectoryStore } from '../ports/directory.ts';
import type { FailoverState } from '../ports/failover-flag.ts';
import type { NoticeMailer } from '../ports/notice-mailer.ts';
import type { SmsSender } from '../ports/sms-sender.ts';
import { domainOf, normalizeAddress } from './addresses.ts';
import { AuditWriteError, recordAudit } from './audit.ts';
import { addressesOf, canSignIn } from './directory.ts';
import { InvalidInputError } from './errors.ts';
import type { DirectoryUser } from './model.ts';
import { type MailNoticeText, mailNoticeText, type NoticeDirection, type SmsNoticeText, smsNoticeText } from './notice-texts.ts';
import { type Sleep, TokenBucket } from './token-bucket.ts';

export type NoticeChannel = 'sms' | 'email';

/**
 * Default send rates. SMS: 10 message parts per second, End User Messaging SMS's general
 * limit for long codes outside the US and Canada ("What are the Message Parts per Second
 * (MPS) limits", https://docs.aws.amazon.com/sms-voice/latest/userguide/sms-limitations-mps.html);
 * a slower origination identity needs a lower rate. Mail: 1 message per second, SES's
 * sending rate in the sandbox (the AWS wiring reads the account's real rate from GetAccount).
 */
export const DEFAULT_NOTICE_RATES = { smsPartsPerSecond: 10, mailsPerSecond: 1 } as const;

export interface NoticeRates {
  smsPartsPerSecond: number;
  mailsPerSecond: number;
}

export interface NoticeSettings {
  channels: Record<NoticeChannel, boolean>;
  /** The webmail's address as staff type it. */
  webmailUrl: string;
  /** The company's mail domains: a "private" address at one of them is never used. */
  mailDomains: readonly string[];
  /** The providers' rates, or how to learn them (SES: the account's, read when first needed); default DEFAULT_NOTICE_RATES. */
  rates?: NoticeRates | (() => Promise<NoticeRates>);
}

async function ratesOf(settings: NoticeSettings): Promise<NoticeRates> {
  const rates = settings.rates ?? DEFAULT_NOTICE_RATES;
  return typeof rates === 'function' ? rates() : rates;
}

export interface StaffNoticeDeps {
  directory: Pick<DirectoryStore, 'readState'>;
  /** Null when the channel has no sender here (then it must not be configured). */
  sms: SmsSender | null;
  mailer: NoticeMailer | null;
  audit: AuditLog;
  clock: Clock;
  sleep?: Sleep;
}

export interface NoticeRecipient {
  mailbox: string;
  /** Masked (+49•••••4567), or null when this user gets no SMS. */
  sms: string | null;
  /** Masked (j•••@example.net), or null when this user gets no mail. */
  email: string | null;
}

export interface NoticePlan {
  direction: NoticeDirection;
  channels: NoticeChannel[];
  sms: SmsNoticeText | null;
  mail: MailNoticeText | null;
  recipients: NoticeRecipient[];
  /** Enabled personal users who get nothing: no number / private address for the configured channels. */
  skipped: number;
  counts: { sms: number; email: number };
  /** Time the sending takes at the configured rates, in seconds (rounded up). */
  estimatedSeconds: number;
  rates: NoticeRates;
}

export interface NoticeResult {
  direction: NoticeDirection;
  channels: NoticeChannel[];
  sent: { sms: number; email: number };
  failed: { sms: number; email: number };
  skipped: number;
  /** Why sends failed, by error name (never the number or address). */
  failures: Record<string, number>;
  /** Set when `repeat: 'once'` found a round for this switch already sent (then nothing was sent now). */
  alreadySentAt: string | null;
  /** False when the round was sent but its audit event could not be written (the caller says so). */
  audited: boolean;
}

export interface NotifyStaffInput {
  /** The flag as it is after the switch: its direction, message and `since`. */
  state: FailoverState;
  /** Who switched (and so who sends): an admin's address or `cli:<user>`. */
  actor: string;
  /** 'once': nothing if this switch's round was sent already; 'again': an explicit ask, always send. */
  repeat: 'once' | 'again';
}

/** The dry run: who would get what, masked; nothing is sent or recorded. */
export async function planStaffNotices(
  input: { state: FailoverState },
  settings: NoticeSettings,
  deps: Pick<StaffNoticeDeps, 'directory' | 'sms' | 'mailer'>,
): Promise<NoticePlan> {
  return (await prepare(input.state, settings, deps)).plan;
}

/**
 * Sends this switch's notices (see the file's comment). Throws InvalidInputError when no
 * channel is configured; a failed recipient is counted and the others still get theirs.
 */
export async function notifyStaff(input: NotifyStaffInput, settings: NoticeSettings, deps: StaffNoticeDeps): Promise<NoticeResult> {
  const { plan, targets } = await prepare(input.state, settings, deps);
  const result: NoticeResult = {
    direction: plan.direction,
    channels: plan.channels,
    sent: { sms: 0, email: 0 },
    failed: { sms: 0, email: 0 },
    skipped: plan.skipped,
    failures: {},
    alreadySentAt: null,
    audited: true,
  };
  if (input.repeat === 'once') {
    const earlier = await roundSentSince(deps.audit, deps.clock, plan.direction, input.state.since);
    if (earlier) return { ...result, skipped: 0, alreadySentAt: earlier };
  }
  const { rates } = plan;
  const sleep = deps.sleep ? { sleep: deps.sleep } : {};
  const smsBucket = new TokenBucket({ ratePerSecond: rates.smsPartsPerSecond, clock: deps.clock, ...sleep });
  const mailBucket = new TokenBucket({ ratePerSecond: rates.mailsPerSecond, clock: deps.clock, ...sleep });
  const failed = (channel: NoticeChannel, error: unknown) => {
    result.failed[channel] += 1;
    // Adapters keep the provider's error name in `cause` (never its text, which can name the number).
    const failure = error as { name?: string; cause?: { name?: string } };
    const name = failure?.cause?.name || failure?.name || 'Error';
    result.failures[name] = (result.failures[name] ?? 0) + 1;
  };
  // The two channels go out side by side, each at its own provider's pace.
  const smsRun = async () => {
    if (!plan.sms || !deps.sms) return;
    for (const to of targets.sms) {
      await smsBucket.take(plan.sms.parts);
      try {
        await deps.sms.send({ to, text: plan.sms.text, purpose: 'failover-notice' });
        result.sent.sms += 1;
      } catch (error) {
        failed('sms', error);
      }
    }
  };
  const mailRun = async () => {
    if (!plan.mail || !deps.mailer) return;
    for (const to of targets.email) {
      await mailBucket.take();
      try {
        await deps.mailer.send({ to, subject: plan.mail.subject, text: plan.mail.text, purpose: 'failover-notice' });
        result.sent.email += 1;
      } catch (error) {
        failed('email', error);
      }
    }
  };
  await Promise.all([smsRun(), mailRun()]);
  const failedTotal = result.failed.sms + result.failed.email;
  // The messages are out: a log that cannot be written must not hide what was sent.
  await recordAudit(
    deps.audit,
    deps.clock,
    {
      actor: input.actor,
      action: 'notice.send',
      target: `failover-${plan.direction}`,
      details: {
        direction: plan.direction,
        channels: plan.channels,
        repeat: input.repeat,
        since: input.state.since ?? '',
        smsSent: result.sent.sms,
        smsFailed: result.failed.sms,
        smsParts: plan.sms?.parts ?? 0,
        emailSent: result.sent.email,
        emailFailed: result.failed.email,
        skipped: result.skipped,
        failures: Object.entries(result.failures).map(([name, count]) => `${name}: ${count}`),
      },
    },
    failedTotal > 0 && result.sent.sms + result.sent.email === 0 ? 'error' : 'ok',
  ).catch((error: unknown) => {
    if (!(error instanceof AuditWriteError)) throw error;
    result.audited = false;
  });
  return result;
}

/** +4917012345678 → +49•••••5678: the country code and the last four digits, nothing of the length. */
export function maskNumber(e164: string): string {
  return `${e164.slice(0, 3)}•••••${e164.slice(-4)}`;
}

/** jane.doe@example.net → j•••@example.net */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(0, 1)}•••${address.slice(at)}`;
}

interface Prepared {
  plan: NoticePlan;
  targets: { sms: string[]; email: string[] };
}

async function prepare(
  state: FailoverState,
  settings: NoticeSettings,
  deps: Pick<StaffNoticeDeps, 'directory' | 'sms' | 'mailer'>,
): Promise<Prepared> {
  const channels = (['sms', 'email'] as const).filter((channel) => settings.channels[channel]);
  if (channels.length === 0)
    throw new InvalidInputError('failover notices are off: set breakGlass.notices.sms and/or .email (local mode: SHADOWMAIL_NOTICES)');
  if (settings.channels.sms && !deps.sms) throw new InvalidInputError('SMS notices are configured but no SMS sender is wired here');
  if (settings.channels.email && !deps.mailer) throw new InvalidInputError('mail notices are configured but no mailer is wired here');
  const direction: NoticeDirection = state.on ? 'on' : 'off';
  const textInput = { direction, webmailUrl: settings.webmailUrl, message: state.message };
  const companyDomains = new Set(settings.mailDomains.map((domain) => domain.toLowerCase()));
  const { users } = await deps.directory.readState();
  const seen = { sms: new Set<string>(), email: new Set<string>() };
  const targets = { sms: [] as string[], email: [] as string[] };
  const recipients: NoticeRecipient[] = [];
  let skipped = 0;
  for (const user of [...users].sort((a, b) => a.mailbox.localeCompare(b.mailbox))) {
    if (!canSignIn(user)) continue;
    // A number or address two users share (a team phone) gets one notice.
    const mobile = settings.channels.sms && user.mobile && !seen.sms.has(user.mobile) ? user.mobile : null;
    const email = settings.channels.email ? privateAddressOf(user, companyDomains, seen.email) : null;
    if (mobile === null && email === null) {
      skipped += 1;
      continue;
    }
    if (mobile) {
      seen.sms.add(mobile);
      targets.sms.push(mobile);
    }
    if (email) {
      seen.email.add(email);
      targets.email.push(email);
    }
    recipients.push({ mailbox: user.mailbox, sms: mobile && maskNumber(mobile), email: email && maskAddress(email) });
  }
  const sms = settings.channels.sms ? smsNoticeText(textInput) : null;
  const mail = settings.channels.email ? mailNoticeText(textInput) : null;
  const rates = await ratesOf(settings);
  const smsSeconds = sms ? (targets.sms.length * sms.parts) / rates.smsPartsPerSecond : 0;
  const mailSeconds = targets.email.length / rates.mailsPerSecond;
  return {
    plan: {
      direction,
      channels,
      sms,
      mail,
      recipients,
      skipped,
      counts: { sms: targets.sms.length, email: targets.email.length },
      estimatedSeconds: Math.ceil(Math.max(smsSeconds, mailSeconds)),
      rates,
    },
    targets,
  };
}

/** The user's private address if it is one: never an address at a company domain or of their own mailbox. */
function privateAddressOf(user: DirectoryUser, companyDomains: ReadonlySet<string>, seen: ReadonlySet<string>): string | null {
  if (!user.privateEmail) return null;
  const address = normalizeAddress(user.privateEmail);
  const own = new Set(addressesOf(user).map((a) => domainOf(a)));
  const domain = domainOf(address);
  if (companyDomains.has(domain) || own.has(domain) || seen.has(address)) return null;
  return address;
}

/** How far back a once-only check looks: the audit log is read a day at a time, and a failover is hours or days long. */
export const ONCE_LOOKBACK_DAYS = 31;

/** When a round of this direction was recorded since the flag's last switch (at most ONCE_LOOKBACK_DAYS back); null for none. */
async function roundSentSince(audit: AuditLog, clock: Clock, direction: NoticeDirection, since: string | null): Promise<string | null> {
  const earliest = new Date(clock.now().getTime() - ONCE_LOOKBACK_DAYS * 86_400_000).toISOString();
  const from = since !== null && since > earliest ? since : earliest;
  let cursor: string | null = null;
  do {
    const page = await audit.list({
      since: from,
      until: new Date(clock.now().getTime() + 1000).toISOString(),
      action: 'notice.send',
      cursor,
      limit: 100,
    });
    const found = page.events.find(
      (event) => event.details.direction === direction && event.outcome === 'ok' && event.details.since === (since ?? ''),
    );
    if (found) return found.at;
    cursor = page.nextCursor;
  } while (cursor);
  return null;
}
