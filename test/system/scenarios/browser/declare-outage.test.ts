// Declaring the outage from a phone in real Chromium against local mode: the backlog
// alarm's link from the SMS outbox opens on a phone viewport (axe finds no violation,
// in English and German; nothing scrolls sideways), the admin types a message and taps
// "Switch failover on", the flag is on and the start page offers sign-in, no cookie was
// set; the same link again shows "not valid (any more)".
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFailoverFlag } from '../../../../lambdas/adapters/local/file-failover-flag.ts';
import { readOutbox } from '../../../../lambdas/adapters/local/file-outbox.ts';
import type { SmsMessage } from '../../../../lambdas/ports/sms-sender.ts';
import { localWebPaths } from '../../../../lambdas/wiring/local-config.ts';
import { localPaths } from '../../../../lambdas/wiring/local-data-dir.ts';
import { axeViolations } from '../../../support/axe.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { type LocalProcess, startLocal } from '../../../support/local-process.ts';
import { freePort, waitFor } from '../../../support/wait.ts';

const ADMIN = 'ops-admin@private.example';
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 };

let dataDir: string;
let local: LocalProcess;
let browser: Browser;
let link: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-declare-browser-'));
  [local, browser] = await Promise.all([
    startLocal(
      dataDir,
      {
        SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${await freePort()}`,
        SHADOWMAIL_RETRY_BASE_SECONDS: '1',
        SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: '2',
        SHADOWMAIL_BREAK_GLASS_ADMINS: ADMIN,
        SHADOWMAIL_BREAK_GLASS_CONTACTS: `${ADMIN}:+4915550000099`,
        SHADOWMAIL_FORWARD_BACKLOG_ALARM_MINUTES: '0.05',
        SHADOWMAIL_BACKLOG_CHECK_SECONDS: '1',
      },
      60_000,
    ),
    launchChromium(),
  ]);
  const transport = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true });
  await transport.sendMail({ from: 'partner@elsewhere.test', to: 'alice@corp.test', subject: 'waiting', text: 'for Exchange' });
  transport.close();
  const sms = await waitFor(
    'the alarm link in the SMS outbox',
    async () => (await readOutbox<SmsMessage>(localPaths(dataDir).smsOutbox)).find((entry) => entry.message.purpose === 'outage-alarm'),
    30_000,
    250,
  );
  link = /(http:\/\/\S+\/declare\?t=[A-Za-z0-9_-]+)/.exec(sms.message.text)![1]!;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await local?.kill();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function sidewaysScroll(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document
      .documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

describe('the backlog alarm link on a phone', () => {
  it('reads well in German too, without switching anything', async () => {
    const context = await browser.newContext({ locale: 'de-DE', ...PHONE });
    const page = await context.newPage();
    await page.goto(link);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Notbetrieb einschalten?');
    expect(await axeViolations(page)).toEqual([]);
    expect(await sidewaysScroll(page)).toBeLessThanOrEqual(0);
    await context.close();
    expect((await new FileFailoverFlag(localWebPaths(dataDir).failoverFlag).read()).on).toBe(false);
  });

  it('switches failover on once, as the admin, and refuses the link after', async () => {
    const context = await browser.newContext({ locale: 'en-GB', ...PHONE });
    const page = await context.newPage();
    await page.goto(link);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Switch failover on?');
    expect(await page.locator('#declare-intro').textContent()).toContain(ADMIN);
    expect(await axeViolations(page)).toEqual([]);
    expect(await sidewaysScroll(page)).toBeLessThanOrEqual(0);

    await page.getByLabel('Message to staff (optional, shown on the start page)').fill('Exchange is down. Read your mail here.');
    await page.getByRole('button', { name: 'Switch failover on' }).click();
    await page.waitForLoadState('load');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Failover is on');
    expect(await axeViolations(page)).toEqual([]);
    expect(await new FileFailoverFlag(localWebPaths(dataDir).failoverFlag).read()).toMatchObject({
      on: true,
      changedBy: ADMIN,
      message: 'Exchange is down. Read your mail here.',
    });
    expect(await context.cookies()).toEqual([]);

    await page.getByRole('link', { name: 'To the webmail and sign-in' }).click();
    await page.waitForLoadState('load');
    expect(await page.content()).toContain('/auth/login');

    await page.goto(link);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Link not valid');
    expect(await page.content()).toContain('This link is not valid (any more).');
    await context.close();
  });
});
