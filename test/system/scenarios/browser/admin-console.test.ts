// The admin console's first page in local mode as `npm start` runs it (issue 16): mail
// delivered through the SMTP listener reaches the primary sink, and the page an admin
// opens from the inbox shows Exchange accepting it, the empty backlog, the failover with
// the admin's own sign-in counted, and the way back to the inbox.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations } from '../../../support/axe.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { type LocalWebmail, signIn, startLocalWebmail } from '../../../support/local-webmail.ts';
import { buildMessage } from '../../../support/mail-harness.ts';
import { waitFor } from '../../../support/wait.ts';

let stack: LocalWebmail;
let browser: Browser;

beforeAll(async () => {
  stack = await startLocalWebmail();
  browser = await launchChromium();
  const id = await stack.deliver(
    await buildMessage({ from: 'carol@partner.test', to: 'alice@corp.test', subject: 'Hello', text: 'One line.' }),
    ['alice@corp.test'],
  );
  // The forward took it to the primary sink and recorded the accepted attempt.
  await waitFor('the delivery to the primary', async () => {
    const states = await stack.index.getDeliveryStates(id, new Date());
    return states.length > 0 && states.every((state) => state.state === 'delivered') ? true : undefined;
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('admin console first page (local mode)', () => {
  it('shows what the forward knows, the backlog, the failover and the sign-in, and links inbox and console both ways', async () => {
    // Prepare
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await signIn(page, stack.base, 'admin');
    // Act
    await page.getByRole('link', { name: 'Admin console' }).click();
    await page.waitForURL(`${stack.base}/admin`);
    const exchange = await page.locator('#console-exchange').innerText();
    const failover = await page.locator('#console-failover').innerText();
    const violations = await axeViolations(page);
    await page.getByRole('link', { name: 'Your mailbox' }).click();
    // Assess
    expect(exchange).toContain('Exchange accepts mail.');
    expect(exchange).toMatch(/Last accepted delivery\s+\d+ \w+ \d{4} at \d\d:\d\d/);
    expect(exchange).toMatch(/Messages waiting for Exchange\s+0/);
    expect(failover).toContain('Failover is ON');
    expect(failover).toContain('People signed in during this failover: 1.');
    expect(violations).toEqual([]);
    await page.waitForURL(`${stack.base}/mail`);
    await context.close();
  });
});
