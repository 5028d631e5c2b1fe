// Local mode against a real MTA (Postfix) as the primary: the primary stops, mail
// keeps arriving, the primary returns, and every message is delivered exactly once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalProcess, localEnv, runCli, startLocal } from '../../support/local-process.ts';
import { type PostfixInstance, startPostfix } from '../../support/postfix.ts';
import { waitFor } from '../../support/wait.ts';

const messageIdsIn = (messages: Buffer[]): string[] =>
  messages.map((message) => /^Message-ID: <([^>]+)>/im.exec(message.toString('latin1'))?.[1] ?? 'none');

function message(id: string): string {
  return [
    `From: partner@elsewhere.test`,
    `To: alice@corp.test`,
    `Subject: ${id}`,
    `Message-ID: <${id}@elsewhere.test>`,
    '',
    `Body of ${id}`,
    '',
  ].join('\r\n');
}

describe('primary outage in local mode', () => {
  let postfix: PostfixInstance;
  let dataDir: string;
  let local: LocalProcess;

  beforeAll(async () => {
    postfix = await startPostfix({ domain: 'corp.test', users: ['alice', 'bob'] });
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-outage-'));
    local = await startLocal(dataDir, {
      SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${postfix.port}`,
      SHADOWMAIL_RETRY_BASE_SECONDS: '1',
      SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: '2',
    });
  });

  afterAll(async () => {
    await local?.kill();
    await postfix?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('queues while the primary is down and delivers every message exactly once when it returns', async () => {
    const transport = createTransport({ host: '127.0.0.1', port: local.runtime.smtpPort, secure: false, ignoreTLS: true, pool: true });
    const send = (id: string, to: string[]) => transport.sendMail({ envelope: { from: 'partner@elsewhere.test', to }, raw: message(id) });

    // Prepare: normal flow
    for (let n = 0; n < 5; n += 1) await send(`before-${n}`, ['alice@corp.test']);
    await postfix.waitForDelivered('alice', 5, 20_000);

    // Act: the primary dies; mail keeps arriving and is accepted
    await postfix.stop();
    for (let n = 0; n < 10; n += 1) await send(`during-${n}`, ['alice@corp.test', 'bob@corp.test']);
    await waitFor(
      'deferred deliveries recorded',
      async () => {
        const result = await runCli(['trace', '--recipient', 'bob@corp.test', '--json'], localEnv(dataDir));
        const traced = JSON.parse(result.stdout || '[]') as { deliveries: { state: string; lastReply: string | null }[] }[];
        return traced.length === 10 && traced.every((t) => t.deliveries.every((d) => d.state === 'deferred')) ? traced : undefined;
      },
      30_000,
      250,
    );

    // ... and comes back
    await postfix.start();
    const alice = await postfix.waitForDelivered('alice', 15, 30_000);
    const bob = await postfix.waitForDelivered('bob', 10, 30_000);
    await new Promise((r) => setTimeout(r, 3_000)); // a duplicate would arrive within the retry delay
    transport.close();

    // Assess: all there, none twice
    const aliceIds = messageIdsIn(await postfix.readDelivered('alice'));
    const bobIds = messageIdsIn(await postfix.readDelivered('bob'));
    expect(alice.length).toBe(15);
    expect(bob.length).toBe(10);
    expect(new Set(aliceIds).size).toBe(15);
    expect(aliceIds.filter((id) => id.startsWith('during-')).sort()).toEqual(bobIds.sort());
    const result = await runCli(['trace', '--recipient', 'bob@corp.test', '--json'], localEnv(dataDir));
    const traced = JSON.parse(result.stdout) as { deliveries: { state: string; attemptCount: number }[] }[];
    expect(traced.every((t) => t.deliveries.every((d) => d.state === 'delivered' && d.attemptCount >= 2))).toBe(true);
  });
});
