// Issue 17: local mode with a real Postfix as the primary, which refuses an unknown
// recipient (550 5.1.1) after shadowmail accepted the message. The sender gets one RFC 3464
// report through the outbound route (a second Postfix, the sender's own server), from the
// null sender, that mailparser reads as multipart/report; none for a forged sender or the
// null sender (the trace says why); and none twice after SIGKILL and restart.
// (A spam verdict withholds the report too: local mode has no spam filter, so that rule is
// held in the unit tests of core/non-delivery-policy.ts.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer } from '../../support/dns-server.ts';
import { type LocalProcess, localEnv, runCli, startLocal } from '../../support/local-process.ts';
import { type PostfixInstance, startPostfix } from '../../support/postfix.ts';
import { freePort, sleep, waitFor } from '../../support/wait.ts';

interface Traced {
  subject: string;
  deliveries: { recipient: string; state: string; attempts: { response: string }[] }[];
}

describe('non-delivery reports in local mode, Postfix as the primary', () => {
  let primary: PostfixInstance;
  let partner: PostfixInstance;
  let dns: DnsServer;
  let dataDir: string;
  let env: Record<string, string>;
  let local: LocalProcess | undefined;

  beforeAll(async () => {
    primary = await startPostfix({ domain: 'corp.test', users: ['alice'] });
    // The senders' own server, where reports arrive (local mode's stand-in for SES sending relays to it).
    partner = await startPostfix({ domain: 'partner.test', users: ['sender', 'victim'] });
    dns = await startDnsServer({
      mx: new Map(),
      cname: new Map(),
      txt: new Map([
        ['partner.test', ['v=spf1 ip4:127.0.0.1 -all']],
        ['forged.test', ['v=spf1 ip4:192.0.2.1 -all']],
      ]),
    });
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-dsn-'));
    env = {
      SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${primary.port}`,
      SHADOWMAIL_OUTBOUND: `smtp://127.0.0.1:${partner.port}`,
      SHADOWMAIL_DNS_SERVERS: dns.address,
      SHADOWMAIL_SMTP_PORT: String(await freePort()),
      SHADOWMAIL_RETRY_BASE_SECONDS: '1',
      SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: '2',
      // corp.test as a catch-all: local mode takes nobody@ (the directory would refuse it at
      // RCPT TO, test/system/scenarios/door.test.ts), and the primary then refuses it for good.
      SHADOWMAIL_CATCH_ALL_DOMAINS: 'corp.test',
    };
    local = await startLocal(dataDir, env);
  }, 120_000);

  afterAll(async () => {
    await local?.kill('SIGKILL');
    await primary?.destroy();
    await partner?.destroy();
    await dns?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function send(from: string, to: string[], subject: string): Promise<void> {
    const transport = createTransport({ host: '127.0.0.1', port: Number(env.SHADOWMAIL_SMTP_PORT), secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({
        envelope: { from, to },
        raw: `From: Sender <${from || 'mailer-daemon@partner.test'}>\r\nTo: ${to.join(', ')}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@partner.test>\r\n\r\nThe body stays here.\r\n`,
      });
    } finally {
      transport.close();
    }
  }

  async function traceOf(recipient: string): Promise<Traced[]> {
    const result = await runCli(['trace', '--recipient', recipient, '--json'], localEnv(dataDir));
    return JSON.parse(result.stdout || '[]') as Traced[];
  }

  async function notesFor(subject: string): Promise<string[]> {
    return waitFor(
      `the report's outcome for ${subject} in the trace`,
      async () => {
        const traced = await traceOf('nobody@corp.test');
        for (const message of traced) {
          const delivery = message.deliveries.find((d) => d.recipient === 'nobody@corp.test');
          const notes = (delivery?.attempts ?? []).map((a) => a.response).filter((r) => r.startsWith('non-delivery report'));
          if (message.subject === subject && notes.length > 0) return notes;
        }
        return undefined;
      },
      30_000,
      250,
    );
  }

  it('sends the sender one report that a real parser reads as RFC 3464, with the primary’s reply and the original headers', async () => {
    // Act: one known and one unknown recipient; Postfix takes alice and refuses nobody
    await send('sender@partner.test', ['alice@corp.test', 'nobody@corp.test'], 'dsn-1');

    // Assess
    await primary.waitForDelivered('alice', 1, 30_000);
    const [report] = await partner.waitForDelivered('sender', 1, 30_000);
    const raw = report!.toString();
    expect(raw).toMatch(/^Return-Path: <>\r?\n/m);
    const parsed = await simpleParser(report!);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/report', params: { 'report-type': 'delivery-status' } });
    expect(parsed.from?.value[0]?.address).toBe('MAILER-DAEMON@corp.test');
    expect(parsed.text).toContain('Ihre Nachricht konnte nicht zugestellt werden.');
    expect(parsed.text).toContain('Your message could not be delivered.');
    expect(parsed.text).toMatch(
      /Final-Recipient: rfc822; nobody@corp\.test\nAction: failed\nStatus: 5\.1\.1\nDiagnostic-Code: smtp; 550 5\.1\.1/,
    );
    expect(parsed.attachments.map((a) => a.contentType)).toEqual(['text/rfc822-headers']);
    expect(parsed.attachments[0]!.content.toString()).toContain('Message-ID: <dsn-1@partner.test>');
    expect(raw).not.toContain('The body stays here.');
    expect(await notesFor('dsn-1')).toEqual([
      'non-delivery report sending to sender@partner.test',
      expect.stringMatching(/^non-delivery report sent to sender@partner\.test/),
    ]);
  }, 60_000);

  it('sends none for a forged sender or the null sender, and says why in the trace', async () => {
    await send('victim@forged.test', ['nobody@corp.test'], 'dsn-forged');
    await send('', ['nobody@corp.test'], 'dsn-null');

    expect(await notesFor('dsn-forged')).toEqual([expect.stringMatching(/^non-delivery report withheld: the sender is not authenticated/)]);
    expect(await notesFor('dsn-null')).toEqual([expect.stringMatching(/^non-delivery report withheld: the null sender/)]);
    expect(await partner.readDelivered('sender')).toHaveLength(1);
    expect(await partner.readDelivered('victim')).toHaveLength(0);
  }, 60_000);

  it('sends no report twice when local mode is killed and restarted', async () => {
    await send('sender@partner.test', ['nobody@corp.test'], 'dsn-kill');
    await partner.waitForDelivered('sender', 2, 30_000);

    await local!.kill('SIGKILL');
    local = await startLocal(dataDir, env);
    await sleep(5_000); // a second report would be sent within the retry delays

    expect(await partner.readDelivered('sender')).toHaveLength(2);
    // Killed after the hand-over but before the outcome was written, it is withheld as in doubt: never sent twice.
    const notes = await notesFor('dsn-kill');
    expect(notes.filter((n) => n.startsWith('non-delivery report sending to'))).toHaveLength(1);
    expect(notes.at(-1)).toMatch(/^non-delivery report (sent to|withheld: in doubt)/);
  }, 90_000);
});
