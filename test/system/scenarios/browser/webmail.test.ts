// The webmail in real Chromium against local mode as `npm start` runs it (child
// process, embedded provider, SQLite store, primary sink), with mail delivered through its
// SMTP listener: alice reads an HTML message (the body in the sandboxed frame, its cid:
// image shown, a remote image blocked until she asks for it), replies (the reply
// reaches the primary sink with the right In-Reply-To), forwards an attachment,
// deletes a message to Deleted; bob cannot open alice's message; and the inbox is
// usable with the keyboard alone.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../support/chromium.ts';
import { type LocalWebmail, replyInBrowser, signIn, startLocalWebmail } from '../../../support/local-webmail.ts';
import { buildMessage, PNG } from '../../../support/mail-harness.ts';
import { waitFor } from '../../../support/wait.ts';

let stack: LocalWebmail;
let browser: Browser;
/** Stands in for the internet: an image server on another port of 127.0.0.1. */
let remote: Server;
let remoteOrigin: string;
const remoteRequests: string[] = [];
const ids: Record<'welcome' | 'contract' | 'obsolete' | 'bobs', string> = { welcome: '', contract: '', obsolete: '', bobs: '' };
const CONTRACT = Buffer.from('Contract text, version 3.\r\nSigned by both parties.\r\n');

beforeAll(async () => {
  remote = createServer((request, response) => {
    remoteRequests.push(request.url ?? '');
    response.writeHead(200, { 'Content-Type': 'image/png' }).end(PNG);
  });
  await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve));
  remoteOrigin = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
  stack = await startLocalWebmail();
  browser = await launchChromium();
  ids.welcome = await stack.deliver(
    await buildMessage({
      from: 'Carol Partner <carol@partner.test>',
      to: 'alice@corp.test',
      subject: 'Welcome pack',
      messageId: '<welcome-1@partner.test>',
      text: 'Welcome! (text part)',
      html: `<h2 id="greeting">Welcome, Alice!</h2><p><img id="logo" alt="logo" width="4" height="3" src="cid:logo@partner.test"></p><p><img id="tracker" alt="tracker" src="${remoteOrigin}/tracker.png"></p>`,
      attachments: [{ filename: 'logo.png', content: PNG, cid: 'logo@partner.test' }],
    }),
    ['alice@corp.test'],
  );
  ids.contract = await stack.deliver(
    await buildMessage({
      from: 'Dan <dan@partner.test>',
      to: 'alice@corp.test',
      subject: 'Contract',
      messageId: '<contract-1@partner.test>',
      text: 'The contract is attached.',
      attachments: [{ filename: 'contract.txt', content: CONTRACT, contentType: 'text/plain' }],
    }),
    ['alice@corp.test'],
  );
  ids.obsolete = await stack.deliver(
    await buildMessage({ from: 'news@partner.test', to: 'alice@corp.test', subject: 'Obsolete newsletter', text: 'Nothing new.' }),
    ['alice@corp.test'],
  );
  ids.bobs = await stack.deliver(
    await buildMessage({ from: 'carol@partner.test', to: 'bob@corp.test', subject: 'For Bob only', text: 'Bob, only you.' }),
    ['bob@corp.test'],
  );
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  remote?.closeAllConnections();
  await new Promise((resolve) => remote?.close(resolve));
});

async function aliceContext(): Promise<{ context: BrowserContext; page: Page; consoleErrors: string[] }> {
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    // (Chromium asks every origin for /favicon.ico by itself; the app has none.)
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico'))
      consoleErrors.push(`${message.text()} ${message.location().url}`);
  });
  await signIn(page, stack.base, 'alice');
  return { context, page, consoleErrors };
}

function messageFrame(page: Page) {
  const frame = page.frames().find((candidate) => /\/mail\/m\/[^/]+\/body/.test(candidate.url()));
  if (!frame)
    throw new Error(
      `no message frame among ${page
        .frames()
        .map((f) => f.url())
        .join(', ')}`,
    );
  return frame;
}

describe('reading', () => {
  it('shows the HTML body in the frame with its cid: image, blocks the remote image until asked, and marks the message read', async () => {
    // Prepare
    const { context, page, consoleErrors } = await aliceContext();

    // Act 1: from the inbox to the message.
    const unreadBefore = await page.locator('li.unread a', { hasText: 'Welcome pack' }).count();
    await page.getByRole('link', { name: /Welcome pack/ }).click();
    await page.waitForURL(`${stack.base}/mail/m/${ids.welcome}`);
    await page.waitForLoadState('load');
    const frame = messageFrame(page);
    const greeting = await frame.locator('#greeting').textContent();
    const logoWidth = await frame.locator('#logo').evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth);
    const trackerInFrame = await frame.locator('#tracker').count();
    const trackerSrc = trackerInFrame > 0 ? await frame.locator('#tracker').getAttribute('src') : null;
    const requestsWhileBlocked = remoteRequests.length;

    // Act 2: "show remote images".
    await page.getByRole('link', { name: 'Show remote images' }).click();
    await page.waitForURL(`${stack.base}/mail/m/${ids.welcome}?remote=1`);
    await page.waitForLoadState('load');
    await waitFor('the remote image request', async () => (remoteRequests.length > requestsWhileBlocked ? true : undefined), 5_000, 50);
    const trackerWidth = await messageFrame(page)
      .locator('#tracker')
      .evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth);
    await page.goto(`${stack.base}/mail`);
    const unreadAfter = await page.locator('li.unread a', { hasText: 'Welcome pack' }).count();
    await context.close();

    // Assess
    expect(unreadBefore).toBe(1);
    expect(greeting).toBe('Welcome, Alice!');
    expect(logoWidth).toBe(4);
    expect(trackerSrc).toBeNull();
    expect(requestsWhileBlocked).toBe(0);
    expect(remoteRequests).toEqual(['/tracker.png']);
    expect(trackerWidth).toBe(4);
    expect(unreadAfter).toBe(0);
    expect(consoleErrors).toEqual([]);
  });
});

describe('writing', () => {
  it('replies: the reply reaches the primary sink from alice with In-Reply-To and References, and shows in Sent', async () => {
    // Prepare
    const { context, page } = await aliceContext();

    // Act
    await replyInBrowser(page, stack.base, ids.welcome, 'Thank you, Carol!');
    const notice = await page.getByRole('status').innerText();
    const sentRow = await page.locator('ul.message-list li').first().innerText();
    const reply = await waitFor(
      'the reply at the sink',
      async () => (await stack.sinkMessages()).find((message) => message.parsed.subject === 'Re: Welcome pack'),
      15_000,
      100,
    );
    await context.close();

    // Assess
    expect(notice).toBe('Your message was sent.');
    expect(sentRow).toContain('Re: Welcome pack');
    expect(reply.recipients).toEqual(['carol@partner.test']);
    expect(reply.parsed.from?.value).toEqual([{ name: 'Alice Example', address: 'alice@corp.test' }]);
    expect(reply.parsed.inReplyTo).toBe('<welcome-1@partner.test>');
    expect(reply.parsed.references).toBe('<welcome-1@partner.test>');
    expect(reply.parsed.text).toMatch(/^Thank you, Carol!\n\nOn .+ Carol Partner <carol@partner.test> wrote:\n> Welcome! \(text part\)/);
  });

  it('forwards a message with its attachment', async () => {
    // Prepare
    const { context, page } = await aliceContext();
    await page.goto(`${stack.base}/mail/m/${ids.contract}`);

    // Act
    await page.getByRole('link', { name: 'Forward' }).click();
    await page.getByLabel('To', { exact: true }).fill('Lawyer <lawyer@partner.test>');
    const kept = await page.getByRole('checkbox', { name: /contract\.txt/ }).isChecked();
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(`${stack.base}/mail/sent?done=sent`);
    const forward = await waitFor(
      'the forward at the sink',
      async () => (await stack.sinkMessages()).find((message) => message.parsed.subject === 'Fwd: Contract'),
      15_000,
      100,
    );
    await context.close();

    // Assess
    expect(kept).toBe(true);
    expect(forward.recipients).toEqual(['lawyer@partner.test']);
    expect(forward.parsed.attachments.map((attachment) => attachment.filename)).toEqual(['contract.txt']);
    expect(forward.parsed.attachments[0]!.content.equals(CONTRACT)).toBe(true);
    expect(forward.parsed.text).toContain('-------- Forwarded Message --------');
  });

  it('deletes a message to Deleted, saying that Exchange keeps it', async () => {
    // Prepare
    const { context, page } = await aliceContext();
    await page.goto(`${stack.base}/mail/m/${ids.obsolete}`);
    const note = await page.locator('#delete-note').innerText();

    // Act
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(`${stack.base}/mail?done=deleted`);
    const notice = await page.getByRole('status').innerText();
    const stillInInbox = await page.getByRole('link', { name: /Obsolete newsletter/ }).count();
    await page.getByRole('link', { name: 'Open Deleted' }).click();
    await page.waitForURL(`${stack.base}/mail/deleted`);
    const inDeleted = await page.getByRole('link', { name: /Obsolete newsletter/ }).count();
    await context.close();

    // Assess
    expect(note).toContain('It is not deleted in Exchange');
    expect(notice).toContain('The message was moved to Deleted. It is not deleted in Exchange');
    expect(stillInInbox).toBe(0);
    expect(inDeleted).toBe(1);
  });
});

describe('authorization', () => {
  it("does not let bob open alice's message, its body or its attachment (404), while his own opens", async () => {
    // Prepare
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await signIn(page, stack.base, 'bob');

    // Act
    const statuses: number[] = [];
    for (const path of [
      `/mail/m/${ids.contract}`,
      `/mail/m/${ids.contract}/body`,
      `/mail/m/${ids.contract}/a/0`,
      `/mail/m/${ids.contract}/forward`,
    ]) {
      statuses.push((await page.goto(`${stack.base}${path}`))?.status() ?? 0);
    }
    const text = await page.locator('body').innerText();
    const own = (await page.goto(`${stack.base}/mail/m/${ids.bobs}`))?.status();
    await context.close();

    // Assess
    expect(statuses).toEqual([404, 404, 404, 404]);
    expect(text).toContain('Not found');
    expect(text).not.toContain('Contract');
    expect(own).toBe(200);
  });
});

describe('keyboard', () => {
  it('reaches the first message link by tabbing from the top, in a visible order, and opens it with Enter', async () => {
    // Prepare
    const { context, page } = await aliceContext();
    await page.goto(`${stack.base}/mail`);
    const firstHref = await page.locator('ul.message-list a').first().getAttribute('href');

    // Act
    const visited: string[] = [];
    let outline = '';
    for (let presses = 0; presses < 25; presses++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = (
          globalThis as unknown as {
            document: { activeElement: { tagName: string; textContent: string | null; getAttribute(name: string): string | null } | null };
          }
        ).document.activeElement;
        return {
          tag: element?.tagName ?? '',
          text: (element?.textContent ?? '').trim().slice(0, 30),
          href: element?.getAttribute('href') ?? null,
        };
      });
      visited.push(`${focused.tag}:${focused.text}`);
      if (focused.href === firstHref) {
        outline = await page
          .locator('ul.message-list a')
          .first()
          .evaluate(
            (element) =>
              (globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string } }).getComputedStyle(element).outlineStyle,
          );
        break;
      }
    }
    await page.keyboard.press('Enter');
    await page.waitForURL(`${stack.base}${firstHref}`);
    await context.close();

    // Assess: skip link first, then header, folders, sign-out, search, the list.
    expect(visited[0]).toBe('A:Skip to content');
    expect(visited.slice(1, 6).map((step) => step.split(':')[1])).toEqual([
      'ShadowmailEmergency webmail',
      'Inbox',
      'Sent',
      'Deleted',
      'New message',
    ]);
    expect(visited).toContain('BUTTON:Sign out');
    expect(visited).toContain('INPUT:');
    expect(visited.length).toBeLessThan(15);
    expect(outline).toBe('solid');
  });
});
