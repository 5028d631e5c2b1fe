// Local mode killed with SIGKILL at random moments while mail flows, then restarted:
// no accepted message is lost, and each is delivered to the primary (Postfix) once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localForwardConsumer } from '../../../lambdas/wiring/local.ts';
import { readLocalConfig } from '../../../lambdas/wiring/local-config.ts';
import { type LocalProcess, startLocal } from '../../support/local-process.ts';
import { type PostfixInstance, startPostfix } from '../../support/postfix.ts';
import { freePort, sleep, waitFor } from '../../support/wait.ts';

const TOTAL = 60;
const KILLS = 4;

describe('SIGKILL at random moments in local mode', () => {
  let postfix: PostfixInstance;
  let dataDir: string;
  let local: LocalProcess | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    postfix = await startPostfix({ domain: 'corp.test', users: ['alice', 'bob'] });
    dataDir = await mkdtemp(join(tmpdir(), 'shadowmail-kill-'));
    env = {
      SHADOWMAIL_PRIMARY: `smtp://127.0.0.1:${postfix.port}`,
      SHADOWMAIL_SMTP_PORT: String(await freePort()),
      SHADOWMAIL_HTTP_PORT: String(await freePort()),
      SHADOWMAIL_RETRY_BASE_SECONDS: '1',
      SHADOWMAIL_RETRY_MAX_DELAY_SECONDS: '2',
    };
  });

  afterAll(async () => {
    await local?.kill('SIGKILL');
    await postfix?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loses nothing that was accepted and delivers each accepted message once', async () => {
    // Prepare: a sender that behaves like an MTA: what was not answered 250 is sent again
    local = await startLocal(dataDir, env);
    const port = Number(env.SHADOWMAIL_SMTP_PORT);
    const acceptedFirstTry = new Set<string>();
    const ambiguous = new Set<string>(); // the connection died after DATA: the sender cannot know
    let sending = true;

    const sender = (async () => {
      for (let n = 0; n < TOTAL; n += 1) {
        const id = `kill-${n}`;
        for (let attempt = 0; ; attempt += 1) {
          const transport = createTransport({
            host: '127.0.0.1',
            port,
            secure: false,
            ignoreTLS: true,
            connectionTimeout: 2_000,
            socketTimeout: 10_000,
          });
          try {
            await transport.sendMail({
              envelope: { from: 'partner@elsewhere.test', to: ['alice@corp.test', 'bob@corp.test'] },
              raw: `From: partner@elsewhere.test\r\nTo: alice@corp.test\r\nSubject: ${id}\r\nMessage-ID: <${id}@elsewhere.test>\r\n\r\nbody ${id}\r\n`,
            });
            if (attempt === 0) acceptedFirstTry.add(id);
            break;
          } catch (error) {
            if ((error as { command?: string }).command === 'DATA' || (error as { code?: string }).code !== 'ECONNECTION')
              ambiguous.add(id);
            if (attempt > 200) throw error;
            await sleep(100);
          } finally {
            transport.close();
          }
        }
        await sleep(20);
      }
      sending = false;
    })();

    // Each forward worker relays one record at a time: at most one relay per worker is in flight at a kill.
    const MAX_IN_FLIGHT = localForwardConsumer(readLocalConfig(env)).concurrency;

    // Act: kill at random moments, restart at once
    let kills = 0;
    for (let kill = 0; kill < KILLS && sending; kill += 1, kills += 1) {
      await sleep(300 + Math.floor(Math.random() * 900));
      await local.kill('SIGKILL');
      local = await startLocal(dataDir, env);
    }
    await sender;

    // Assess
    const ids = (messages: Buffer[]) => messages.map((m) => /^Subject: (kill-\d+)/m.exec(m.toString())?.[1] ?? '?');
    await waitFor(
      'every message at the primary',
      async () => {
        const alice = ids(await postfix.readDelivered('alice'));
        const bob = ids(await postfix.readDelivered('bob'));
        return new Set(alice).size >= TOTAL && new Set(bob).size >= TOTAL ? true : undefined;
      },
      60_000,
      250,
    );
    await sleep(3_000);
    for (const user of ['alice', 'bob']) {
      const delivered = ids(await postfix.readDelivered(user));
      const counts = new Map<string, number>();
      for (const id of delivered) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (let n = 0; n < TOTAL; n += 1) expect(counts.get(`kill-${n}`), `${user} kill-${n}`).toBeGreaterThanOrEqual(1);
      // A kill between the primary's 250 and our record of it re-sends that relay once
      // (inherent to SMTP). At most the relays in flight at a kill may repeat, each once;
      // anything beyond that would be a real duplication bug.
      const duplicated = [...counts].filter(([id, count]) => count > 1 && !ambiguous.has(id));
      expect(
        duplicated.every(([, count]) => count === 2),
        `${user}: ${JSON.stringify(duplicated)}`,
      ).toBe(true);
      expect(duplicated.length, `${user}: duplicates ${JSON.stringify(duplicated)}`).toBeLessThanOrEqual(MAX_IN_FLIGHT * KILLS);
      if (duplicated.length > 0) console.log(`kill-restart: ${user} got ${duplicated.length} in-doubt re-sends after kills`);
    }
    expect(kills).toBeGreaterThanOrEqual(2);
    expect(acceptedFirstTry.size).toBeGreaterThan(0);
    console.log(
      `kill-restart: ${kills} SIGKILLs, ${acceptedFirstTry.size}/${TOTAL} accepted at the first try, ${ambiguous.size} ambiguous sends`,
    );
  });
});
