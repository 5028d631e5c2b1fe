// The admin console's failover page with notices: the preview (the dry run, masked), the
// "notify staff" checkbox, the round sent after the switch with its counts and audit
// entry, and the refusal of a round too long for a web request — through app.request().
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { DEFAULT_RESEND_CONFIG } from '../../../../lambdas/core/resend.ts';
import type { NoticeMail } from '../../../../lambdas/ports/notice-mailer.ts';
import type { Identity } from '../../../../lambdas/ports/sign-in.ts';
import type { SmsMessage } from '../../../../lambdas/ports/sms-sender.ts';
import type { AdminDeps, AdminNotices } from '../../../../web/routes/admin.ts';
import { type Harness, ORIGIN, sessionCookie, startHarness } from '../../../support/app-under-test.ts';
import { MemoryRawMailStore } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemoryAuditLog, MemoryResendJobs, MemoryResendQueue } from '../../../support/memory-resend.ts';

const ADMIN: Identity = { subject: 'sub-admin', email: 'admin@corp.test', name: 'Ada Admin', groups: ['shadowmail-admins'] };
const USERS = [
  makeDirectoryUser({ id: '1', mailbox: 'alice@corp.test', mobile: '+4917012345678', privateEmail: 'alice.home@example.net' }),
  makeDirectoryUser({ id: '2', mailbox: 'bob@corp.test', mobile: '+4917011111111' }),
  makeDirectoryUser({ id: '3', mailbox: 'dave@corp.test' }),
];

describe('admin console: failover notices', () => {
  let harness: Harness;
  let audit: MemoryAuditLog;
  let sms: SmsMessage[];
  let mails: NoticeMail[];
  let notices: AdminNotices;
  let app: ReturnType<Harness['makeApp']>;

  beforeEach(async () => {
    harness = await startHarness();
    audit = new MemoryAuditLog();
    sms = [];
    mails = [];
    const index = new MemoryMessageIndex();
    notices = {
      settings: {
        channels: { sms: true, email: true },
        webmailUrl: 'https://mail.corp.test/',
        mailDomains: ['corp.test'],
        rates: { smsPartsPerSecond: 100, mailsPerSecond: 100 },
      },
      parts: {
        directory: { readState: async () => ({ users: USERS, interrupted: false }) },
        sms: { send: async (message) => void sms.push(message) },
        mailer: { send: async (mail) => void mails.push(mail) },
      },
    };
    const admin: AdminDeps = {
      index,
      rawStore: new MemoryRawMailStore(),
      audit,
      clock: harness.clock,
      flag: harness.flag,
      resend: {
        index,
        jobs: new MemoryResendJobs(),
        queue: new MemoryResendQueue(() => 0),
        audit,
        clock: harness.clock,
        config: DEFAULT_RESEND_CONFIG,
      },
      notices,
    };
    app = harness.makeApp({ admin });
    await harness.switchOff();
  });
  afterEach(async () => harness.close());

  async function asAdmin() {
    const { cookie, session } = await sessionCookie(ADMIN, { clock: harness.clock });
    return {
      get: (path: string) => app.request(`${ORIGIN}${path}`, { headers: { cookie } }),
      post: (path: string, fields: Record<string, string>) =>
        app.request(`${ORIGIN}${path}`, {
          method: 'POST',
          body: new URLSearchParams({ _csrf: session.csrf, ...fields }),
          headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
        }),
    };
  }

  it('previews who switching on would notify, masked, with the texts and the checkbox', async () => {
    const page = await (await (await asAdmin()).get('/admin/failover')).text();
    expect(page).toContain('id="failover-notify"');
    expect(page).toContain('id="failover-notice-preview"');
    expect(page).toContain('+49•••••5678');
    expect(page).toContain('a•••@example.net');
    expect(page).not.toContain('+4917012345678');
    expect(page).not.toContain('alice.home@example.net');
    expect(page).toContain('https://mail.corp.test/');
    expect(page).toMatch(/2 SMS, 1 mails; 1 users have no number or private address/);
    expect(sms).toEqual([]);
  });

  it('switches on and notifies when the box is ticked: counts on the page, one notice.send in the audit log', async () => {
    const admin = await asAdmin();
    const response = await admin.post('/admin/failover', { on: '1', message: 'Back by noon.', reason: 'outage', notify: '1' });
    const page = await response.text();
    expect(response.status).toBe(200);
    expect(page).toMatch(/Notices sent: 2 SMS, 1 mails; 0 failed, 1 skipped/);
    expect((await harness.flag.read()).on).toBe(true);
    expect(sms.map((m) => m.to)).toEqual(['+4917012345678', '+4917011111111']);
    expect(sms[0]!.text).toContain('Back by noon.');
    expect(mails.map((m) => m.to)).toEqual(['alice.home@example.net']);
    expect(audit.events.map((e) => [e.action, e.actor])).toEqual([
      ['failover.on', 'admin@corp.test'],
      ['notice.send', 'admin@corp.test'],
    ]);
  });

  it('switches without notifying when the box is not ticked', async () => {
    const response = await (await asAdmin()).post('/admin/failover', { on: '1', reason: 'outage' });
    expect(response.status).toBe(303);
    expect((await harness.flag.read()).on).toBe(true);
    expect([sms, mails]).toEqual([[], []]);
  });

  it('refuses a round longer than a web request may take, before switching, and points to the CLI', async () => {
    notices.settings.rates = { smsPartsPerSecond: 0.1, mailsPerSecond: 100 };
    const response = await (await asAdmin()).post('/admin/failover', { on: '1', reason: 'outage', notify: '1' });
    const page = await response.text();
    expect(response.status).toBe(400);
    expect(page).toMatch(/nothing was switched/);
    expect(page).toContain('shadowmail failover on --notify --stack');
    expect((await harness.flag.read()).on).toBe(false);
    expect(sms).toEqual([]);
  });
});
