// Declaring the outage from a phone, in local mode end to end: the primary is
// unreachable, a message waits in the forward queue longer than the backlog alarm
// allows, the break-glass admin's link arrives in the SMS and mail outboxes; opening it
// changes nothing, confirming switches failover on as that admin (audited), and the
// same link a second time is refused.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../../lambdas/adapters/local/file-outbox.ts';
import type { NoticeMail } from '../../../lambdas/ports/notice-mailer.ts';
import type { SmsMessage } from '../../../lambdas/ports/sms-sender.ts';
import { localPaths } from '../../../lambdas/wiring/local-data-dir.ts';
import { type LocalProcess, startLocal } from '../../support/local-process.ts';
import { withDataDirStore } from '../../support/local-store.ts';
import { freePort, waitFor } from '../../support/wait.ts';

const ADMIN = 'oncall@corp.test';

describe('declaring the outage with the backlog alarm link (local mode)', () => {
  let dataDir: string;
  let local: LocalProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-declare-'));
    // Nothing listens there: every forward attempt is deferred, the backlog grows.
    const deadPrimary = await freePort();
    local = await startLocal(dataDir, {
      SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${deadPrimary}`,
      SHADOWMAIL_RETRY_BASE_SECONDS: '1',
      SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: '2',
      SHADOWMAIL_BREAK_GLASS_ADMINS: ADMIN,
      SHADOWMAIL_BREAK_GLASS_CONTACTS: `${ADMIN}:+4917012345678:oncall@home.example`,
      SHADOWMAIL_FORWARD_BACKLOG_ALARM_MINUTES: '0.05',
      SHADOWMAIL_BACKLOG_CHECK_SECONDS: '1',
    });
  });

  afterAll(async () => {
    await local?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The flag file as the CLI reads it; none yet means off. */
  const flagFile = async (): Promise<{ on: boolean }> => {
    try {
      return JSON.parse(await readFile(join(dataDir, 'failover.json'), 'utf8')) as { on: boolean };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { on: false };
      throw error;
    }
  };

  it('sends the link, opens it without a change, switches once as the admin, and refuses it after', async () => {
    const paths = localPaths(dataDir);
    const base = `http://127.0.0.1:${local.runtime.httpPort}`;
    const transport = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true });
    await transport.sendMail({ from: 'partner@elsewhere.test', to: 'alice@corp.test', subject: 'waiting', text: 'for Exchange' });
    transport.close();

    const sms = await waitFor(
      'the alarm link in the SMS outbox',
      async () => (await readOutbox<SmsMessage>(paths.smsOutbox)).find((entry) => entry.message.purpose === 'outage-alarm'),
      30_000,
      250,
    );
    expect(sms.message.to).toBe('+4917012345678');
    const url = /(http:\/\/\S+\/declare\?t=[A-Za-z0-9_-]+)/.exec(sms.message.text)?.[1];
    expect(url?.startsWith(`${base}/declare?t=`)).toBe(true);
    const mail = (await readOutbox<NoticeMail>(paths.mailOutbox)).find((entry) => entry.message.purpose === 'outage-alarm');
    expect(mail?.message.to).toBe('oncall@home.example');
    expect(mail?.message.text).toContain(url!);
    // One link per admin and episode: the watcher keeps seeing the backlog, the outbox gets no second SMS.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await readOutbox<SmsMessage>(paths.smsOutbox)).filter((entry) => entry.message.purpose === 'outage-alarm')).toHaveLength(1);

    // A link scanner (or the admin) opens it: the page, and no change.
    const page = await fetch(url!, { headers: { 'accept-language': 'en' } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain(ADMIN);
    expect(html).toMatch(/1 messages are waiting for Exchange\./);
    expect((await flagFile()).on).toBe(false);

    const token = new URL(url!).searchParams.get('t')!;
    const confirm = () =>
      fetch(`${base}/declare`, {
        method: 'POST',
        headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' },
        body: new URLSearchParams({ t: token, message: 'Exchange is down. Use the webmail.' }),
        redirect: 'manual',
      });
    const declared = await confirm();
    expect(declared.status).toBe(200);
    expect(await declared.text()).toContain('Failover is on');
    expect(declared.headers.getSetCookie()).toEqual([]);
    expect(await flagFile()).toMatchObject({
      on: true,
      changedBy: ADMIN,
      reason: 'backlog alarm link',
      message: 'Exchange is down. Use the webmail.',
    });
    // The start page now offers the normal sign-in; the link granted nothing else.
    expect(await (await fetch(`${base}/`, { headers: { 'accept-language': 'en' } })).text()).toContain('/auth/login');

    const again = await confirm();
    expect(again.status).toBe(404);
    expect(await again.text()).toContain('This link is not valid (any more).');

    await withDataDirStore(dataDir, async ({ audit }) => {
      const { events } = await audit.list({
        since: new Date(Date.now() - 3600_000).toISOString(),
        until: new Date(Date.now() + 60_000).toISOString(),
        limit: 50,
      });
      expect(events.map((e) => [e.action, e.actor, e.outcome]).sort()).toEqual(
        [
          ['failover.on', ADMIN, 'denied'],
          ['failover.on', ADMIN, 'ok'],
          ['outage.alarm-link', 'system', 'ok'],
        ].sort(),
      );
      expect(events.find((e) => e.outcome === 'ok' && e.action === 'failover.on')?.details.via).toBe('alarm-link');
    });
  });
});
