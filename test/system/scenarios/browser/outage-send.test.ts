// Staff answer mail while Exchange is down: local mode with its primary unreachable
// (nothing listens on SHADOWMAIL_PRIMARY's port) and SHADOWMAIL_OUTBOUND, the stand-in
// for SES sending, pointing at a sink. Alice reads a message that could not be relayed
// and replies in Chromium; the reply leaves at once, independent of the primary (as SES
// sends it in AWS), while the received message stays deferred for Exchange.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SmtpSink, startSmtpSink } from '../../../../lambdas/adapters/local/smtp-sink.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { type LocalWebmail, replyInBrowser, signIn, startLocalWebmail } from '../../../support/local-webmail.ts';
import { buildMessage } from '../../../support/mail-harness.ts';
import { waitFor } from '../../../support/wait.ts';

let stack: LocalWebmail;
let browser: Browser;
let outbound: SmtpSink;
let outboundDir: string;
let messageId: string;

/** A port on 127.0.0.1 that nothing listens on: the dead primary. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  outboundDir = await mkdtemp(join(tmpdir(), 'shadowmail-outbound-'));
  outbound = await startSmtpSink({ host: '127.0.0.1', port: 0, dir: outboundDir });
  stack = await startLocalWebmail({
    SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${await deadPort()}`,
    SHADOWMAIL_OUTBOUND: `smtp://127.0.0.1:${outbound.port}`,
  });
  browser = await launchChromium();
  messageId = await stack.deliver(
    await buildMessage({
      from: 'Carol Partner <carol@partner.test>',
      to: 'alice@corp.test',
      subject: 'Offer during the outage',
      messageId: '<offer-1@partner.test>',
      text: 'Please confirm today.',
    }),
    ['alice@corp.test'],
  );
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await outbound?.close();
  if (outboundDir) await rm(outboundDir, { recursive: true, force: true });
});

describe('answering mail while the primary is down', () => {
  it('sends the reply at once through the outbound path while the received message waits for Exchange', async () => {
    // Prepare
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await signIn(page, stack.base, 'alice');

    // Act
    await replyInBrowser(page, stack.base, messageId, 'Confirmed.');
    const sent = await waitFor(
      'the reply at the outbound sink',
      async () => {
        const names = (await readdir(outboundDir)).filter((name) => name.endsWith('.eml'));
        return names.length > 0 ? names : undefined;
      },
      15_000,
      100,
    );
    await context.close();

    // Assess
    expect(sent).toHaveLength(1);
    const reply = await simpleParser(await readFile(join(outboundDir, sent[0]!)));
    const envelope = JSON.parse(await readFile(join(outboundDir, sent[0]!.replace(/\.eml$/, '.json')), 'utf8')) as { recipients: string[] };
    expect(reply.subject).toBe('Re: Offer during the outage');
    expect(reply.inReplyTo).toBe('<offer-1@partner.test>');
    expect(envelope.recipients).toEqual(['carol@partner.test']);
    // (the first forward attempt may still be running when the reply is sent)
    const states = await waitFor(
      'the forward attempt recorded',
      async () => {
        const current = await stack.index.getDeliveryStates(messageId, new Date());
        return current.every((state) => state.state !== 'queued') ? current : undefined;
      },
      15_000,
      100,
    );
    expect(states.map((state) => state.state)).toEqual(['deferred']);
    expect(states[0]!.lastReply).toMatch(/ECONNREFUSED|connect/i);
  });
});
