// The gate in real Chromium against local mode as `npm start` runs it (child process,
// embedded OIDC provider, flag file, 1 s flag cache configured for the test): sign in
// as alice through the provider's form, reach /mail, sign out through the provider
// (her old cookie then opens nothing), sign in again — then the flag goes off and the next navigation shows the status page
// within the cache time. axe-core checks each page on the way (run through the
// DevTools protocol, which the pages' script-free CSP does not restrict).

import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFailoverFlag } from '../../../../lambdas/adapters/local/file-failover-flag.ts';
import { switchFailover } from '../../../../lambdas/core/failover.ts';
import { systemClock } from '../../../../lambdas/ports/clock.ts';
import { localWebPaths } from '../../../../lambdas/wiring/local-config.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { type LocalProcess, startLocal } from '../../../support/local-process.ts';

const CACHE_SECONDS = 1;
const axeSource = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

let dataDir: string;
let local: LocalProcess;
let browser: Browser;
let flag: FileFailoverFlag;
let base: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-browser-'));
  flag = new FileFailoverFlag(localWebPaths(dataDir).failoverFlag);
  await switchFailover(
    flag,
    { on: true, message: 'Exchange is down. Use this webmail until further notice.', actor: 'cli:test' },
    systemClock,
  );
  local = await startLocal(dataDir, { SHADOWMAIL_FAILOVER_CACHE_SECONDS: String(CACHE_SECONDS), POWERTOOLS_LOG_LEVEL: 'ERROR' });
  base = `http://127.0.0.1:${local.runtime.httpPort}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await local?.kill();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (
      globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; nodes: unknown[] }[] }> } }
    ).axe.run();
    return result.violations.map((violation) => `${violation.id} (${violation.nodes.length})`);
  });
  return violations;
}

async function signInAsAlice(page: Page): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Email address').fill('alice@corp.test');
  await page.getByLabel('Password').fill('alice');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/mail`);
}

describe('sign-in and the failover flag in Chromium', () => {
  it('signs alice in through the local provider, signs her out, and locks her out within the cache time when the flag goes off', async () => {
    // Prepare
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    const a11y: Record<string, string[]> = {};

    // Act 1: the status page, the provider's sign-in form, the mailbox.
    await page.goto(`${base}/`);
    const statusText = await page.locator('main').innerText();
    a11y.status = await axeViolations(page);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Email address').waitFor();
    a11y.providerForm = await axeViolations(page);
    await page.getByLabel('Email address').fill('alice@corp.test');
    await page.getByLabel('Password').fill('alice');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/mail`);
    const mailText = await page.locator('main').innerText();
    a11y.mail = await axeViolations(page);
    const cookies = await context.cookies(base);

    // Act 2: sign out (our POST with CSRF token → provider logout → back to us).
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Yes, sign out' }).click();
    await page.waitForURL(`${base}/`);
    const afterSignOut = await page.locator('body').innerText();
    const mailAfterSignOut = await page.goto(`${base}/mail`);
    const askedForPassword = await page.getByLabel('Password').isVisible();
    // The cookie from before the sign-out, replayed: the server ended that session.
    const old = cookies.find((cookie) => cookie.name === 'shadowmail_session');
    const replay = await fetch(`${base}/mail`, { headers: { cookie: `${old?.name}=${old?.value}` }, redirect: 'manual' });

    // Act 3: sign in again, then the admin switches the flag off.
    await signInAsAlice(page);
    await switchFailover(flag, { on: false, actor: 'cli:test', reason: 'Exchange is back' }, systemClock);
    const switchedAt = Date.now();
    // Navigations that start once the cache time is over must all be refused; earlier
    // ones may still pass. Keep navigating until two have started after that point.
    const deadline = switchedAt + CACHE_SECONDS * 1000 + 50;
    const attempts: { startedAfterMs: number; status: number | undefined }[] = [];
    let lockedText = '';
    while (attempts.filter((attempt) => attempt.startedAfterMs >= deadline - switchedAt).length < 2 && attempts.length < 200) {
      const startedAfterMs = Date.now() - switchedAt;
      const response = await page.goto(`${base}/mail`);
      attempts.push({ startedAfterMs, status: response?.status() });
      if (response?.status() === 403 && !lockedText) lockedText = await page.locator('body').innerText();
      await page.waitForTimeout(25);
    }
    const lockedOutAfterMs = attempts.find((attempt) => attempt.status === 403)?.startedAfterMs ?? -1;
    a11y.locked = await axeViolations(page);

    // Assess
    expect(statusText).toContain('Emergency webmail is open');
    expect(statusText).toContain('Exchange is down. Use this webmail until further notice.');
    expect(mailText).toContain('Signed in as alice@corp.test.');
    const session = cookies.find((cookie) => cookie.name === 'shadowmail_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });
    expect(afterSignOut).not.toContain('alice@corp.test');
    expect(afterSignOut).toContain('Sign in');
    expect(mailAfterSignOut?.url()).not.toBe(`${base}/mail`);
    expect(askedForPassword).toBe(true);
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/auth/login?returnTo=%2Fmail');
    expect(attempts.filter((attempt) => attempt.startedAfterMs >= deadline - switchedAt).map((attempt) => attempt.status)).toEqual([
      403, 403,
    ]);
    expect(lockedOutAfterMs).toBeGreaterThanOrEqual(0);
    expect(lockedOutAfterMs).toBeLessThan(CACHE_SECONDS * 1000 + 50);
    expect(lockedText).toContain('Normal operation');
    expect(lockedText).not.toContain('alice@corp.test');
    expect(cspViolations).toEqual([]);
    expect(a11y).toEqual({ status: [], providerForm: [], mail: [], locked: [] });
    console.info(
      `locked out by the navigation started ${lockedOutAfterMs} ms after the flag went off (cache ${CACHE_SECONDS} s, ${attempts.length} navigations)`,
    );
    await context.close();
  });

  it("shows the status page and the provider's form in German for a German browser", async () => {
    // Prepare
    await switchFailover(flag, { on: true, message: 'Exchange ist ausgefallen.', actor: 'cli:test' }, systemClock);
    const context = await browser.newContext({ locale: 'de-DE' });
    const page = await context.newPage();
    // Act
    let html = '';
    for (let attempt = 0; attempt < 60 && !html.includes('Notfall-Webmail ist geöffnet'); attempt += 1) {
      await page.goto(`${base}/`);
      html = await page.content();
      if (!html.includes('Notfall-Webmail ist geöffnet')) await page.waitForTimeout(100);
    }
    await page.getByRole('link', { name: 'Anmelden' }).click();
    await page.getByLabel('E-Mail-Adresse').waitFor();
    const providerLang = await page.locator('html').getAttribute('lang');
    // Assess
    expect(html).toContain('<html lang="de">');
    expect(html).toContain('Exchange ist ausgefallen.');
    expect(providerLang).toBe('de');
    await context.close();
  });
});
