// Local mode passes SHADOWMAIL_SMTP_* on to its SMTP listener: with a per-address cap of 2
// the third connection from one address gets 421 4.7.0, and a DATA phase longer than
// SHADOWMAIL_SMTP_DATA_TIMEOUT_SECONDS ends with 421 4.4.2.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalProcess, startLocal } from '../../../support/local-process.ts';
import { RawSmtp } from '../../../support/raw-smtp.ts';

describe('local mode caps what one sender holds of its SMTP listener', () => {
  let dataDir: string;
  let local: LocalProcess;
  const clients: RawSmtp[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-smtp-limits-'));
    local = await startLocal(
      dataDir,
      { SHADOWMAIL_SMTP_MAX_CONNECTIONS_PER_ADDRESS: '2', SHADOWMAIL_SMTP_DATA_TIMEOUT_SECONDS: '1' },
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await local?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a third connection from one address and ends a DATA phase after the configured time', async () => {
    // Prepare
    const open = async () => {
      const opened = await RawSmtp.open(local.runtime.smtpPort);
      clients.push(opened.client);
      return opened;
    };
    const first = await open();
    const second = await open();

    // Act
    const third = await open();
    await first.client.command('EHLO client.test');
    await first.client.command('MAIL FROM:<partner@elsewhere.test>');
    await first.client.command('RCPT TO:<alice@corp.test>');
    await first.client.command('DATA');
    first.client.write('Subject: slow\r\n\r\n');
    const trickle = setInterval(() => first.client.write('x'), 100);
    const ended = await first.client.next(10_000).finally(() => clearInterval(trickle));

    // Assess
    expect([first.greeting.code, second.greeting.code]).toEqual([220, 220]);
    expect(third.greeting.text).toMatch(/^421 4\.7\.0 /);
    expect(ended.text).toMatch(/^421 4\.4\.2 /);
  }, 30_000);
});
