// The continuity drill's switching proxy (bench/drill/switching-proxy.ts) on real
// sockets on 127.0.0.1: pass-through to an upstream (also when the upstream is gone or
// dies mid-transfer), hang (accepted, never answered), 421 at the greeting and 451 to
// each recipient (seen by nodemailer, the client the drill uses), and a switch that
// applies to new connections only.
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { createTransport } from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SwitchingProxy, startSwitchingProxy, TEMPFAIL_GREETING } from '../../../../bench/drill/switching-proxy.ts';

/** A line server standing in for the primary: greets, answers each line with "250 got <line>". */
async function startUpstream(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('220 upstream ready\r\n');
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        socket.write(`250 got ${buffered.slice(0, end).trim()}\r\n`);
        buffered = buffered.slice(end + 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

/** A client connection that collects what it receives and notes when it ends. */
function client(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  const state = { received: '', connected: false, closed: false, error: null as string | null };
  socket.on('connect', () => (state.connected = true));
  socket.on('data', (chunk) => (state.received += chunk.toString('latin1')));
  socket.on('error', (error) => (state.error = (error as NodeJS.ErrnoException).code ?? error.message));
  socket.on('close', () => (state.closed = true));
  return { socket, state };
}

async function until(what: string, condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let proxy: SwitchingProxy;
const clients: Socket[] = [];

beforeEach(async () => {
  upstream = await startUpstream();
  proxy = await startSwitchingProxy({ upstream: { host: '127.0.0.1', port: upstream.port } });
});

afterEach(async () => {
  for (const socket of clients.splice(0)) socket.destroy();
  await proxy.close();
  for (const socket of upstream.sockets) socket.destroy();
  await new Promise((resolve) => upstream.server.close(resolve));
});

function open(port = proxy.port) {
  const connection = client(port);
  clients.push(connection.socket);
  return connection;
}

describe('pass-through', () => {
  it('carries both directions and counts the connection while it is open and just after', async () => {
    // Prepare
    const { socket, state } = open();
    await until('the greeting', () => state.received.includes('\n'));
    const openWhileConnected = proxy.open().pass;

    // Act
    socket.write('NOOP\r\n');
    await until('the reply', () => state.received.includes('250 got NOOP'));
    socket.end();
    await until('the close', () => state.closed);
    await until('the proxy to see it', () => proxy.open().pass === 0);

    // Assess
    expect(state.received).toBe('220 upstream ready\r\n250 got NOOP\r\n');
    expect(openWhileConnected).toBe(1);
    expect(proxy.passClosedWithin(1_000)).toBe(1);
    expect(proxy.accepted()).toEqual({ pass: 1, hang: 0, tempfail: 0 });
  });

  it('resets the client without a byte when the upstream is down, as a stopped server would', async () => {
    // Prepare
    for (const socket of upstream.sockets) socket.destroy();
    await new Promise((resolve) => upstream.server.close(resolve));

    // Act
    const { state } = open();
    await until('the close', () => state.closed);

    // Assess
    expect(state.received).toBe('');
    expect(state.error).toBe('ECONNRESET');
    expect(proxy.open().pass).toBe(0);
  });

  it('ends a client that keeps sending when the upstream dies mid-transfer, instead of leaving it blocked', async () => {
    // Prepare: a client in the middle of a large DATA
    const { socket, state } = open();
    await until('the greeting', () => state.received.includes('\n'));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const writer = setInterval(() => socket.writable && socket.write(chunk), 5);

    // Act: the primary goes away
    await pause(50);
    for (const server of upstream.sockets) server.destroy();
    await until('the client to be closed', () => state.closed, 8_000).finally(() => clearInterval(writer));
    const proxyLetGo = await until('the proxy to let go of it', () => proxy.open().pass === 0, 3_000).then(
      () => true,
      () => false,
    );

    // Assess
    expect(proxyLetGo).toBe(true);
  });
});

describe('hang', () => {
  it('accepts connections and never answers them', async () => {
    // Prepare
    proxy.setMode({ kind: 'hang' });

    // Act
    const { socket, state } = open();
    await until('the connection', () => state.connected);
    socket.write('EHLO client.test\r\n');
    await pause(500);

    // Assess
    expect(state.received).toBe('');
    expect(state.closed).toBe(false);
    expect(proxy.open()).toEqual({ pass: 0, hang: 1, tempfail: 0 });
    expect(upstream.sockets.size).toBe(0);
  });
});

describe('temporary refusal', () => {
  it('answers 421 at the greeting and closes', async () => {
    // Prepare
    proxy.setMode({ kind: 'tempfail', at: 'greeting' });

    // Act
    const { state } = open();
    await until('the close', () => state.closed);

    // Assess
    expect(state.received).toBe(`${TEMPFAIL_GREETING}\r\n`);
    expect(upstream.sockets.size).toBe(0);
  });

  it('greets, then refuses every recipient with 451, as nodemailer sees it', async () => {
    // Prepare
    proxy.setMode({ kind: 'tempfail', at: 'rcpt' });
    const transport = createTransport({ host: '127.0.0.1', port: proxy.port, secure: false, ignoreTLS: true, connectionTimeout: 2_000 });

    // Act
    const error = await transport
      .sendMail({
        envelope: { from: 'sender@elsewhere.test', to: ['alice@corp.test', 'bob@corp.test'] },
        raw: 'Subject: x\r\n\r\nbody\r\n',
      })
      .then(
        () => null,
        (failure: { responseCode?: number; rejected?: string[]; message: string }) => failure,
      );
    transport.close();

    // Assess
    expect(error?.responseCode).toBe(451);
    expect(error?.message).toContain('451 4.3.0');
    expect(upstream.sockets.size).toBe(0);
  });
});

describe('switching', () => {
  it('applies a new mode to new connections and leaves open ones as they were', async () => {
    // Prepare: one connection through to the upstream
    const first = open();
    await until('the first greeting', () => first.state.received.includes('\n'));

    // Act: the primary starts to hang; the old connection still works, a new one hangs
    proxy.setMode({ kind: 'hang' });
    const second = open();
    await until('the second connection', () => second.state.connected);
    first.socket.write('NOOP\r\n');
    await until('the first reply', () => first.state.received.includes('250 got NOOP'));
    await pause(300);

    // Assess
    expect(second.state.received).toBe('');
    expect(proxy.mode()).toEqual({ kind: 'hang' });
    expect(proxy.open()).toEqual({ pass: 1, hang: 1, tempfail: 0 });
  });
});
