// The local SES-inbound stand-in under load a sender controls: how many connections it
// holds (overall and per client address) and how long one DATA phase may take. Real
// sockets on loopback (127.0.0.2 is a second client address), small limits.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type InboundSmtpOptions, type InboundSmtpServer, startInboundSmtp } from '../../../../../lambdas/adapters/local/inbound-smtp.ts';
import { RawSmtp, type Reply } from '../../../../support/raw-smtp.ts';
import { sleep, waitFor } from '../../../../support/wait.ts';

describe('inbound SMTP listener: connection caps and the DATA deadline', () => {
  let root: string;
  let spoolDir: string;
  let server: InboundSmtpServer | null;
  let accepted: string[];
  const clients: RawSmtp[] = [];

  async function start(overrides: Partial<InboundSmtpOptions>): Promise<InboundSmtpServer> {
    server = await startInboundSmtp({
      port: 0,
      domains: ['corp.test'],
      spoolDir,
      accept: async (message) => {
        accepted.push(message.id);
      },
      onError: () => undefined,
      closeTimeoutMs: 500,
      ...overrides,
    });
    return server;
  }

  async function connect(from = '127.0.0.1'): Promise<{ client: RawSmtp; greeting: Reply }> {
    const opened = await RawSmtp.open(server!.port, '127.0.0.1', from);
    clients.push(opened.client);
    return opened;
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'inbound-smtp-limits-'));
    spoolDir = join(root, 'spool');
    accepted = [];
    server = null;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('holds at most maxConnections idle connections: the next one gets 421 and is closed; a freed place is usable again', async () => {
    // Prepare
    await start({ maxConnections: 3, maxConnectionsPerAddress: 3 });
    const held = [await connect('127.0.0.1'), await connect('127.0.0.2'), await connect('127.0.0.3')];

    // Act
    const refused = await connect('127.0.0.4');
    await waitFor('the refused connection to close', async () => (refused.client.isClosed() ? true : undefined), 5_000, 20);
    held[0]!.client.destroy();
    const again = await waitFor(
      'a place after one client left',
      async () => {
        const next = await connect('127.0.0.4');
        if (next.greeting.code === 220) return next;
        next.client.destroy();
        return undefined;
      },
      5_000,
      50,
    );

    // Assess
    expect(held.map((h) => h.greeting.code)).toEqual([220, 220, 220]);
    expect(refused.greeting.code).toBe(421);
    expect(again.greeting.code).toBe(220);
    expect((await again.client.command('EHLO client.test')).code).toBe(250);
  });

  it('holds at most maxConnectionsPerAddress from one address (421 4.7.0 beyond) while other addresses still get in', async () => {
    // Prepare
    await start({ maxConnections: 10, maxConnectionsPerAddress: 2 });
    const first = await connect('127.0.0.1');
    const second = await connect('127.0.0.1');

    // Act
    const third = await connect('127.0.0.1');
    await waitFor('the refused connection to close', async () => (third.client.isClosed() ? true : undefined), 5_000, 20);
    const other = await connect('127.0.0.2');
    await first.client.quit();
    const afterQuit = await waitFor(
      'a place for 127.0.0.1 after its client quit',
      async () => {
        const next = await connect('127.0.0.1');
        if (next.greeting.code === 220) return next;
        next.client.destroy();
        return undefined;
      },
      5_000,
      50,
    );

    // Assess
    expect([first.greeting.code, second.greeting.code]).toEqual([220, 220]);
    expect(third.greeting).toMatchObject({ code: 421 });
    expect(third.greeting.text).toMatch(/^421 4\.7\.0 /);
    expect(other.greeting.code).toBe(220);
    expect(afterQuit.greeting.code).toBe(220);
  });

  it('ends a DATA phase that outlasts the deadline with 421, even while bytes keep trickling in; nothing is accepted or kept', async () => {
    // Prepare
    await start({ dataDeadlineMs: 1_000 });
    const { client } = await connect();
    await client.command('EHLO client.test');
    await client.command('MAIL FROM:<partner@elsewhere.test>');
    await client.command('RCPT TO:<alice@corp.test>');
    expect((await client.command('DATA')).code).toBe(354);
    const startedAt = Date.now();

    // Act: one byte every 100 ms, far below the idle timeout, never the final dot.
    client.write('Subject: slow\r\n\r\n');
    const trickle = setInterval(() => client.write('x'), 100);
    let reply: Reply;
    try {
      reply = await client.next(5_000);
    } finally {
      clearInterval(trickle);
    }
    const elapsed = Date.now() - startedAt;
    await waitFor('the connection to close', async () => (client.isClosed() ? true : undefined), 5_000, 20);
    await sleep(100);

    // Assess
    expect(reply.code).toBe(421);
    expect(reply.text).toMatch(/^421 4\.4\.2 /);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3_000);
    expect(accepted).toEqual([]);
    expect((await readdir(spoolDir)).filter((file) => file.endsWith('.eml'))).toEqual([]);
  });

  it('accepts a message whose DATA ends within the deadline, also after a slow start', async () => {
    // Prepare
    await start({ dataDeadlineMs: 1_000 });
    const { client } = await connect();
    await client.command('EHLO client.test');
    await client.command('MAIL FROM:<partner@elsewhere.test>');
    await client.command('RCPT TO:<alice@corp.test>');
    await client.command('DATA');

    // Act
    client.write('Subject: in time\r\n\r\n');
    await sleep(500);
    client.write('body\r\n');
    const reply = await client.command('.');
    await sleep(1_000);

    // Assess: and the deadline of that DATA phase does not end the connection afterwards.
    expect(reply.code).toBe(250);
    expect(accepted).toHaveLength(1);
    expect(client.isClosed()).toBe(false);
    expect((await client.command('NOOP')).code).toBe(250);
  });
});
