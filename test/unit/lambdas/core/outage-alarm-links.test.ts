// Sending the backlog alarm's links: one per admin by each channel the admin has, none
// while failover is on, at most one per admin per episode (a repeated or redelivered
// alarm sends nothing new), an admin no channel reached is tried again, and the audit
// names admins and counts, never numbers or addresses.
import { beforeEach, describe, expect, it } from 'vitest';
import { type AlarmLinkDeps, sendAlarmLinks, smsText } from '../../../../lambdas/core/outage-alarm-links.ts';
import { OUTAGE_LINK_VALIDITY_SECONDS, OutageLinkSigner } from '../../../../lambdas/core/outage-link.ts';
import { FAILOVER_OFF, type FailoverState } from '../../../../lambdas/ports/failover-flag.ts';
import type { NoticeMail } from '../../../../lambdas/ports/notice-mailer.ts';
import type { SmsMessage } from '../../../../lambdas/ports/sms-sender.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';
import { MemorySingleUse } from '../../../support/memory-single-use.ts';

const SECRET = 'a-session-secret-of-at-least-32-characters';
const ALARM = { alarmAt: new Date('2030-03-01T11:58:00.000Z') };

describe('sendAlarmLinks', () => {
  let clock: ManualClock;
  let sms: SmsMessage[];
  let mails: NoticeMail[];
  let audit: MemoryAuditLog;
  let flag: FailoverState;
  let failSms: boolean;
  let failMail: boolean;
  let deps: AlarmLinkDeps;
  const signer = new OutageLinkSigner(SECRET);

  beforeEach(() => {
    clock = new ManualClock('2030-03-01T12:00:00.000Z');
    sms = [];
    mails = [];
    audit = new MemoryAuditLog();
    flag = FAILOVER_OFF;
    failSms = false;
    failMail = false;
    deps = {
      admins: [
        { username: 'oncall@corp.example', mobile: '+4917012345678', privateEmail: 'oncall@private.example' },
        { username: 'boss@corp.example', privateEmail: 'boss@home.example' },
      ],
      signer,
      singleUse: new MemorySingleUse(),
      sms: {
        send: async (message) => {
          if (failSms) throw new Error('SNS refused');
          sms.push(message);
        },
      },
      mail: {
        send: async (mail) => {
          if (failMail) throw new Error('SES refused');
          mails.push(mail);
        },
      },
      flag: { read: async () => flag },
      audit,
      clock,
      publicOrigin: 'https://mail.corp.example',
      timeZone: 'Europe/Berlin',
    };
  });

  const tokenIn = (text: string) => /https:\/\/mail\.corp\.example\/declare\?t=([A-Za-z0-9_-]+)/.exec(text)?.[1];

  it('sends each admin a link of their own by SMS and to the private address', async () => {
    const report = await sendAlarmLinks(ALARM, deps);

    expect(report).toEqual({ sent: ['oncall@corp.example', 'boss@corp.example'], alreadySent: [], failed: [] });
    expect(sms.map((m) => [m.to, m.purpose])).toEqual([['+4917012345678', 'outage-alarm']]);
    expect(mails.map((m) => [m.to, m.purpose])).toEqual([
      ['oncall@private.example', 'outage-alarm'],
      ['boss@home.example', 'outage-alarm'],
    ]);
    const smsToken = tokenIn(sms[0]!.text)!;
    const verified = signer.verify(smsToken, clock.now());
    expect(verified).toMatchObject({ ok: true, link: { admin: 'oncall@corp.example', alarmAt: ALARM.alarmAt } });
    // SMS and mail of one admin carry the same link; the other admin's is another one.
    expect(tokenIn(mails[0]!.text)).toBe(smsToken);
    expect(signer.verify(tokenIn(mails[1]!.text)!, clock.now())).toMatchObject({ ok: true, link: { admin: 'boss@corp.example' } });
    expect(sms[0]!.text).toContain('since 12:58');
  });

  it('keeps the SMS within two GSM-7 segments', () => {
    const url = `https://mail.corp.example/declare?t=${'x'.repeat(120)}`;
    const text = smsText('12:58', url);
    expect(text.length).toBeLessThanOrEqual(2 * 153);
    expect(text).toMatch(/^[A-Za-z0-9 :.,()/?=_-]+$/);
  });

  it('audits who got it and by how many channels, without numbers or addresses', async () => {
    await sendAlarmLinks(ALARM, deps);

    expect(audit.events).toHaveLength(1);
    const event = audit.events[0]!;
    expect(event).toMatchObject({ actor: 'system', action: 'outage.alarm-link', outcome: 'ok' });
    expect(event.details).toMatchObject({ sent: ['oncall@corp.example', 'boss@corp.example'], sms: 1, email: 2 });
    expect(JSON.stringify(event)).not.toMatch(/\+49|private\.example|home\.example|declare\?/);
  });

  it('sends nothing new when the alarm repeats within the episode, and again once the links expired', async () => {
    await sendAlarmLinks(ALARM, deps);
    clock.advance(3600_000);

    const again = await sendAlarmLinks({ alarmAt: new Date('2030-03-01T12:58:00.000Z') }, deps);
    expect(again).toEqual({ sent: [], alreadySent: ['oncall@corp.example', 'boss@corp.example'], failed: [] });
    expect(sms).toHaveLength(1);
    expect(mails).toHaveLength(2);

    clock.advance(OUTAGE_LINK_VALIDITY_SECONDS * 1000);
    expect((await sendAlarmLinks(ALARM, deps)).sent).toHaveLength(2);
    expect(sms).toHaveLength(2);
  });

  it('sends nothing while failover is already on, and nothing without admins', async () => {
    flag = { ...FAILOVER_OFF, on: true };
    expect(await sendAlarmLinks(ALARM, deps)).toEqual({ sent: [], alreadySent: [], failed: [], skipped: 'failover-on' });
    expect(await sendAlarmLinks(ALARM, { ...deps, admins: [] })).toMatchObject({ skipped: 'no-admins' });
    expect(sms).toHaveLength(0);
    expect(mails).toHaveLength(0);
    expect(audit.events.map((e) => e.details.skipped)).toEqual(['failover-on', 'no-admins']);
  });

  it('counts an admin as reached by one channel, and retries one that no channel reached', async () => {
    failMail = true;
    await expect(sendAlarmLinks(ALARM, deps)).rejects.toThrow(/no channel of boss@corp.example/);
    expect(sms).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({ outcome: 'error', details: { sent: ['oncall@corp.example'], failed: ['boss@corp.example'] } });

    failMail = false;
    const retry = await sendAlarmLinks(ALARM, deps);
    expect(retry).toEqual({ sent: ['boss@corp.example'], alreadySent: ['oncall@corp.example'], failed: [] });
    expect(mails.map((m) => m.to)).toEqual(['boss@home.example']);
  });
});
