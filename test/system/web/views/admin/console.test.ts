// The admin console's first page in real Chromium (issue 16): axe-clean in English and
// German with every part filled, and it reloads itself while open — showing new figures
// and the backlog's trend — until the admin stops it.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvent } from '../../../../../lambdas/core/audit.ts';
import { makeDirectoryUser } from '../../../../../lambdas/core/directory.ts';
import { DEFAULT_RESEND_CONFIG } from '../../../../../lambdas/core/resend.ts';
import type { ForwardBacklogState } from '../../../../../lambdas/ports/forward-backlog.ts';
import type { Identity } from '../../../../../lambdas/ports/sign-in.ts';
import { CONSOLE_REFRESH_SECONDS } from '../../../../../web/routes/admin.ts';
import { type Harness, sessionCookie, startHarness } from '../../../../support/app-under-test.ts';
import { axeViolations } from '../../../../support/axe.ts';
import { launchChromium } from '../../../../support/chromium.ts';
import { makeRecord, putReceived } from '../../../../support/index-contract/fixtures.ts';
import { MemoryRawMailStore } from '../../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../../support/memory-message-index.ts';
import { MemoryAuditLog, MemoryResendJobs, MemoryResendQueue } from '../../../../support/memory-resend.ts';
import { type ServedApp, serveApp } from '../../../../support/serve-app.ts';

const ADMIN: Identity = { subject: 'sub-admin', email: 'admin@corp.test', name: 'Ada Admin', groups: ['shadowmail-admins'] };

let harness: Harness;
let served: ServedApp;
let browser: Browser;
let cookie: string;
const backlog: ForwardBacklogState = { jobs: 12, oldestAgeSeconds: 3_900 };

beforeAll(async () => {
  harness = await startHarness();
  const index = new MemoryMessageIndex();
  const audit = new MemoryAuditLog();
  const record = makeRecord('msg-console-1', { receivedAt: '2030-03-03T10:00:00.000Z', envelopeRecipients: ['bob@corp.test'] });
  await putReceived(index, record);
  await index.recordDeliveryAttempt(
    record.sesMessageId,
    'bob@corp.test',
    { at: '2030-03-03T12:30:00.000Z', code: 421, response: '4.3.2 Service not available', outcome: 'deferred' },
    'deferred',
    '421',
  );
  await harness.switchOn('Use the webmail until noon.');
  await audit.append(auditEvent({ actor: 'alice@corp.test', action: 'signin', details: {} }, new Date('2030-03-03T13:05:30.000Z')));
  await audit.append(auditEvent({ actor: 'cli:root', action: 'directory.sync', details: {} }, new Date('2030-03-03T06:00:00.000Z')));
  const app = harness.makeApp({
    admin: {
      index,
      rawStore: new MemoryRawMailStore(),
      audit,
      clock: harness.clock,
      flag: harness.flag,
      resend: {
        index,
        jobs: new MemoryResendJobs(),
        queue: new MemoryResendQueue(() => harness.clock.now().getTime()),
        audit,
        clock: harness.clock,
        config: DEFAULT_RESEND_CONFIG,
      },
      backlog: { read: async () => ({ ...backlog }) },
      deadLetters: [{ name: 'forward', queue: { depth: async () => ({ waiting: 3, inFlight: 0 }) } }],
      directory: {
        readState: async () => ({
          interrupted: false,
          users: [
            makeDirectoryUser({ id: '1', mailbox: 'alice@corp.test' }),
            makeDirectoryUser({ id: '2', mailbox: 'bob@corp.test', disabled: true }),
          ],
        }),
      },
    },
  });
  served = await serveApp(app);
  browser = await launchChromium();
  cookie = (await sessionCookie(ADMIN, { clock: harness.clock, expiresInSeconds: 8 * 3600 })).cookie;
});
afterAll(async () => {
  await browser?.close();
  await served?.close();
  await harness?.close();
});

async function open(locale: string, path = '/admin'): Promise<Page> {
  const context = await browser.newContext({ locale, extraHTTPHeaders: { 'accept-language': locale } });
  await served.signIn(context, cookie);
  const page = await context.newPage();
  await page.goto(`${served.origin}${path}`, { waitUntil: 'load' });
  return page;
}

describe('admin console first page in Chromium', () => {
  it.each(['en-GB', 'de-DE'])('is axe-clean with every part filled (%s)', async (locale) => {
    // Prepare
    const page = await open(locale);
    // Act
    const violations = await axeViolations(page);
    // Assess
    expect(await page.locator('#console-exchange').isVisible()).toBe(true);
    expect(violations).toEqual([]);
    await page.context().close();
  });

  it('reloads itself while open, with the new figures and the trend, until stopped', {
    timeout: (CONSOLE_REFRESH_SECONDS * 2 + 30) * 1000,
  }, async () => {
    // Prepare
    const page = await open('en-GB');
    expect(await page.locator('#console-backlog').innerText()).toContain('12');
    backlog.jobs = 15;
    // Act: wait for the page's own reload.
    await page.waitForURL(/backlog=12/, { timeout: (CONSOLE_REFRESH_SECONDS + 10) * 1000, waitUntil: 'load' });
    const trend = await page.locator('#console-backlog-trend').innerText();
    await page.getByRole('link', { name: 'Stop reloading' }).click();
    await page.waitForURL(/refresh=off/);
    // Assess
    expect(trend).toBe('3 more');
    expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
    expect(await page.locator('#refresh-note').innerText()).toContain('Reload automatically');
    await page.context().close();
  });
});
