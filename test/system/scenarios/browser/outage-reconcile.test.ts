// Back to normal, end to end in local mode: failover is on, alice reads a partner's
// message and replies in Chromium; `shadowmail failover off` reminds the admin of
// reconcile; `shadowmail reconcile --read-state` against a real Dovecot (Exchange's
// stand-in for its mailboxes; the primary sink stands for its SMTP side) puts her reply
// into her Sent folder byte for byte as shadowmail kept it, \Seen, and marks read the
// message she read, which the forward delivered meanwhile.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFailoverFlag } from '../../../../lambdas/adapters/local/file-failover-flag.ts';
import { reconcileCommandLine } from '../../../../lambdas/core/reconcile-reminder.ts';
import { localWebPaths } from '../../../../lambdas/wiring/local-config.ts';
import { localPaths } from '../../../../lambdas/wiring/local-data-dir.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { type Dovecot, startDovecot } from '../../../support/dovecot.ts';
import { runCli } from '../../../support/local-process.ts';
import { type LocalWebmail, replyInBrowser, signIn, startLocalWebmail } from '../../../support/local-webmail.ts';
import { buildMessage } from '../../../support/mail-harness.ts';
import { reconcileArgs } from '../../../support/reconcile-mail.ts';
import { waitFor } from '../../../support/wait.ts';

let stack: LocalWebmail;
let browser: Browser;
let dovecot: Dovecot;
let passwordFile: string;

beforeAll(async () => {
  dovecot = await startDovecot({ domain: 'corp.test' });
  stack = await startLocalWebmail();
  browser = await launchChromium();
  passwordFile = join(stack.dataDir, '..', `${Date.now()}-imap-password`);
  await writeFile(passwordFile, dovecot.servicePassword, { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await dovecot?.stop();
  if (passwordFile) await rm(passwordFile, { force: true });
});

describe('after the outage: what alice did in the webmail reaches Exchange', () => {
  it('failover on → alice replies in Chromium → failover off → reconcile → her reply is in her Sent folder, the message she read is read', async () => {
    // Prepare: a partner's message, relayed to "Exchange" (the sink) and from there into alice's INBOX.
    const messageId = await stack.deliver(
      await buildMessage({
        from: 'Carol Partner <carol@partner.test>',
        to: 'alice@corp.test',
        subject: 'Offer during the outage',
        messageId: '<offer-2@partner.test>',
        text: 'Please confirm today.',
      }),
      ['alice@corp.test'],
    );
    const relayed = await waitFor(
      'the partner message at the primary',
      async () => (await stack.sinkMessages()).find((m) => m.parsed.messageId === '<offer-2@partner.test>'),
      30_000,
      100,
    );
    await dovecot.deliver('alice', relayed.raw);

    // Act: alice replies in the browser.
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await signIn(page, stack.base, 'alice');
    await replyInBrowser(page, stack.base, messageId, 'Confirmed.');
    await context.close();
    // Act: the admin switches failover off and runs the reminded command against "Exchange".
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const { since } = await new FileFailoverFlag(localWebPaths(stack.dataDir).failoverFlag).read();
    const off = await runCli(['failover', 'off', '--data-dir', stack.dataDir], env);
    const reconcile = await runCli(reconcileArgs(dovecot, passwordFile, '--read-state', '--json', '--data-dir', stack.dataDir), env);

    // Assess
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain(reconcileCommandLine({ since, target: { dataDir: stack.dataDir } }));
    expect(reconcile.code, reconcile.stderr).toBe(0);
    expect(JSON.parse(reconcile.stdout).summary).toMatchObject({ appended: 1, markedRead: 1, failed: 0 });
    const { entries } = await stack.index.listMailboxPage('alice@corp.test', { folder: 'sent', limit: 10 }, new Date());
    const record = (await stack.index.getMessage(entries[0]!.sesMessageId, new Date()))!;
    const stored = await readFile(join(localPaths(stack.dataDir).raw, record.raw.bucket, record.raw.key));
    const sentFolder = await dovecot.messages('alice', 'Sent');
    expect(sentFolder).toHaveLength(1);
    expect(sentFolder[0]!.raw.equals(stored)).toBe(true);
    expect(sentFolder[0]!.raw.toString()).toMatch(/^Subject: Re: Offer during the outage\r?$/m);
    expect(sentFolder[0]!.flags).toEqual(['\\Seen']);
    const inbox = await dovecot.messages('alice', 'INBOX');
    expect(inbox.map((m) => m.flags)).toEqual([['\\Seen']]);
  }, 120_000);
});
