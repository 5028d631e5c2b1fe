// The message frame's height in real Chromium (issue 16): a one-line message gets a frame
// that holds it whole and keeps its attachments on the first screen; a long message keeps
// the tall frame and scrolls inside it.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../../support/chromium.ts';
import { buildMessage, type MailHarness, startMailHarness } from '../../../../support/mail-harness.ts';
import { type ServedApp, serveApp } from '../../../../support/serve-app.ts';

const VIEWPORT = { width: 1280, height: 720 };

let h: MailHarness;
let served: ServedApp;
let browser: Browser;

beforeAll(async () => {
  h = await startMailHarness();
  served = await serveApp(h.app);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await served?.close();
  await h?.close();
});

async function open(id: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-GB' });
  await served.signIn(context, h.cookies.alice);
  const page = await context.newPage();
  await page.goto(`${served.origin}/mail/m/${encodeURIComponent(id)}`, { waitUntil: 'load' });
  return page;
}

/** The frame element's box, and how tall its document is inside (Playwright reaches into the sandboxed frame). */
async function measure(page: Page) {
  const frameBox = await page.locator('iframe.message-frame').boundingBox();
  const attachments =
    (await page.locator('#attachments-heading').count()) > 0 ? await page.locator('#attachments-heading').boundingBox() : null;
  const frame = page.frames().find((candidate) => candidate.url().includes('/body'));
  if (!frame) throw new Error('no message frame');
  await frame.waitForLoadState('load');
  const contentHeight = await frame.evaluate(
    () => (globalThis as unknown as { document: { documentElement: { scrollHeight: number } } }).document.documentElement.scrollHeight,
  );
  return { frameBox: frameBox!, attachments, contentHeight };
}

describe('message frame height', () => {
  it('fits a one-line message: all of it shown, the attachments on the first screen', async () => {
    // Prepare
    const id = await h.deliver(
      await buildMessage({
        from: 'carol@partner.test',
        to: 'alice@corp.test',
        subject: 'Short',
        text: 'See you at 3.',
        attachments: [{ filename: 'agenda.txt', content: 'agenda' }],
      }),
    );
    // Act
    const page = await open(id);
    const { frameBox, attachments, contentHeight } = await measure(page);
    // Assess
    expect(frameBox.height).toBeLessThan(150);
    expect(contentHeight).toBeLessThanOrEqual(Math.ceil(frameBox.height));
    expect(attachments!.y + attachments!.height).toBeLessThan(VIEWPORT.height);
    await page.context().close();
  });

  it('fits a short HTML message as well', async () => {
    // Prepare
    const id = await h.deliver(
      await buildMessage({
        from: 'carol@partner.test',
        to: 'alice@corp.test',
        subject: 'Short HTML',
        html: '<p>Hello Alice,</p><p>see you at <b>3</b>.</p>',
      }),
    );
    // Act
    const page = await open(id);
    const { frameBox, contentHeight } = await measure(page);
    // Assess
    expect(frameBox.height).toBeLessThan(250);
    expect(contentHeight).toBeLessThanOrEqual(Math.ceil(frameBox.height));
    await page.context().close();
  });

  it('keeps the tall frame for a long message, which scrolls inside it', async () => {
    // Prepare
    const id = await h.deliver(
      await buildMessage({
        from: 'carol@partner.test',
        to: 'alice@corp.test',
        subject: 'Long',
        text: Array.from({ length: 120 }, (_, i) => `Line ${i + 1} of the minutes.`).join('\n'),
      }),
    );
    // Act
    const page = await open(id);
    const { frameBox, contentHeight } = await measure(page);
    // Assess
    expect(frameBox.height).toBeGreaterThanOrEqual(Math.floor(VIEWPORT.height * 0.7) - 2);
    expect(contentHeight).toBeGreaterThan(frameBox.height);
    await page.context().close();
  });
});
