// Failover notices to staff: who gets what, masked dry run, rate limit, failures, once-only, audit.
import { describe, expect, it } from 'vitest';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import type { DirectoryUser } from '../../../../lambdas/core/model.ts';
import {
  maskAddress,
  maskNumber,
  type NoticeSettings,
  notifyStaff,
  ONCE_LOOKBACK_DAYS,
  planStaffNotices,
  type StaffNoticeDeps,
} from '../../../../lambdas/core/staff-notices.ts';
import type { FailoverState } from '../../../../lambdas/ports/failover-flag.ts';
import type { NoticeMail } from '../../../../lambdas/ports/notice-mailer.ts';
import type { SmsMessage } from '../../../../lambdas/ports/sms-sender.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';

const users: DirectoryUser[] = [
  makeDirectoryUser({ id: '1', mailbox: 'alice@corp.test', mobile: '+4917012345678', privateEmail: 'alice.home@example.net' }),
  makeDirectoryUser({ id: '2', mailbox: 'bob@corp.test', mobile: '+4917011111111' }),
  makeDirectoryUser({ id: '3', mailbox: 'carol@corp.test', privateEmail: 'carol@example.org' }),
  // Never notified: disabled, shared, nothing to reach them by.
  makeDirectoryUser({ id: '4', mailbox: 'dave@corp.test', disabled: true, mobile: '+4917022222222', privateEmail: 'dave@example.net' }),
  makeDirectoryUser({ id: '5', mailbox: 'team@corp.test', kind: 'shared', mobile: '+4917033333333' }),
  makeDirectoryUser({ id: '6', mailbox: 'erin@corp.test' }),
  // A "private" address at a company domain, and a number shared with alice (a team phone).
  makeDirectoryUser({ id: '7', mailbox: 'frank@corp.test', mobile: '+4917012345678', privateEmail: 'frank@sub.corp.test' }),
];

const on: FailoverState = { on: true, since: '2030-01-01T08:00:00.000Z', message: 'Back by noon.', changedBy: 'cli:ops', reason: 'x' };
const off: FailoverState = { ...on, on: false, since: '2030-01-01T12:00:00.000Z', message: '' };

function setup(channels = { sms: true, email: true }, rates?: NoticeSettings['rates']) {
  const clock = new ManualClock('2030-01-01T08:00:01Z');
  const sms: SmsMessage[] = [];
  const mails: NoticeMail[] = [];
  const audit = new MemoryAuditLog();
  const failFor = new Set<string>();
  const deps: StaffNoticeDeps = {
    directory: { readState: async () => ({ users, interrupted: false }) },
    sms: {
      send: async (message) => {
        if (failFor.has(message.to)) throw Object.assign(new Error(`refused ${message.to}`), { name: 'InvalidParameterException' });
        sms.push(message);
      },
    },
    mailer: {
      send: async (mail) => {
        if (failFor.has(mail.to)) throw Object.assign(new Error('rejected'), { name: 'MessageRejected' });
        mails.push(mail);
      },
    },
    audit,
    clock,
    sleep: async (ms) => clock.advance(ms),
  };
  const settings: NoticeSettings = {
    channels,
    webmailUrl: 'https://mail.corp.test/',
    mailDomains: ['corp.test', 'sub.corp.test'],
    ...(rates && { rates }),
  };
  return { deps, settings, sms, mails, audit, clock, failFor };
}

describe('planStaffNotices (the dry run)', () => {
  it('lists enabled personal users with masked numbers and addresses, the texts once, and who is skipped', async () => {
    const { deps, settings, sms, mails } = setup();
    const plan = await planStaffNotices({ state: on }, settings, deps);
    expect(plan.recipients).toEqual([
      { mailbox: 'alice@corp.test', sms: '+49•••••5678', email: 'a•••@example.net' },
      { mailbox: 'bob@corp.test', sms: '+49•••••1111', email: null },
      { mailbox: 'carol@corp.test', sms: null, email: 'c•••@example.org' },
    ]);
    // erin (nothing) and frank (shared number, company "private" address).
    expect(plan.skipped).toBe(2);
    expect(plan.counts).toEqual({ sms: 2, email: 2 });
    expect(plan.sms?.text).toContain('https://mail.corp.test/');
    expect(plan.mail?.subject).toMatch(/Mail outage/);
    expect(JSON.stringify(plan)).not.toContain('+4917012345678');
    expect(JSON.stringify(plan)).not.toContain('alice.home@');
    expect(sms).toEqual([]);
    expect(mails).toEqual([]);
  });

  it('uses only the configured channels', async () => {
    const { deps, settings } = setup({ sms: false, email: true });
    const plan = await planStaffNotices({ state: on }, settings, deps);
    expect(plan.channels).toEqual(['email']);
    expect(plan.sms).toBeNull();
    expect(plan.recipients.map((r) => r.mailbox)).toEqual(['alice@corp.test', 'carol@corp.test']);
    expect(plan.recipients.every((r) => r.sms === null)).toBe(true);
  });

  it('refuses when notices are off', async () => {
    const { deps, settings } = setup({ sms: false, email: false });
    await expect(planStaffNotices({ state: on }, settings, deps)).rejects.toThrow(/notices are off/);
  });
});

describe('notifyStaff', () => {
  it('sends each channel to its targets, never to a company address, and audits counts without numbers', async () => {
    const { deps, settings, sms, mails, audit } = setup();
    const result = await notifyStaff({ state: on, actor: 'admin@corp.test', repeat: 'again' }, settings, deps);
    expect(result).toMatchObject({ sent: { sms: 2, email: 2 }, failed: { sms: 0, email: 0 }, skipped: 2, audited: true });
    expect(sms.map((m) => m.to)).toEqual(['+4917012345678', '+4917011111111']);
    expect(sms.every((m) => m.purpose === 'failover-notice')).toBe(true);
    expect(mails.map((m) => m.to)).toEqual(['alice.home@example.net', 'carol@example.org']);
    expect(mails.some((m) => m.to.endsWith('corp.test'))).toBe(false);
    expect(audit.events).toHaveLength(1);
    const event = audit.events[0]!;
    expect(event).toMatchObject({ actor: 'admin@corp.test', action: 'notice.send', outcome: 'ok', target: 'failover-on' });
    expect(event.details).toMatchObject({ direction: 'on', channels: ['sms', 'email'], smsSent: 2, emailSent: 2, skipped: 2 });
    expect(JSON.stringify(event)).not.toMatch(/\+49|example\.(net|org)/);
  });

  it('goes on past a failed recipient and counts the failure by error name only', async () => {
    const { deps, settings, sms, audit, failFor } = setup();
    failFor.add('+4917012345678');
    failFor.add('carol@example.org');
    const result = await notifyStaff({ state: on, actor: 'cli:ops', repeat: 'again' }, settings, deps);
    expect(result).toMatchObject({ sent: { sms: 1, email: 1 }, failed: { sms: 1, email: 1 } });
    expect(result.failures).toEqual({ InvalidParameterException: 1, MessageRejected: 1 });
    expect(sms.map((m) => m.to)).toEqual(['+4917011111111']);
    expect(audit.events[0]!.details.failures).toEqual(['InvalidParameterException: 1', 'MessageRejected: 1']);
    expect(JSON.stringify(audit.events[0])).not.toContain('+49');
  });

  it('records an error outcome when nothing could be sent', async () => {
    const { deps, settings, audit, failFor } = setup({ sms: true, email: false });
    failFor.add('+4917012345678');
    failFor.add('+4917011111111');
    await notifyStaff({ state: on, actor: 'cli:ops', repeat: 'again' }, settings, deps);
    expect(audit.events[0]!.outcome).toBe('error');
  });

  it('never sends faster than the configured rates', async () => {
    const { deps, settings, clock } = setup({ sms: true, email: true }, { smsPartsPerSecond: 1, mailsPerSecond: 0.5 });
    const start = clock.now().getTime();
    const sentAt: number[] = [];
    const inner = deps.mailer!;
    deps.mailer = {
      send: async (mail) => {
        sentAt.push(clock.now().getTime() - start);
        await inner.send(mail);
      },
    };
    await notifyStaff({ state: on, actor: 'cli:ops', repeat: 'again' }, settings, deps);
    // Two mails at one per 2 s: the second no earlier than 2 s after the first.
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(2000);
  });

  it("sends no second round for the same switch with repeat 'once', but does when asked again", async () => {
    const { deps, settings, sms } = setup({ sms: true, email: false });
    await notifyStaff({ state: on, actor: 'admin@corp.test', repeat: 'once' }, settings, deps);
    expect(sms).toHaveLength(2);
    const second = await notifyStaff({ state: on, actor: 'system', repeat: 'once' }, settings, deps);
    expect(second.alreadySentAt).not.toBeNull();
    expect(second.sent).toEqual({ sms: 0, email: 0 });
    expect(sms).toHaveLength(2);
    await notifyStaff({ state: on, actor: 'admin@corp.test', repeat: 'again' }, settings, deps);
    expect(sms).toHaveLength(4);
  });

  it("sends once again for a new switch (off, then on again) with repeat 'once'", async () => {
    const { deps, settings, sms, clock } = setup({ sms: true, email: false });
    await notifyStaff({ state: on, actor: 'a@corp.test', repeat: 'once' }, settings, deps);
    clock.advance(4 * 3600_000);
    await notifyStaff({ state: off, actor: 'a@corp.test', repeat: 'once' }, settings, deps);
    expect(sms.at(-1)!.text).toMatch(/Outlook again/);
    clock.advance(3600_000);
    const again = { ...on, since: clock.now().toISOString() };
    const result = await notifyStaff({ state: again, actor: 'a@corp.test', repeat: 'once' }, settings, deps);
    expect(result.alreadySentAt).toBeNull();
    expect(sms).toHaveLength(6);
  });

  it('looks back at most a month for an earlier round of a long failover (the audit log is read a day at a time)', async () => {
    const { deps, settings, sms, clock } = setup({ sms: true, email: false });
    const long = { ...on, since: '2029-11-01T00:00:00.000Z' };
    await notifyStaff({ state: long, actor: 'a@corp.test', repeat: 'once' }, settings, deps);
    clock.advance(86_400_000);
    const listed: string[] = [];
    const inner = deps.audit;
    deps.audit = {
      append: (event) => inner.append(event),
      list: (filter) => {
        listed.push(filter.since);
        return inner.list(filter);
      },
    };
    const second = await notifyStaff({ state: long, actor: 'a@corp.test', repeat: 'once' }, settings, deps);
    expect(second.alreadySentAt).not.toBeNull();
    expect(sms).toHaveLength(2);
    expect(listed[0]).toBe(new Date(clock.now().getTime() - ONCE_LOOKBACK_DAYS * 86_400_000).toISOString());
  });

  it('returns what was sent when the audit log cannot be written', async () => {
    const { deps, settings, audit } = setup({ sms: true, email: false });
    audit.failNext = 10;
    const result = await notifyStaff({ state: on, actor: 'cli:ops', repeat: 'again' }, settings, deps);
    expect(result).toMatchObject({ sent: { sms: 2 }, audited: false });
  });
});

describe('masking', () => {
  it('keeps the country code and the last four digits of a number, the first letter and domain of an address', () => {
    expect(maskNumber('+4917012345678')).toBe('+49•••••5678');
    expect(maskNumber('+12025550123')).toBe('+12•••••0123');
    expect(maskAddress('jane.doe@example.net')).toBe('j•••@example.net');
  });
});
