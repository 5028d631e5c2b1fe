// A TCP proxy in front of the drill's primary (Postfix) that can be switched between
// the ways a primary fails: pass-through (the primary as it is, up or stopped), hang
// (connections accepted, never answered), and temporary refusal (421 at the greeting,
// or a greeting followed by 451 to every recipient). A mode applies to connections
// accepted after the switch; connections already open keep the mode they got, as they
// would with a real server that breaks or recovers.
//
// The proxy never answers with a 5xx: it stands for a primary that is temporarily
// unavailable, and a permanent reply would make the relay give up on a message.
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = { kind: 'pass' } | { kind: 'hang' } | { kind: 'tempfail'; at: 'greeting' | 'rcpt' };

export interface ProxyCounts {
  pass: number;
  hang: number;
  tempfail: number;
}

export interface SwitchingProxy {
  readonly host: string;
  readonly port: number;
  mode(): ProxyMode;
  setMode(mode: ProxyMode): void;
  /** Connections open now, by the mode they were accepted in. */
  open(): ProxyCounts;
  /** Connections accepted so far, by mode. */
  accepted(): ProxyCounts;
  /** Pass-through connections that closed in the last `ms` milliseconds (up to 10 s back): relays whose outcome may not be recorded yet. */
  passClosedWithin(ms: number): number;
  close(): Promise<void>;
}

export interface SwitchingProxyOptions {
  upstream: { host: string; port: number };
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  mode?: ProxyMode;
  /** Name in the greeting and EHLO reply of the tempfail responder. */
  serverName?: string;
}

export const TEMPFAIL_GREETING = '421 4.3.2 Service not available, closing transmission channel';
export const TEMPFAIL_REPLY = '451 4.3.0 Temporary server error, please try again later';

export async function startSwitchingProxy(options: SwitchingProxyOptions): Promise<SwitchingProxy> {
  const host = options.host ?? '127.0.0.1';
  const name = options.serverName ?? 'drill-primary.invalid';
  let mode: ProxyMode = options.mode ?? { kind: 'pass' };
  const sockets = new Set<Socket>();
  const open: ProxyCounts = { pass: 0, hang: 0, tempfail: 0 };
  const accepted: ProxyCounts = { pass: 0, hang: 0, tempfail: 0 };
  let passCloses: number[] = [];

  const track = (socket: Socket, kind: keyof ProxyCounts): void => {
    sockets.add(socket);
    open[kind] += 1;
    accepted[kind] += 1;
    socket.once('close', () => {
      sockets.delete(socket);
      open[kind] -= 1;
      if (kind === 'pass') {
        const now = Date.now();
        passCloses = passCloses.filter((at) => now - at <= 10_000);
        passCloses.push(now);
      }
    });
    // a peer that vanishes (a SIGKILLed relay) resets the socket: not the proxy's error
    socket.on('error', () => socket.destroy());
  };

  const server: Server = createServer((client) => {
    const current = mode;
    track(client, current.kind);
    if (current.kind === 'pass') {
      passThrough(client, options.upstream, sockets);
    } else if (current.kind === 'hang') {
      // read and drop whatever the client sends, never answer
      client.on('data', () => undefined);
    } else if (current.at === 'greeting') {
      client.end(`${TEMPFAIL_GREETING}\r\n`);
    } else {
      tempfailResponder(client, name);
    }
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    host,
    port,
    mode: () => mode,
    setMode: (next) => {
      mode = next;
    },
    open: () => ({ ...open }),
    accepted: () => ({ ...accepted }),
    passClosedWithin: (ms) => {
      const now = Date.now();
      return passCloses.filter((at) => now - at <= ms).length;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Both directions piped to a fresh upstream connection; a refused upstream resets the client, as a stopped server would. */
function passThrough(client: Socket, upstream: { host: string; port: number }, sockets: Set<Socket>): void {
  client.pause();
  const server = connect({ host: upstream.host, port: upstream.port });
  sockets.add(server);
  server.once('close', () => sockets.delete(server));
  let connected = false;
  server.once('connect', () => {
    connected = true;
    client.pipe(server);
    server.pipe(client);
    client.resume();
  });
  server.on('error', () => {
    if (client.destroyed) return;
    // Refused: RST rather than FIN, so the client sees what a stopped Postfix gives it.
    // (Once data has flowed, resetAndDestroy can fail with EINVAL and leave the socket open.)
    if (!connected && typeof client.resetAndDestroy === 'function') client.resetAndDestroy();
    else client.destroy();
  });
  client.once('close', () => server.destroy());
  server.once('close', () => {
    // What the client still sends has nowhere to go: drop it, as the kernel of a dead
    // server would, so a client in the middle of DATA is not left blocked on a full window.
    client.unpipe(server);
    client.on('data', () => undefined);
    client.resume();
    client.end();
    setTimeout(() => client.destroy(), 5_000).unref();
  });
}

/**
 * A primary that greets and then refuses every recipient temporarily: EHLO/HELO, MAIL,
 * RSET and NOOP are answered as usual, every RCPT (and anything else) with 451, QUIT
 * with 221. It offers no extensions, so a client cannot start TLS or pipeline.
 */
function tempfailResponder(client: Socket, name: string): void {
  let buffered = '';
  const reply = (line: string) => {
    if (!client.destroyed && client.writable) client.write(`${line}\r\n`);
  };
  reply(`220 ${name} ESMTP`);
  client.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end).replace(/\r$/, '');
      buffered = buffered.slice(end + 1);
      const verb = line.split(' ', 1)[0]!.toUpperCase();
      if (verb === 'EHLO') reply(`250 ${name}`);
      else if (verb === 'HELO') reply(`250 ${name}`);
      else if (verb === 'MAIL') reply('250 2.1.0 Ok');
      else if (verb === 'RSET' || verb === 'NOOP') reply('250 2.0.0 Ok');
      else if (verb === 'QUIT') {
        client.end('221 2.0.0 Bye\r\n');
        return;
      } else reply(TEMPFAIL_REPLY);
    }
    // a client that sends an endless line gets nothing more
    if (buffered.length > 4096) client.destroy();
  });
}
