// Local mode as `npm start` runs it (a child process), prepared for the webmail's
// browser tests: the flag switched on, mail delivered through its SMTP listener and
// waited for until ingest has indexed it (read through the child's own dynalite),
// what the primary sink received, and sign-in through the embedded provider's form.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import type { Page } from 'playwright-core';
import { FileFailoverFlag } from '../../lambdas/adapters/local/file-failover-flag.ts';
import { switchFailover } from '../../lambdas/core/failover.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import type { MessageIndex } from '../../lambdas/ports/message-index.ts';
import { localWebPaths } from '../../lambdas/wiring/local-config.ts';
import { localPaths } from '../../lambdas/wiring/local-data-dir.ts';
import { type LocalProcess, startLocal } from './local-process.ts';
import { openDataDirStore } from './local-store.ts';
import { waitFor } from './wait.ts';

export interface LocalWebmail {
  local: LocalProcess;
  dataDir: string;
  /** http://127.0.0.1:<port> */
  base: string;
  index: MessageIndex;
  /** Sends `raw` to the SMTP listener and waits until it is in every recipient's mailbox; returns its id. */
  deliver(raw: Buffer | string, to: string[], from?: string): Promise<string>;
  /** Every message the primary sink holds, parsed. */
  sinkMessages(): Promise<{ raw: Buffer; parsed: ParsedMail; recipients: string[] }[]>;
  close(): Promise<void>;
}

export async function startLocalWebmail(extraEnv: Record<string, string> = {}): Promise<LocalWebmail> {
  const dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-webmail-'));
  const flag = new FileFailoverFlag(localWebPaths(dataDir).failoverFlag);
  await switchFailover(flag, { on: true, message: 'Exchange is down.', actor: 'cli:test' }, systemClock);
  const local = await startLocal(dataDir, { POWERTOOLS_LOG_LEVEL: 'ERROR', ...extraEnv }, 60_000);
  const store = openDataDirStore(dataDir);
  const { index } = store;
  const transport = createTransport({
    host: '127.0.0.1',
    port: local.runtime.smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 1,
  });
  const sinkDir = localPaths(dataDir).primarySink;
  return {
    local,
    dataDir,
    base: `http://127.0.0.1:${local.runtime.httpPort}`,
    index,
    deliver: async (raw, to, from = 'sender@partner.test') => {
      const info = await transport.sendMail({ envelope: { from, to }, raw });
      const id = /queued as (\S+)/.exec(info.response)?.[1];
      if (!id) throw new Error(`no queue id in ${info.response}`);
      for (const recipient of to) {
        const mailbox = (await index.mailboxFor(recipient)) ?? recipient;
        await waitFor(
          `${id} indexed for ${mailbox}`,
          async () => (await index.getMailboxEntry(mailbox, id, new Date())) ?? undefined,
          30_000,
          50,
        );
      }
      return id;
    },
    sinkMessages: async () => {
      const names = (await readdir(sinkDir).catch(() => [] as string[])).filter((name) => name.endsWith('.eml')).sort();
      return Promise.all(
        names.map(async (name) => {
          const raw = await readFile(join(sinkDir, name));
          const envelope = JSON.parse(await readFile(join(sinkDir, name.replace(/\.eml$/, '.json')), 'utf8')) as { recipients: string[] };
          return { raw, parsed: await simpleParser(raw), recipients: envelope.recipients };
        }),
      );
    },
    close: async () => {
      transport.close();
      store.close();
      await local.kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the local provider's form (any language) and waits for the inbox. */
export async function signIn(page: Page, base: string, user: 'alice' | 'bob' | 'admin'): Promise<void> {
  await page.goto(`${base}/auth/login?returnTo=%2Fmail`);
  await page.locator('#email').fill(`${user}@corp.test`);
  await page.locator('#password').fill(user);
  await page.locator('button[type=submit]').click();
  await page.waitForURL(`${base}/mail`);
}

/** Opens a message, answers it with `text` above the quote and sends; waits for the Sent folder's confirmation. */
export async function replyInBrowser(page: Page, base: string, messageId: string, text: string): Promise<void> {
  await page.goto(`${base}/mail/m/${messageId}`);
  await page.getByRole('link', { name: 'Reply', exact: true }).click();
  await page.getByLabel('Message').press('Control+Home');
  await page.getByLabel('Message').pressSequentially(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL(`${base}/mail/sent?done=sent`);
}
