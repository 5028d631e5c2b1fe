// `shadowmail failover on|off --notify [--dry-run]` in local mode: the directory in local
// mode's store (the SQLite file), the notices in the outbox files, the audit entry in
// the same table — the whole way the CLI takes, in-process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readOutbox } from '../../../../lambdas/adapters/local/file-outbox.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import type { NoticeMail } from '../../../../lambdas/ports/notice-mailer.ts';
import type { SmsMessage } from '../../../../lambdas/ports/sms-sender.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';
import { localPaths } from '../../../../lambdas/wiring/local-data-dir.ts';
import { openLocalAuditLog } from '../../../../lambdas/wiring/local-resend.ts';
import { runCli } from '../../../support/cli-run.ts';

const USERS = [
  makeDirectoryUser({ id: '1', mailbox: 'alice@corp.test', mobile: '+4917012345678', privateEmail: 'alice.home@example.net' }),
  makeDirectoryUser({ id: '2', mailbox: 'bob@corp.test', mobile: '+4917011111111' }),
  makeDirectoryUser({ id: '3', mailbox: 'carol@corp.test', disabled: true, mobile: '+4917022222222' }),
  makeDirectoryUser({ id: '4', mailbox: 'dave@corp.test' }),
];

describe('shadowmail failover --notify (CLI, local mode)', () => {
  let dir: string;
  const savedEnv = { ...process.env };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-notify-'));
    Object.assign(process.env, { SHADOWMAIL_DOMAINS: 'corp.test', SHADOWMAIL_PUBLIC_URL: 'https://mail.corp.test' });
    delete process.env.SHADOWMAIL_NOTICES;
    const log = await openLocalAuditLog(readLocalConfig({ SHADOWMAIL_DATA_DIR: dir }));
    await log.directory.putUsers(USERS).finally(() => log.close());
  });
  afterEach(async () => {
    process.env = { ...savedEnv };
    await rm(dir, { recursive: true, force: true });
  });

  const outbox = async () => ({
    sms: (await readOutbox<SmsMessage>(localPaths(dir).smsOutbox)).map((entry) => entry.message),
    mail: (await readOutbox<NoticeMail>(localPaths(dir).mailOutbox)).map((entry) => entry.message),
  });

  const auditEvents = async () => {
    const log = await openLocalAuditLog(readLocalConfig({ SHADOWMAIL_DATA_DIR: dir }));
    const page = await log.audit
      .list({ since: new Date(Date.now() - 3_600_000).toISOString(), until: new Date(Date.now() + 60_000).toISOString(), limit: 20 })
      .finally(() => log.close());
    return page.events;
  };

  it('shows who would be notified with masked numbers, and switches and sends nothing (--dry-run)', async () => {
    process.env.SHADOWMAIL_NOTICES = 'sms,email';
    const result = await runCli('failover', 'on', '--message', 'Back by noon.', '--notify', '--dry-run', '--data-dir', dir);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^dry run: nothing switched, nothing sent/);
    expect(result.out).toMatch(/alice@corp\.test\s+sms \+49•••••5678 {2}mail a•••@example\.net/);
    expect(result.out).toMatch(/bob@corp\.test\s+sms \+49•••••1111/);
    expect(result.out).not.toContain('carol@corp.test');
    expect(result.out).toContain('https://mail.corp.test/');
    expect(result.out).toContain('Back by noon.');
    expect(result.out).toMatch(/1 users skipped/);
    expect(result.out).not.toContain('+4917012345678');
    expect(await outbox()).toEqual({ sms: [], mail: [] });
    const status = await runCli('failover', 'status', '--json', '--data-dir', dir);
    expect(JSON.parse(status.out).on).toBe(false);
  });

  it('switches on, then sends the configured channels to the outboxes and records one notice.send with counts', async () => {
    process.env.SHADOWMAIL_NOTICES = 'sms';
    const result = await runCli('failover', 'on', '--reason', 'power', '--notify', '--data-dir', dir);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/notices\s+sms 2 sent; 1 skipped/);
    const { sms, mail } = await outbox();
    expect(sms.map((m) => m.to)).toEqual(['+4917012345678', '+4917011111111']);
    expect(sms[0]!.text).toContain('https://mail.corp.test/');
    expect(mail).toEqual([]);
    const events = await auditEvents();
    expect(events.map((e) => e.action)).toEqual(['notice.send', 'failover.on']);
    expect(events[0]!.details).toMatchObject({ direction: 'on', channels: ['sms'], smsSent: 2, skipped: 1 });
    expect(JSON.stringify(events)).not.toContain('+4917');
  });

  it('tells staff Outlook works again when switched off with --notify', async () => {
    process.env.SHADOWMAIL_NOTICES = 'email';
    await runCli('failover', 'on', '--reason', 'power', '--data-dir', dir);
    const off = await runCli('failover', 'off', '--reason', 'fixed', '--notify', '--data-dir', dir);
    expect(off.code).toBe(0);
    const { mail } = await outbox();
    expect(mail).toHaveLength(1);
    expect(mail[0]).toMatchObject({ to: 'alice.home@example.net', purpose: 'failover-notice' });
    expect(mail[0]!.text).toMatch(/use Outlook again/);
  });

  it('refuses --notify while notices are off, before switching anything', async () => {
    const result = await runCli('failover', 'on', '--reason', 'power', '--notify', '--data-dir', dir);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/failover notices are off/);
    const status = await runCli('failover', 'status', '--json', '--data-dir', dir);
    expect(JSON.parse(status.out).on).toBe(false);
  });

  it('answers misused flags as usage errors', async () => {
    const attempts: [string[], string][] = [
      [['failover', 'on', '--dry-run', '--data-dir', dir], '--dry-run goes with --notify'],
      [['failover', 'status', '--notify', '--data-dir', dir], '--notify goes with failover on or off'],
      [['failover', 'on', '--notify', '--ssm-parameter', '/x/failover'], "--notify needs the deployment's directory"],
    ];
    for (const [argv, line] of attempts) {
      const result = await runCli(...argv);
      expect(result.code).toBe(2);
      expect(result.err).toContain(line);
    }
  });
});
