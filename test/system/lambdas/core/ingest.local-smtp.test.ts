// Envelope recipients end to end: local mode's SMTP listener takes `<"alice"@corp.test>`
// and `<alice+news@corp.test>` on the wire and ingest files both in alice's one inbox;
// a `%` local part is accepted and kept, filed under itself, never routed to bob. corp.test
// is a catch-all domain here, as behind SES's domain-wide rule: otherwise local mode's door
// refuses the `%` address at RCPT TO (issue 17, test/system/scenarios/door.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalIndex } from '../../../../lambdas/wiring/local-index.ts';
import { type LocalProcess, startLocal } from '../../../support/local-process.ts';
import { RawSmtp } from '../../../support/raw-smtp.ts';
import { waitFor } from '../../../support/wait.ts';

describe('envelope recipients through local mode', () => {
  let dataDir: string;
  let local: LocalProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-rcpt-'));
    local = await startLocal(dataDir, { SHADOWMAIL_CATCH_ALL_DOMAINS: 'corp.test' });
  });
  afterAll(async () => {
    await local?.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('files a quoted local part and a +tag in the plain address’s inbox, and a % local part under itself', async () => {
    // Prepare / Act: one message, three recipients, on the wire as a sender writes them
    const { client } = await RawSmtp.open(local.runtime.smtpPort);
    expect((await client.command('EHLO sender.elsewhere.test')).code).toBe(250);
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);
    for (const rcpt of ['<"alice"@corp.test>', '<alice+news@corp.test>', '<bob%corp.test@corp.test>']) {
      const reply = await client.command(`RCPT TO:${rcpt}`);
      expect(reply.code, `${rcpt}: ${reply.text}`).toBe(250);
    }
    expect((await client.command('DATA')).code).toBe(354);
    const stored = await client.command(
      'From: partner@elsewhere.test\r\nTo: alice@corp.test\r\nSubject: normal form\r\nMessage-ID: <rcpt-1@elsewhere.test>\r\n\r\nbody\r\n.',
    );
    expect(stored.code).toBe(250);
    await client.quit();

    // Assess
    const opened = await openLocalIndex(dataDir);
    try {
      const inbox = (mailbox: string) => opened.index.listMailboxPage(mailbox, { folder: 'inbox', limit: 10 }, new Date());
      const alice = await waitFor('alice’s entry', async () => (await inbox('alice@corp.test')).entries[0]);
      expect(alice.subject).toBe('normal form');
      expect(alice.recipients.sort()).toEqual(['alice+news@corp.test', 'alice@corp.test']);
      expect((await inbox('bob%corp.test@corp.test')).entries.map((entry) => entry.subject)).toEqual(['normal form']);
      expect((await inbox('bob@corp.test')).entries).toEqual([]);
      expect((await inbox('"alice"@corp.test')).entries).toEqual([]);
      expect((await inbox('alice+news@corp.test')).entries).toEqual([]);
    } finally {
      await opened.close();
    }
  });
});
