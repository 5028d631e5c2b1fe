// The outage with AD FS gone too, in real Chromium against local mode as `npm start`
// runs it: `shadowmail idp down` takes the company sign-in away; alice asks for a code
// by text message, reads it from the SMS outbox and reads her mail; a wrong code and a
// used code are refused; with the flag off the code path is refused; a disabled user
// gets no code (the outbox stays as it was); an admin enrolled with
// `shadowmail breakglass admin-setup` signs in with password + TOTP — with the flag off
// — and opens the console.
import { TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFailoverFlag } from '../../../../lambdas/adapters/local/file-failover-flag.ts';
import { readOutbox } from '../../../../lambdas/adapters/local/file-outbox.ts';
import { makeDirectoryUser, syncDirectory } from '../../../../lambdas/core/directory.ts';
import { switchFailover } from '../../../../lambdas/core/failover.ts';
import { systemClock } from '../../../../lambdas/ports/clock.ts';
import type { SmsMessage } from '../../../../lambdas/ports/sms-sender.ts';
import { localWebPaths } from '../../../../lambdas/wiring/local-config.ts';
import { localPaths } from '../../../../lambdas/wiring/local-data-dir.ts';
import { axeViolations } from '../../../support/axe.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { runCli } from '../../../support/cli-run.ts';
import { openDataDirStore } from '../../../support/local-store.ts';
import { type LocalWebmail, startLocalWebmail } from '../../../support/local-webmail.ts';
import { buildMessage } from '../../../support/mail-harness.ts';

const ADMIN = 'ops-admin@private.test';

let stack: LocalWebmail;
let browser: Browser;
let flag: FileFailoverFlag;
let admin: { password: string; uri: string };

beforeAll(async () => {
  stack = await startLocalWebmail({ SHADOWMAIL_BREAK_GLASS_ADMINS: ADMIN, SHADOWMAIL_FAILOVER_CACHE_SECONDS: '1' });
  flag = new FileFailoverFlag(localWebPaths(stack.dataDir).failoverFlag);
  browser = await launchChromium();
  await stack.deliver(
    await buildMessage({ from: 'partner@partner.test', to: 'alice@corp.test', subject: 'Delivery schedule', text: 'Tuesday, 9:00.' }),
    ['alice@corp.test'],
  );
  // carol: a directory user with a number, but disabled (as a directory import would leave her).
  const store = openDataDirStore(stack.dataDir);
  const { directory } = store;
  const { users } = await directory.readState();
  const carol = makeDirectoryUser({ id: 'carol-id', mailbox: 'carol@corp.test', disabled: true, mobile: '+4915550000009' });
  await syncDirectory({ description: 'test', readAll: async () => ({ users: [...users, carol], warnings: [] }) }, directory, {
    owner: 'test',
    now: () => new Date(),
  });
  store.close();
  expect((await runCli('idp', 'down', '--data-dir', stack.dataDir)).code).toBe(0);
  const enrolled = await runCli('breakglass', 'admin-setup', ADMIN, '--data-dir', stack.dataDir);
  admin = { password: /^password\s+(\S+)$/m.exec(enrolled.out)![1]!, uri: /^authenticator\s+(\S+)$/m.exec(enrolled.out)![1]! };
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const outbox = () => readOutbox<SmsMessage>(localPaths(stack.dataDir).smsOutbox);

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-GB' });
  return { context, page: await context.newPage() };
}

/** From the webmail's sign-in to the provider's code form; asks for a code for `email`. */
async function askForCode(page: Page, email: string, returnTo = '/mail'): Promise<string> {
  await page.goto(`${stack.base}/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
  await page.getByRole('link', { name: 'Sign in with a code by text message' }).click();
  await page.getByLabel('Work e-mail address').fill(email);
  await page.getByRole('button', { name: 'Send code' }).click();
  return page.locator('main').innerText();
}

async function enterCode(page: Page, code: string): Promise<void> {
  await page.getByLabel('Code from the text message').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const lastCodeTo = async (to: string) => {
  const message = (await outbox()).filter((entry) => entry.message.to === to).at(-1)?.message;
  return /\b(\d{6})\b/.exec(message?.text ?? '')?.[1] ?? '';
};

describe('break-glass sign-in in Chromium with AD FS down', () => {
  it('offers no company sign-in while AD FS is down; alice signs in with the code from the outbox and reads her mail', async () => {
    // Prepare
    const { context, page } = await newPage();
    // Act
    await page.goto(`${stack.base}/auth/login?returnTo=%2Fmail`);
    const providerPage = await page.locator('main').innerText();
    const passwordFields = await page.locator('input[type=password]').count();
    const a11y: Record<string, string[]> = { providerPage: await axeViolations(page) };
    const asked = await askForCode(page, 'alice@corp.test');
    a11y.codeEntry = await axeViolations(page);
    const sms = (await outbox()).at(-1)?.message;
    await enterCode(page, await lastCodeTo('+4915550000001'));
    await page.waitForURL(`${stack.base}/mail`);
    const inbox = await page.locator('main').innerText();
    // Assess
    expect(providerPage).toContain('Your company sign-in is unavailable');
    expect(passwordFields).toBe(0);
    expect(asked).toContain('If this address may sign in, a code is on its way.');
    expect(sms).toMatchObject({ to: '+4915550000001', purpose: 'sign-in-code' });
    expect(inbox).toContain('Delivery schedule');
    expect(a11y).toEqual({ providerPage: [], codeEntry: [] });
    await context.close();
  });

  it('refuses a wrong code, takes the right one, and refuses it when used again', async () => {
    // Prepare
    const { context, page } = await newPage();
    await askForCode(page, 'bob@corp.test');
    const code = await lastCodeTo('+4915550000002');
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    // Act
    await enterCode(page, wrong);
    const afterWrong = await page.locator('main').innerText();
    const wrongA11y = await axeViolations(page);
    await enterCode(page, code);
    await page.waitForURL(`${stack.base}/mail`);
    // The same code in another browser's sign-in (the form posted as a browser would).
    const other = await newPage();
    await other.page.goto(`${stack.base}/auth/login?returnTo=%2Fmail`);
    const interaction = new URL(other.page.url());
    const reused = await other.context.request.post(`${interaction.origin}${interaction.pathname}/code/verify`, {
      form: { email: 'bob@corp.test', code },
      maxRedirects: 0,
    });
    // Assess
    expect(afterWrong).toContain('The code is wrong or no longer valid.');
    expect(wrongA11y).toEqual([]);
    expect(reused.status()).toBe(401);
    expect(await reused.text()).toContain('The code is wrong or no longer valid.');
    await other.context.close();
    await context.close();
  });

  it('sends a disabled user no code, with the same answer as anyone', async () => {
    // Prepare
    const { context, page } = await newPage();
    const before = (await outbox()).length;
    // Act
    const asked = await askForCode(page, 'carol@corp.test');
    // Assess
    expect(asked).toContain('If this address may sign in, a code is on its way.');
    expect((await outbox()).length).toBe(before);
    await context.close();
  });

  it('refuses the code path while the flag is off; an admin still signs in with password + TOTP and opens the console', async () => {
    // Prepare
    await switchFailover(flag, { on: false, actor: 'cli:test', reason: 'drill' }, systemClock);
    const before = (await outbox()).length;
    const { context, page } = await newPage();
    // Act
    const refused = await askForCode(page, 'admin@corp.test', '/admin');
    await page.goto(`${stack.base}/auth/login?returnTo=%2Fadmin`);
    await page.getByRole('link', { name: 'Administrator sign-in' }).click();
    const adminFormA11y = await axeViolations(page);
    await page.getByLabel('Administrator account').fill(ADMIN);
    await page.getByLabel('Password').fill(admin.password);
    await page
      .getByLabel('Code from the authenticator app')
      .fill(new TOTP({ secret: new URL(admin.uri).searchParams.get('secret')! }).generate());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.base}/admin`);
    const adminPage = await page.locator('body').innerText();
    // Assess
    expect(refused).toContain('Sign-in by code is available only during an outage.');
    expect((await outbox()).length).toBe(before);
    expect(adminFormA11y).toEqual([]);
    expect(adminPage).toContain('Failover switch');
    expect(adminPage).toContain(`Signed in as ${ADMIN}`);
    await context.close();
    await switchFailover(flag, { on: true, message: 'Exchange is down.', actor: 'cli:test' }, systemClock);
  });
});
