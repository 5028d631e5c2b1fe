// SmtpRelayAdapter's reuse of sessions (lambdas/adapters/smtp/session-cache.ts) against a
// real SMTP server on 127.0.0.1 that counts its connections: messages in a row share one
// session; a session the server closed, or that answers RSET with 421, costs nothing but
// a fresh connection (the message goes out once); refusals leave the session usable and
// the replies as they were; the limits (messages per session, idle time) and close() QUIT;
// with concurrent relays the server never sees more sessions than the bound.

import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpRelayAdapter, type SmtpRelayOptions } from '../../../../../lambdas/adapters/smtp/smtp-relay.ts';
import { SessionBoundRelay } from '../../../../../lambdas/core/session-bound-relay.ts';

type Reply = [code: number, text: string];

interface ServerOptions {
  /** Recipients refused at RCPT. */
  rcpt?: Record<string, Reply>;
  /** Senders whose message is refused at the end of DATA. */
  dataRefusedFor?: Record<string, Reply>;
  /** Answer the end of DATA after this long, so concurrent sessions overlap. */
  holdMs?: number;
}

interface CountingServer {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  open: number;
  maxOpen: number;
  quits: number;
  rsets: number;
  delivered: Array<{ from: string; to: string[]; connection: number }>;
  /** From now on every open session answers RSET with 421 and closes. */
  refuseRsetOnOpenSessions(): void;
  /** Closes every open session without a word (the server's idle limit). */
  dropOpenSessions(): void;
  close(): Promise<void>;
}

interface ServerConnection {
  _server: unknown;
  send(code: number, text: string): void;
  close(): void;
  handler_RSET(command: unknown, callback: () => void): void;
  handler_QUIT(command: unknown, callback: () => void): void;
}

const servers: CountingServer[] = [];
const relays: SmtpRelayAdapter[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startServer(options: ServerOptions = {}): Promise<CountingServer> {
  const reject = ([code, text]: Reply) => Object.assign(new Error(text), { responseCode: code });
  const ids = new WeakMap<object, number>();
  const state = { connections: 0, open: 0, maxOpen: 0, quits: 0, rsets: 0, delivered: [] as CountingServer['delivered'] };
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    closeTimeout: 100,
    onConnect(session, callback) {
      state.connections += 1;
      ids.set(session, state.connections);
      state.open += 1;
      state.maxOpen = Math.max(state.maxOpen, state.open);
      callback();
    },
    onClose() {
      state.open -= 1;
    },
    onRcptTo(address, _session, callback) {
      const refusal = options.rcpt?.[address.address];
      callback(refusal ? reject(refusal) : null);
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const refusal = options.dataRefusedFor?.[from];
        setTimeout(() => {
          if (refusal) return callback(reject(refusal));
          state.delivered.push({ from, to: session.envelope.rcptTo.map((rcpt) => rcpt.address), connection: ids.get(session) ?? 0 });
          callback(null, `Ok: queued as M${state.delivered.length}`);
        }, options.holdMs ?? 0);
      });
    },
  });
  // count RSET and QUIT on every connection
  const connections = (server as unknown as { connections: Set<ServerConnection> }).connections;
  server.server.on('connection', () => {
    setImmediate(() => {
      for (const connection of connections) instrument(connection);
    });
  });
  const instrumented = new WeakSet<ServerConnection>();
  function instrument(connection: ServerConnection) {
    if (instrumented.has(connection)) return;
    instrumented.add(connection);
    const rset = connection.handler_RSET.bind(connection);
    connection.handler_RSET = (command, callback) => {
      state.rsets += 1;
      rset(command, callback);
    };
    const quit = connection.handler_QUIT.bind(connection);
    connection.handler_QUIT = (command, callback) => {
      state.quits += 1;
      quit(command, callback);
    };
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const handle = Object.assign(state, {
    port: (server.server.address() as AddressInfo).port,
    refuseRsetOnOpenSessions() {
      for (const connection of connections) {
        connection.handler_RSET = (_command, callback) => {
          state.rsets += 1;
          connection.send(421, 'primary.corp.test Service not available, closing transmission channel');
          connection.close();
          callback();
        };
      }
    },
    dropOpenSessions() {
      for (const connection of connections) connection.close();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as CountingServer;
  servers.push(handle);
  return handle;
}

const SHORT = { connectionTimeoutMs: 2_000, greetingTimeoutMs: 1_000, socketTimeoutMs: 2_000, totalTimeoutMs: 5_000, quitTimeoutMs: 500 };

function relayTo(server: CountingServer, options: Partial<SmtpRelayOptions> = {}): SmtpRelayAdapter {
  const relay = new SmtpRelayAdapter({ host: '127.0.0.1', port: server.port, tls: 'none', name: 'shadowmail.test', ...SHORT, ...options });
  relays.push(relay);
  return relay;
}

const message = (subject: string) => () => Promise.resolve(Readable.from([Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`)]));
const send = (
  relay: { relay: SmtpRelayAdapter['relay'] },
  n: number,
  from = 'partner@elsewhere.test',
  recipients = [`user${n}@corp.test`],
) => relay.relay({ from, recipients }, message(`message ${n}`));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (condition: () => boolean, ms = 3_000) => {
  for (const start = Date.now(); !condition(); ) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await sleep(10);
  }
};

describe('SmtpRelayAdapter session reuse', () => {
  it('relays messages in a row over one connection, checking it with RSET before each reuse', async () => {
    // Prepare
    const server = await startServer();
    const relay = relayTo(server);

    // Act
    const replies = [];
    for (let n = 0; n < 10; n++) replies.push(...(await send(relay, n)));

    // Assess
    expect(replies.map((reply) => reply.code)).toEqual(Array(10).fill(250));
    expect(server.delivered.map((d) => d.to[0])).toEqual(Array.from({ length: 10 }, (_, n) => `user${n}@corp.test`));
    expect(server.connections).toBe(1);
    expect(server.rsets).toBe(9);
    expect(server.quits).toBe(0);
  });

  it('a session the server closed while idle: the next message goes out once, on a new connection', async () => {
    // Prepare
    const server = await startServer();
    const relay = relayTo(server);
    await send(relay, 0);
    server.dropOpenSessions();
    await until(() => server.open === 0);

    // Act
    const [reply] = await send(relay, 1);

    // Assess
    expect(reply).toMatchObject({ code: 250 });
    expect(reply!.response).toMatch(/queued as M2/);
    expect(server.delivered.map((d) => [d.to[0], d.connection])).toEqual([
      ['user0@corp.test', 1],
      ['user1@corp.test', 2],
    ]);
  });

  it('a session the server closes without the client noticing yet: still delivered once, on a new connection', async () => {
    // Prepare: the close reaches the client only as the next relay starts
    const server = await startServer();
    const relay = relayTo(server);
    await send(relay, 0);

    // Act
    server.dropOpenSessions();
    const [reply] = await send(relay, 1);

    // Assess
    expect(reply).toMatchObject({ code: 250 });
    expect(server.delivered.map((d) => d.to[0])).toEqual(['user0@corp.test', 'user1@corp.test']);
    expect(server.connections).toBe(2);
  });

  it('RSET answered 421: a fresh session, the message delivered once, its reply the fresh session’s', async () => {
    // Prepare
    const server = await startServer();
    const relay = relayTo(server);
    await send(relay, 0);
    server.refuseRsetOnOpenSessions();

    // Act
    const [reply] = await send(relay, 1);

    // Assess
    expect(reply).toMatchObject({ code: 250 });
    expect(reply!.fault).toBeUndefined();
    expect(server.delivered.map((d) => [d.to[0], d.connection])).toEqual([
      ['user0@corp.test', 1],
      ['user1@corp.test', 2],
    ]);
  });

  it('a message refused at RCPT or at the end of DATA leaves the session usable, and the replies as they were', async () => {
    // Prepare
    const server = await startServer({
      rcpt: { 'gone@corp.test': [550, '5.1.1 User unknown'] },
      dataRefusedFor: { 'spammer@elsewhere.test': [550, '5.7.1 Message rejected as spam'] },
    });
    const relay = relayTo(server);

    // Act
    const refusedAtRcpt = await send(relay, 0, 'partner@elsewhere.test', ['gone@corp.test']);
    const partlyRefused = await send(relay, 1, 'partner@elsewhere.test', ['gone@corp.test', 'alice@corp.test']);
    const refusedAtData = await send(relay, 2, 'spammer@elsewhere.test', ['alice@corp.test']);
    const after = await send(relay, 3);

    // Assess
    expect(refusedAtRcpt).toEqual([{ recipient: 'gone@corp.test', code: 550, response: '550 5.1.1 User unknown' }]);
    expect(partlyRefused).toEqual([
      { recipient: 'gone@corp.test', code: 550, response: '550 5.1.1 User unknown' },
      { recipient: 'alice@corp.test', code: 250, response: expect.stringMatching(/^250 Ok: queued as M1/) },
    ]);
    expect(refusedAtData).toEqual([{ recipient: 'alice@corp.test', code: 550, response: '550 5.7.1 Message rejected as spam' }]);
    expect(after[0]).toMatchObject({ code: 250 });
    expect(server.delivered.map((d) => d.to)).toEqual([['alice@corp.test'], ['user3@corp.test']]);
    expect(server.connections).toBe(1);
  });

  it('opens a new connection after 20 messages on one (QUIT on the full one)', async () => {
    // Prepare
    const server = await startServer();
    const relay = relayTo(server);

    // Act
    for (let n = 0; n < 45; n++) await send(relay, n);

    // Assess
    const perConnection = new Map<number, number>();
    for (const d of server.delivered) perConnection.set(d.connection, (perConnection.get(d.connection) ?? 0) + 1);
    expect([...perConnection.values()]).toEqual([20, 20, 5]);
    expect(server.quits).toBe(2);
  });

  it('QUITs a session idle past the limit, and the next message opens a new one', async () => {
    // Prepare
    const server = await startServer();
    const relay = relayTo(server, { sessionIdleMs: 150 });
    await send(relay, 0);

    // Act
    await until(() => server.quits === 1 && server.open === 0);
    const [reply] = await send(relay, 1);

    // Assess
    expect(reply).toMatchObject({ code: 250 });
    expect(server.connections).toBe(2);
  });

  it('close() QUITs the idle sessions; a relay after it QUITs its own session at once', async () => {
    // Prepare
    const server = await startServer();
    const relay = relayTo(server);
    await send(relay, 0);
    expect(server.open).toBe(1);

    // Act
    await relay.close();
    await until(() => server.open === 0);
    await send(relay, 1);
    await until(() => server.open === 0);

    // Assess
    expect(server.quits).toBe(2);
    expect(server.delivered).toHaveLength(2);
  });

  it('messagesPerSession 1 is one session per message, QUIT after each', async () => {
    // Prepare
    const server = await startServer();
    const relay = relayTo(server, { messagesPerSession: 1 });

    // Act
    for (let n = 0; n < 3; n++) await send(relay, n);
    await until(() => server.open === 0);

    // Assess
    expect(server.connections).toBe(3);
    expect(server.quits).toBe(3);
    expect(server.rsets).toBe(0);
  });

  it('with concurrent relays the server never has more sessions (busy and idle) than the bound', async () => {
    // Prepare: relays in waves, so idle sessions and new relays meet
    const server = await startServer({ holdMs: 30 });
    const bound = 3;
    const inner = relayTo(server, { maxSessions: bound });
    const relay = new SessionBoundRelay(inner, bound);

    // Act
    const replies = [];
    for (let wave = 0; wave < 4; wave++) {
      replies.push(...(await Promise.all(Array.from({ length: 10 }, (_, n) => send(relay, wave * 10 + n)))).flat());
      await sleep(wave * 20);
    }

    // Assess
    expect(replies.map((reply) => reply.code)).toEqual(Array(40).fill(250));
    expect(server.delivered).toHaveLength(40);
    expect(server.maxOpen).toBe(bound);
    expect(server.connections).toBeLessThan(40);
  });

  it('without a bound from the caller, no more than maxSessions stay open once the relays are done', async () => {
    // Prepare
    const server = await startServer({ holdMs: 30 });
    const relay = relayTo(server, { maxSessions: 2 });

    // Act
    await Promise.all(Array.from({ length: 6 }, (_, n) => send(relay, n)));
    await until(() => server.open <= 2);
    await sleep(50);

    // Assess
    expect(server.open).toBeLessThanOrEqual(2);
    expect(server.delivered).toHaveLength(6);
  });
});
