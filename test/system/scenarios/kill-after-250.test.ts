// "250 means on disk" (issue 18): local mode is SIGKILLed the moment the sender reads the
// 250 to DATA — before its pipeline could have relayed anything, since the primary it is
// given first does not listen. Restarted with the real primary (Postfix), each message
// reaches it once, and `shadowmail trace` shows it delivered under the id of the 250.
// A SIGKILL leaves the page cache to the kernel, so this proves the 250 comes after the
// message is written (raw file and queue entry), not the fsync itself: that is the
// adapters' (FileQueue, FsRawMailStore) and SQLite's synchronous=FULL.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalProcess, localEnv, runCli, startLocal } from '../../support/local-process.ts';
import { type PostfixInstance, startPostfix } from '../../support/postfix.ts';
import { RawSmtp } from '../../support/raw-smtp.ts';
import { freePort, sleep } from '../../support/wait.ts';

const ROUNDS = 3;

describe('a 250 survives SIGKILL immediately after it was sent', () => {
  let postfix: PostfixInstance;
  let dataDir: string;
  let local: LocalProcess | undefined;

  beforeAll(async () => {
    postfix = await startPostfix({ domain: 'corp.test', users: ['alice'] });
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-kill-250-'));
  });

  afterAll(async () => {
    await local?.kill('SIGKILL');
    await postfix?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers every message answered 250 after a SIGKILL at that moment, once, and trace shows it', async () => {
    // Prepare: a primary that does not listen, so only local mode's disk holds the message at the kill
    const retries = { SHADOWMAIL_RETRY_BASE_SECONDS: '1', SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: '2' };
    const nowhere = { ...retries, SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${await freePort()}` };
    const queued: string[] = [];

    // Act: per round, DATA's 250 is read and the SIGKILL goes out in the same tick
    for (let round = 0; round < ROUNDS; round += 1) {
      local = await startLocal(dataDir, nowhere);
      const { client } = await RawSmtp.open(local.runtime.smtpPort);
      expect((await client.command('EHLO sender.elsewhere.test')).code).toBe(250);
      expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);
      expect((await client.command('RCPT TO:<alice@corp.test>')).code).toBe(250);
      expect((await client.command('DATA')).code).toBe(354);
      const id = `k250-${round}`;
      const reply = await client.command(
        `From: partner@elsewhere.test\r\nTo: alice@corp.test\r\nSubject: ${id}\r\nMessage-ID: <${id}@elsewhere.test>\r\n\r\nbody ${id}\r\n.`,
      );
      local.child.kill('SIGKILL');
      expect(reply.code, reply.text).toBe(250);
      queued.push(/queued as (\S+)/.exec(reply.text)?.[1] ?? `no id in ${reply.text}`);
      await local.kill('SIGKILL');
      local = undefined;
    }
    local = await startLocal(dataDir, { ...retries, SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${postfix.port}` });
    const delivered = await postfix.waitForDelivered('alice', ROUNDS, 60_000);
    await sleep(2_000);

    // Assess: each message once at the primary, and trace (beside the running stack) shows each delivered under its 250's id
    const subjects = (await postfix.readDelivered('alice')).map((m) => /^Subject: (\S+)/m.exec(m.toString())?.[1]).sort();
    expect(delivered.length).toBe(ROUNDS);
    expect(subjects).toEqual(Array.from({ length: ROUNDS }, (_, round) => `k250-${round}`));
    const trace = await runCli(['trace', '--recipient', 'alice@corp.test', '--json'], localEnv(dataDir));
    expect(trace.code, trace.stderr).toBe(0);
    const traced = JSON.parse(trace.stdout) as Array<{ sesMessageId: string; deliveries: Array<{ recipient: string; state: string }> }>;
    expect(traced.map((message) => message.sesMessageId).sort()).toEqual([...queued].sort());
    for (const message of traced) expect(message.deliveries).toMatchObject([{ recipient: 'alice@corp.test', state: 'delivered' }]);
  }, 180_000);
});
