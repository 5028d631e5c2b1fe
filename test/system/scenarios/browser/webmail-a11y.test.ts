// Accessibility of every webmail page in real Chromium against local mode: axe-core
// finds no violation on the status page, Inbox, a message, the compose form (empty
// and with validation errors), the upload page and a saved draft, Sent and Deleted —
// in English and German, on a desktop and on a phone viewport (390×844), where no page
// may scroll sideways either. axe runs through the DevTools protocol (page.evaluate),
// which the pages' CSP does not restrict, so the pages are checked under their real
// policy. The message's own HTML in the sandboxed frame is the sender's, not ours: axe
// skips the frame's inside (iframes: false) but checks the frame element itself (title).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations } from '../../../support/axe.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { type LocalWebmail, signIn, startLocalWebmail } from '../../../support/local-webmail.ts';
import { buildMessage, PNG } from '../../../support/mail-harness.ts';

let stack: LocalWebmail;
let browser: Browser;
let messageId: string;

beforeAll(async () => {
  stack = await startLocalWebmail();
  browser = await launchChromium();
  messageId = await stack.deliver(
    await buildMessage({
      from: 'Carol Partner <carol@partner.test>',
      to: 'alice@corp.test',
      cc: 'dan@partner.test',
      subject: 'Quarterly numbers with a rather long subject line that has to wrap on a small phone screen',
      text: 'The numbers are attached.',
      html: '<p>The numbers are <b>attached</b>.</p><img alt="logo" src="cid:logo@x"><img alt="remote" src="https://tracker.example/p.png">',
      attachments: [
        { filename: 'logo.png', content: PNG, cid: 'logo@x' },
        {
          filename: 'Quartalszahlen_2030_Q1_endgültige_Fassung_mit_Anmerkungen.pdf',
          content: Buffer.from('%PDF-1.4 x'),
          contentType: 'application/pdf',
        },
      ],
    }),
    ['alice@corp.test'],
  );
  const deleted = await stack.deliver(
    await buildMessage({ from: 'news@partner.test', to: 'alice@corp.test', subject: 'Old newsletter', text: 'x' }),
    ['alice@corp.test'],
  );
  // One message in Sent and one in Deleted, made the way a user makes them.
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  await signIn(page, stack.base, 'alice');
  await page.goto(`${stack.base}/mail/compose`);
  await page.getByLabel('To', { exact: true }).fill('bob@corp.test');
  await page.getByLabel('Subject').fill('Lunch on Friday?');
  await page.getByLabel('Message').fill('Shall we?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL(`${stack.base}/mail/sent?done=sent`);
  await page.goto(`${stack.base}/mail/m/${deleted}`);
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(/done=deleted/);
  await context.close();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function sidewaysScroll(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document
      .documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
};

describe.each([
  ['en-GB', 'desktop'],
  ['de-DE', 'desktop'],
  ['en-GB', 'phone'],
  ['de-DE', 'phone'],
] as const)('every page in %s on a %s', (locale, viewport) => {
  it('has no axe violation and does not scroll sideways', async () => {
    // Prepare
    const context = await browser.newContext({
      locale,
      viewport: VIEWPORTS[viewport],
      ...(viewport === 'phone' && { isMobile: true, hasTouch: true, deviceScaleFactor: 3 }),
    });
    const page = await context.newPage();
    const report: Record<string, { violations: string[]; sideways: number }> = {};
    const check = async (name: string) => {
      await page.waitForLoadState('load');
      report[name] = { violations: await axeViolations(page), sideways: await sidewaysScroll(page) };
    };

    // Act
    await page.goto(`${stack.base}/`);
    await check('status');
    await signIn(page, stack.base, 'alice');
    await check('inbox');
    await page.goto(`${stack.base}/mail/m/${messageId}`);
    await check('message');
    await page.goto(`${stack.base}/mail/m/${messageId}/forward`);
    await check('forward');
    await page.goto(`${stack.base}/mail/compose`);
    await check('compose');
    await page.locator('button[type=submit]', { hasText: locale === 'de-DE' ? 'Senden' : 'Send' }).click();
    await page.waitForLoadState('load');
    await check('compose with errors');
    await page.locator('button[type=submit]', { hasText: locale === 'de-DE' ? 'Datei anhängen' : 'Attach a file' }).click();
    await page.waitForURL(/\/mail\/drafts\/[^/]+\/attach$/);
    await check('attach');
    await page.locator('.actions a').click();
    await page.waitForURL(/\/mail\/drafts\/[^/]+$/);
    await check('saved draft');
    await page.goto(`${stack.base}/mail/sent`);
    await check('sent');
    await page.goto(`${stack.base}/mail/deleted`);
    await check('deleted');
    await page.goto(`${stack.base}/mail?q=nothing-matches-this`);
    await check('empty search');
    const lang = await page.locator('html').getAttribute('lang');
    // Control: the detector does detect (an image without alt text, added for the check).
    await page.evaluate(() => {
      const document = (
        globalThis as unknown as { document: { createElement(tag: string): { src: string }; body: { append(node: unknown): void } } }
      ).document;
      const image = document.createElement('img');
      image.src = '/static/none.png';
      document.body.append(image);
    });
    const control = await axeViolations(page);
    await context.close();

    // Assess
    expect(lang).toBe(locale.slice(0, 2));
    expect(control.map((violation) => violation.split(':')[0])).toContain('image-alt');
    expect(Object.keys(report)).toHaveLength(11);
    for (const [name, result] of Object.entries(report)) {
      expect(result.violations, `${name} (${locale}, ${viewport})`).toEqual([]);
      expect(result.sideways, `${name} scrolls sideways (${locale}, ${viewport})`).toBeLessThanOrEqual(0);
    }
  });
});
