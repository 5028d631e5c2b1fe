// SmtpRelayAdapter against a real SMTP server (smtp-server on 127.0.0.1): per-recipient
// replies, failures that must come back as code 0 (refused, hang, TLS, auth), and byte
// exactness of DATA, including SMTP smuggling sequences, checked both on what the server
// stored and on the raw bytes that crossed the socket.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SmtpRelayAdapter, type SmtpRelayOptions } from '../../../../../lambdas/adapters/smtp/smtp-relay.ts';
import { RetryableError } from '../../../../../lambdas/core/errors.ts';
import { createSelfSignedCertificate, type SelfSignedCertificate } from '../../../../support/postfix.ts';
import { SMUGGLING_SEQUENCES } from '../../../../support/smtp-smuggling.ts';

// ---------------------------------------------------------------------------------------
// A recording SMTP server

interface Stored {
  from: string;
  to: string[];
  data: Buffer;
  bodyType: string | undefined;
  smtpUtf8: boolean | undefined;
  secure: boolean;
  user: unknown;
  ehloName: string;
}

type Reply = [code: number, text: string];

interface TestServerOptions {
  /** Recipients to refuse at RCPT, with the reply. */
  rcpt?: Record<string, Reply>;
  mailFrom?: Reply;
  /** Reply at end of DATA instead of 250; 'hang' never answers. */
  dataReply?: Reply | 'hang';
  /** Offer STARTTLS with this certificate (otherwise STARTTLS is not offered at all). */
  startTls?: SelfSignedCertificate;
  /** TLS from the first byte with this certificate. */
  implicitTls?: SelfSignedCertificate;
  /** Require AUTH PLAIN/LOGIN with these credentials. */
  auth?: { user: string; pass: string };
}

interface TestServer {
  port: number;
  stored: Stored[];
  /** Every byte each client connection sent, in order (plain connections only). */
  wire: Buffer[][];
  mailFromSeen: number;
  authAttempts: Array<{ method: string; username: string | undefined }>;
  close(): Promise<void>;
}

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const stored: Stored[] = [];
  const wire: Buffer[][] = [];
  const authAttempts: TestServer['authAttempts'] = [];
  const state = { mailFromSeen: 0 };
  const tlsCert = options.implicitTls ?? options.startTls;
  const disabled = [...(options.auth ? [] : ['AUTH']), ...(options.startTls || options.implicitTls ? [] : ['STARTTLS'])];
  const reject = ([code, text]: Reply) => Object.assign(new Error(text), { responseCode: code });
  const serverOptions: SMTPServerOptions = {
    logger: false,
    disableReverseLookup: true,
    disabledCommands: disabled,
    secure: !!options.implicitTls,
    ...(tlsCert ? { key: tlsCert.keyPem, cert: tlsCert.certPem } : {}),
    authMethods: ['PLAIN', 'LOGIN'],
    socketTimeout: 30_000,
    // a hanging onData keeps a connection open, and close() waits this long for it
    closeTimeout: 100,
    onAuth(auth, _session, callback) {
      authAttempts.push({ method: auth.method, username: auth.username });
      if (auth.username === options.auth?.user && auth.password === options.auth?.pass) return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onMailFrom(_address, _session, callback) {
      state.mailFromSeen++;
      callback(options.mailFrom ? reject(options.mailFrom) : null);
    },
    onRcptTo(address, _session, callback) {
      const refusal = options.rcpt?.[address.address];
      callback(refusal ? reject(refusal) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        stored.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '(none)',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          data: Buffer.concat(chunks),
          bodyType: session.envelope.bodyType,
          smtpUtf8: session.envelope.smtpUtf8,
          secure: session.secure,
          user: session.user,
          ehloName: session.hostNameAppearsAs,
        });
        if (options.dataReply === 'hang') return;
        if (options.dataReply) return callback(reject(options.dataReply));
        callback(null, `Ok: queued as M${stored.length}`);
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  if (!options.implicitTls) {
    server.server.on('connection', (socket: Socket) => {
      const chunks: Buffer[] = [];
      wire.push(chunks);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  const handle: TestServer = {
    port: address.port,
    stored,
    wire,
    get mailFromSeen() {
      return state.mailFromSeen;
    },
    authAttempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  servers.push(handle);
  return handle;
}

/** A TCP server that accepts connections and never says a word. */
async function startSilentServer(): Promise<{ port: number; connections: () => number }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
  return { port: (server.address() as { port: number }).port, connections: () => count };
}

/** A port nobody listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------
// helpers

const SHORT_TIMEOUTS = {
  connectionTimeoutMs: 2_000,
  greetingTimeoutMs: 500,
  socketTimeoutMs: 1_000,
  totalTimeoutMs: 5_000,
  quitTimeoutMs: 500,
};

function relayTo(port: number, options: Partial<SmtpRelayOptions> = {}): SmtpRelayAdapter {
  return new SmtpRelayAdapter({ host: '127.0.0.1', port, tls: 'none', name: 'shadowmail.test', ...SHORT_TIMEOUTS, ...options });
}

function source(bytes: Buffer | string, chunkSizes: number[] = []): { open: () => Promise<Readable>; opened: () => number } {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  let opened = 0;
  return {
    opened: () => opened,
    open: async () => {
      opened++;
      if (chunkSizes.length === 0) return Readable.from([data]);
      // uneven chunks put CR, LF and dots on chunk boundaries
      const chunks: Buffer[] = [];
      for (let offset = 0, i = 0; offset < data.length; i++) {
        const size = chunkSizes[i % chunkSizes.length]!;
        chunks.push(data.subarray(offset, offset + size));
        offset += size;
      }
      return Readable.from(chunks);
    },
  };
}

/**
 * The rule the adapter documents, written independently here: CRLF, bare CR and bare LF
 * each become CRLF, and a final CRLF is added when the message does not end with one.
 */
function smtpForm(input: Buffer): Buffer {
  let text = input.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  if (!text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(text, 'latin1');
}

/** The DATA section as sent on the wire: from after the 354 (the DATA command line) to the end of the connection's data. */
function dataSectionOnWire(connection: Buffer[]): Buffer {
  const all = Buffer.concat(connection);
  const data = all.indexOf('\r\nDATA\r\n');
  if (data < 0) throw new Error('no DATA command on the wire');
  return all.subarray(data + '\r\nDATA\r\n'.length);
}

const SIMPLE = 'From: a@partner.test\r\nTo: alice@corp.test\r\nSubject: hi\r\n\r\nHello\r\n';

// ---------------------------------------------------------------------------------------

describe('SmtpRelayAdapter', () => {
  let certDir: string;
  let cert: SelfSignedCertificate;
  let otherCert: SelfSignedCertificate;

  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'smtp-relay-test-'));
    cert = await createSelfSignedCertificate(join(certDir, 'server'), {
      commonName: 'primary.corp.test',
      dnsNames: ['primary.corp.test', 'localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    otherCert = await createSelfSignedCertificate(join(certDir, 'other'), { commonName: 'other.test', ipAddresses: ['127.0.0.1'] });
  });

  afterAll(async () => {
    await rm(certDir, { recursive: true, force: true });
  });

  describe('per-recipient replies', () => {
    it('gives each recipient its RCPT refusal or the end-of-DATA reply, with the original envelope', async () => {
      // Prepare
      const server = await startServer({ rcpt: { 'b@corp.test': [451, 'try again later'], 'c@corp.test': [550, 'no such user'] } });
      const message = source(SIMPLE);

      // Act
      const replies = await relayTo(server.port).relay(
        { from: 'sender@partner.test', recipients: ['a@corp.test', 'b@corp.test', 'c@corp.test', 'd@corp.test'] },
        message.open,
      );

      // Assess
      expect(replies).toEqual([
        { recipient: 'a@corp.test', code: 250, response: '250 Ok: queued as M1' },
        { recipient: 'b@corp.test', code: 451, response: '451 try again later' },
        { recipient: 'c@corp.test', code: 550, response: '550 no such user' },
        { recipient: 'd@corp.test', code: 250, response: '250 Ok: queued as M1' },
      ]);
      expect(server.stored).toHaveLength(1);
      expect(server.stored[0]).toMatchObject({
        from: 'sender@partner.test',
        to: ['a@corp.test', 'd@corp.test'],
        ehloName: 'shadowmail.test',
      });
      expect(server.stored[0]!.data.toString('latin1')).toBe(SIMPLE);
    });

    it('sends the null sender as MAIL FROM:<>', async () => {
      // Prepare
      const server = await startServer();

      // Act
      const replies = await relayTo(server.port).relay({ from: '', recipients: ['a@corp.test'] }, source(SIMPLE).open);

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.stored[0]!.from).toBe('');
      const commands = Buffer.concat(server.wire[0]!).toString('latin1');
      expect(commands).toMatch(/^MAIL FROM:<>( |\r\n)/m);
    });

    it.each([
      [452, 'insufficient storage, try later'],
      [554, 'message refused by content filter'],
    ])('gives the end-of-DATA reply %i to every accepted recipient and keeps the RCPT refusals', async (code, text) => {
      // Prepare
      const server = await startServer({ rcpt: { 'c@corp.test': [550, 'no such user'] }, dataReply: [code, text] });

      // Act
      const replies = await relayTo(server.port).relay(
        { from: 's@partner.test', recipients: ['a@corp.test', 'c@corp.test', 'd@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies).toEqual([
        { recipient: 'a@corp.test', code, response: `${code} ${text}` },
        { recipient: 'c@corp.test', code: 550, response: '550 no such user' },
        { recipient: 'd@corp.test', code, response: `${code} ${text}` },
      ]);
    });

    it('sends no DATA and never opens the message when every recipient is refused', async () => {
      // Prepare
      const server = await startServer({ rcpt: { 'a@corp.test': [550, 'no such user'], 'b@corp.test': [450, 'mailbox busy'] } });
      const message = source(SIMPLE);

      // Act
      const replies = await relayTo(server.port).relay(
        { from: 's@partner.test', recipients: ['a@corp.test', 'b@corp.test'] },
        message.open,
      );

      // Assess
      expect(replies).toEqual([
        { recipient: 'a@corp.test', code: 550, response: '550 no such user' },
        { recipient: 'b@corp.test', code: 450, response: '450 mailbox busy' },
      ]);
      expect(message.opened()).toBe(0);
      expect(server.stored).toHaveLength(0);
      expect(Buffer.concat(server.wire[0]!).toString('latin1')).not.toContain('Subject: hi');
    });

    it('gives every recipient the reply to a refused MAIL FROM', async () => {
      // Prepare
      const server = await startServer({ mailFrom: [553, 'sender not allowed'] });

      // Act
      const replies = await relayTo(server.port).relay(
        { from: 'x@partner.test', recipients: ['a@corp.test', 'b@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies.map((reply) => [reply.code, reply.response])).toEqual([
        [553, '553 sender not allowed'],
        [553, '553 sender not allowed'],
      ]);
      expect(server.stored).toHaveLength(0);
    });

    it('answers an address that cannot be written in RCPT TO with code 0 and still relays to the others', async () => {
      // Prepare
      const server = await startServer();

      // Act
      const replies = await relayTo(server.port).relay(
        { from: 's@partner.test', recipients: ['a@corp.test', 'evil>\r\nRCPT TO:<x@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies[0]).toMatchObject({ recipient: 'a@corp.test', code: 250 });
      expect(replies[1]!.code).toBe(0);
      expect(replies[1]!.response).toMatch(/cannot be written in RCPT TO/);
      expect(server.stored.map((stored) => stored.to)).toEqual([['a@corp.test']]);
    });

    it('sends a recipient listed twice once, and maps replies back to addresses with stray blanks', async () => {
      // Prepare
      const server = await startServer({ rcpt: { 'b@corp.test': [550, 'no such user'] } });

      // Act
      const replies = await relayTo(server.port).relay(
        { from: 's@partner.test', recipients: ['a@corp.test', ' b@corp.test ', 'a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies.map((reply) => [reply.recipient, reply.code])).toEqual([
        ['a@corp.test', 250],
        [' b@corp.test ', 550],
        ['a@corp.test', 250],
      ]);
      expect(server.stored.map((stored) => stored.to)).toEqual([['a@corp.test']]);
    });

    it('declares SMTPUTF8 for an internationalized address and BODY=8BITMIME when the server offers them', async () => {
      // Prepare
      const server = await startServer();

      // Act
      const replies = await relayTo(server.port).relay(
        { from: 'josé@partner.test', recipients: ['jürgen@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.stored[0]).toMatchObject({ from: 'josé@partner.test', to: ['jürgen@corp.test'], smtpUtf8: true, bodyType: '8bitmime' });
    });
  });

  describe('failures before an answer come back as code 0', () => {
    it('connection refused', async () => {
      // Prepare
      const port = await closedPort();
      const message = source(SIMPLE);

      // Act
      const replies = await relayTo(port).relay({ from: 's@partner.test', recipients: ['a@corp.test', 'b@corp.test'] }, message.open);

      // Assess
      expect(replies.map((reply) => reply.code)).toEqual([0, 0]);
      expect(replies[0]!.response).toMatch(/ECONNREFUSED|refused/i);
      expect(message.opened()).toBe(0);
    });

    it('a server that accepts the connection but never greets: greeting timeout, bounded', async () => {
      // Prepare
      const silent = await startSilentServer();
      const started = Date.now();

      // Act
      const replies = await relayTo(silent.port, { greetingTimeoutMs: 300 }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      const elapsed = Date.now() - started;
      expect(silent.connections()).toBe(1);
      expect(replies[0]!.code).toBe(0);
      expect(replies[0]!.response).toMatch(/timeout/i);
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3_000);
    });

    it('a server that never answers the end of DATA: socket timeout, code 0 (outcome unknown, so retried)', async () => {
      // Prepare
      const server = await startServer({ dataReply: 'hang' });
      const started = Date.now();

      // Act
      const replies = await relayTo(server.port, { socketTimeoutMs: 400 }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(server.stored).toHaveLength(1);
      expect(replies[0]!.code).toBe(0);
      expect(replies[0]!.response).toMatch(/timeout/i);
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('the whole relay is bounded by totalTimeoutMs even when the server trickles along', async () => {
      // Prepare
      const server = await startServer({ dataReply: 'hang' });
      const started = Date.now();

      // Act
      const replies = await relayTo(server.port, { socketTimeoutMs: 60_000, totalTimeoutMs: 500 }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies[0]!.code).toBe(0);
      expect(replies[0]!.response).toMatch(/within 500 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);
    });
  });

  describe('TLS', () => {
    it('starttls-required refuses to send when the server does not offer STARTTLS', async () => {
      // Prepare
      const server = await startServer();
      const message = source(SIMPLE);

      // Act
      const replies = await relayTo(server.port, { tls: 'starttls-required' }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test', 'b@corp.test'] },
        message.open,
      );

      // Assess
      expect(replies.map((reply) => reply.code)).toEqual([0, 0]);
      expect(replies[0]!.response).toMatch(/STARTTLS/);
      expect(server.mailFromSeen).toBe(0);
      expect(server.stored).toHaveLength(0);
      expect(message.opened()).toBe(0);
    });

    it('starttls-required is the default', async () => {
      // Prepare
      const server = await startServer();

      // Act
      const replies = await new SmtpRelayAdapter({ host: '127.0.0.1', port: server.port, ...SHORT_TIMEOUTS }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies[0]!.code).toBe(0);
      expect(server.stored).toHaveLength(0);
    });

    it('upgrades with STARTTLS to a self-signed certificate pinned with `ca`', async () => {
      // Prepare
      const server = await startServer({ startTls: cert });

      // Act
      const replies = await relayTo(server.port, { tls: 'starttls-required', ca: cert.certPem }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.stored[0]!.secure).toBe(true);
      expect(server.stored[0]!.data.toString('latin1')).toBe(SIMPLE);
    });

    it('refuses a certificate that is not the pinned one, and a self-signed one without a pin', async () => {
      // Prepare
      const server = await startServer({ startTls: cert });

      // Act
      const wrongPin = await relayTo(server.port, { tls: 'starttls-required', ca: otherCert.certPem }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );
      const noPin = await relayTo(server.port, { tls: 'starttls-required' }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(wrongPin[0]!.code).toBe(0);
      expect(noPin[0]!.code).toBe(0);
      expect(noPin[0]!.response).toMatch(/certificate/i);
      expect(server.stored).toHaveLength(0);
    });

    it('rejectUnauthorized: false accepts an unpinned self-signed certificate', async () => {
      // Prepare
      const server = await startServer({ startTls: cert });

      // Act
      const replies = await relayTo(server.port, { tls: 'starttls-required', rejectUnauthorized: false }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.stored[0]!.secure).toBe(true);
    });

    it('starttls-opportunistic sends in plaintext when STARTTLS is not offered', async () => {
      // Prepare
      const server = await startServer();

      // Act
      const replies = await relayTo(server.port, { tls: 'starttls-opportunistic' }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.stored[0]!.secure).toBe(false);
    });

    it('implicit TLS from the first byte', async () => {
      // Prepare
      const server = await startServer({ implicitTls: cert });

      // Act
      const replies = await relayTo(server.port, { tls: 'implicit', ca: cert.certPem }).relay(
        { from: 's@partner.test', recipients: ['a@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.stored[0]!.secure).toBe(true);
    });
  });

  describe('AUTH', () => {
    it.each(['PLAIN', 'LOGIN'] as const)('logs in with AUTH %s after STARTTLS', async (method) => {
      // Prepare
      const server = await startServer({ startTls: cert, auth: { user: 'relay@corp.test', pass: 'pä$$ word' } });

      // Act
      const replies = await relayTo(server.port, {
        tls: 'starttls-required',
        ca: cert.certPem,
        auth: { user: 'relay@corp.test', pass: 'pä$$ word', method },
      }).relay({ from: 's@partner.test', recipients: ['a@corp.test'] }, source(SIMPLE).open);

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.authAttempts).toEqual([{ method, username: 'relay@corp.test' }]);
      expect(server.stored[0]!.user).toBe('relay@corp.test');
    });

    it('a wrong password is code 0 with the reason, and nothing is sent', async () => {
      // Prepare
      const server = await startServer({ startTls: cert, auth: { user: 'relay@corp.test', pass: 'right' } });

      // Act
      const replies = await relayTo(server.port, {
        tls: 'starttls-required',
        ca: cert.certPem,
        auth: { user: 'relay@corp.test', pass: 'wrong' },
      }).relay({ from: 's@partner.test', recipients: ['a@corp.test'] }, source(SIMPLE).open);

      // Assess
      expect(replies[0]!.code).toBe(0);
      expect(replies[0]!.response).toMatch(/authentication.*535/i);
      expect(server.mailFromSeen).toBe(0);
    });

    it('never sends credentials over a session that did not get encrypted', async () => {
      // Prepare
      const server = await startServer({ auth: { user: 'relay@corp.test', pass: 'secret' } });

      // Act
      const replies = await relayTo(server.port, {
        tls: 'starttls-opportunistic',
        auth: { user: 'relay@corp.test', pass: 'secret' },
      }).relay({ from: 's@partner.test', recipients: ['a@corp.test'] }, source(SIMPLE).open);

      // Assess
      expect(replies[0]!.code).toBe(0);
      expect(replies[0]!.response).toMatch(/unencrypted/);
      expect(server.authAttempts).toEqual([]);
      expect(Buffer.concat(server.wire[0]!).toString('latin1')).not.toMatch(/AUTH/);
    });
  });

  describe('bytes', () => {
    const INJECTED = 'MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@corp.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nowned\r\n';

    function nastyMessage(): Buffer {
      const parts: Buffer[] = [
        Buffer.from(
          '.Starts-With-Dot: header line begins with a dot\r\nFrom: a@partner.test\r\nSubject: bytes \xe4\xf6\xfc\r\n\r\n',
          'latin1',
        ),
        Buffer.from('.\r\n..\r\n...\r\n. \r\n.leading dot\r\n', 'latin1'),
        Buffer.from('mixed\nLF only\nlines\r\nand a bare\rCR\rhere\r\r\n\n\r', 'latin1'),
        Buffer.from('NUL:\x00:inside\r\n\x00\r\n', 'latin1'),
        Buffer.from([0x38, 0x62, 0x69, 0x74, 0x3a, 0x80, 0x9f, 0xa0, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0xfe, 0x0d, 0x0a]),
        Buffer.from(
          `${'a'.repeat(998)}\r\n${'b'.repeat(999)}\r\n${'c'.repeat(1000)}\r\n${'.'.repeat(1500)}\r\n${'d'.repeat(70_000)}\r\n`,
          'latin1',
        ),
      ];
      for (const sequence of SMUGGLING_SEQUENCES) parts.push(Buffer.from(`before${sequence}${INJECTED}after\r\n`, 'latin1'));
      parts.push(Buffer.from('last line without line ending .', 'latin1'));
      return Buffer.concat(parts);
    }

    it.each([
      ['in one chunk', []],
      ['in 1-byte chunks', [1]],
      ['in uneven chunks', [2, 3, 5, 7, 11, 13, 64, 1]],
    ])('delivers exactly one message whose content is the input in SMTP form (%s)', async (_name, chunkSizes) => {
      // Prepare
      const server = await startServer();
      const input = nastyMessage();

      // Act
      const replies = await relayTo(server.port).relay(
        { from: 's@partner.test', recipients: ['alice@corp.test'] },
        source(input, chunkSizes).open,
      );

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.stored).toHaveLength(1);
      expect(server.stored[0]!.to).toEqual(['alice@corp.test']);
      expect(server.stored[0]!.data.equals(smtpForm(input))).toBe(true);
      expect(server.stored[0]!.bodyType).toBe('8bitmime');
    });

    it('puts no bare CR or LF and exactly one end-of-DATA on the wire, every other line dot-stuffed', async () => {
      // Prepare
      const server = await startServer();
      const input = nastyMessage();

      // Act: the session stays open for a next message until close() QUITs it
      const relay = relayTo(server.port);
      await relay.relay({ from: 's@partner.test', recipients: ['alice@corp.test'] }, source(input, [3, 1, 4, 1, 5, 9, 2, 6]).open);
      await relay.close();

      // Assess
      const wire = dataSectionOnWire(server.wire[0]!).toString('latin1');
      const end = wire.indexOf('\r\n.\r\n');
      expect(end).toBeGreaterThan(0);
      expect(wire.slice(end + 5)).toBe('QUIT\r\n');
      const section = wire.slice(0, end + 2);
      expect(section).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
      // RFC 5321 §4.5.2: a line starting with '.' goes out with one more '.'
      const lines = section.split('\r\n').slice(0, -1);
      const expected = smtpForm(input).toString('latin1').split('\r\n').slice(0, -1);
      expect(lines).toEqual(expected.map((line) => (line.startsWith('.') ? `.${line}` : line)));
    });

    it('relays an empty message as one empty line', async () => {
      // Prepare
      const server = await startServer();

      // Act
      const replies = await relayTo(server.port).relay({ from: 's@partner.test', recipients: ['a@corp.test'] }, source('').open);

      // Assess
      expect(replies[0]!.code).toBe(250);
      expect(server.stored[0]!.data.toString('latin1')).toBe('\r\n');
    });
  });

  describe('faults: why a session gave no verdict, named by the adapter', () => {
    const one = { from: 's@partner.test', recipients: ['a@corp.test'] };

    it('no TCP connection is unreachable, a silent server a timeout', async () => {
      // Prepare
      const refused = await closedPort();
      const silent = await startSilentServer();

      // Act
      const [unreachable] = await relayTo(refused).relay(one, source(SIMPLE).open);
      const [timeout] = await relayTo(silent.port, { greetingTimeoutMs: 300 }).relay(one, source(SIMPLE).open);

      // Assess
      expect(unreachable).toMatchObject({ code: 0, fault: 'unreachable' });
      expect(timeout).toMatchObject({ code: 0, fault: 'timeout' });
    });

    it('TLS that cannot be had as configured is a tls fault: STARTTLS not offered, a certificate not trusted or not for the name', async () => {
      // Prepare
      const plain = await startServer();
      const tls = await startServer({ startTls: cert });

      // Act
      const [notOffered] = await relayTo(plain.port, { tls: 'starttls-required' }).relay(one, source(SIMPLE).open);
      const [untrusted] = await relayTo(tls.port, { tls: 'starttls-required' }).relay(one, source(SIMPLE).open);
      const [wrongName] = await relayTo(tls.port, { tls: 'starttls-required', ca: cert.certPem, servername: 'exchange.other.test' }).relay(
        one,
        source(SIMPLE).open,
      );
      const [credentialsInPlaintext] = await relayTo(plain.port, { tls: 'starttls-opportunistic', auth: { user: 'u', pass: 'p' } }).relay(
        one,
        source(SIMPLE).open,
      );

      // Assess
      expect(notOffered).toMatchObject({ code: 0, fault: 'tls' });
      expect(untrusted).toMatchObject({ code: 0, fault: 'tls' });
      expect(untrusted!.response).toMatch(/certificate/i);
      expect(wrongName).toMatchObject({ code: 0, fault: 'tls' });
      expect(wrongName!.response).toMatch(/exchange\.other\.test/);
      expect(credentialsInPlaintext).toMatchObject({ code: 0, fault: 'tls' });
      expect(tls.stored).toHaveLength(0);
    });

    it('a refused login and a login asked for at MAIL FROM (530) are auth faults; other refusals carry none', async () => {
      // Prepare
      const withAuth = await startServer({ startTls: cert, auth: { user: 'relay@corp.test', pass: 'right' } });
      const wantsLogin = await startServer({ mailFrom: [530, '5.7.1 Client was not authenticated'] });
      const picky = await startServer({ rcpt: { 'b@corp.test': [550, '5.1.1 unknown'], 'c@corp.test': [451, '4.3.0 later'] } });

      // Act
      const [wrongPassword] = await relayTo(withAuth.port, {
        tls: 'starttls-required',
        ca: cert.certPem,
        auth: { user: 'relay@corp.test', pass: 'wrong' },
      }).relay(one, source(SIMPLE).open);
      const [noLogin] = await relayTo(wantsLogin.port).relay(one, source(SIMPLE).open);
      const others = await relayTo(picky.port).relay(
        { from: 's@partner.test', recipients: ['a@corp.test', 'b@corp.test', 'c@corp.test'] },
        source(SIMPLE).open,
      );

      // Assess
      expect(wrongPassword).toMatchObject({ code: 0, fault: 'auth' });
      expect(wrongPassword!.response).toMatch(/535/);
      expect(noLogin).toMatchObject({ code: 530, fault: 'auth' });
      expect(noLogin!.response).toMatch(/^530 5\.7\.1 Client was not authenticated/);
      expect(others.map((reply) => [reply.code, reply.fault])).toEqual([
        [250, undefined],
        [550, undefined],
        [451, undefined],
      ]);
    });

    it('reads the credentials for every session, and afresh once the server refused them', async () => {
      // Prepare
      const server = await startServer({ startTls: cert, auth: { user: 'relay@corp.test', pass: 'new password' } });
      const secret = { value: { user: 'relay@corp.test', pass: 'old password' }, reads: 0, refusals: 0 };
      const credentials = {
        current: async () => {
          secret.reads++;
          return secret.value;
        },
        refused: () => {
          secret.refusals++;
        },
      };
      const relay = relayTo(server.port, { tls: 'starttls-required', ca: cert.certPem, credentials });

      // Act
      const [before] = await relay.relay(one, source(SIMPLE).open);
      secret.value = { user: 'relay@corp.test', pass: 'new password' };
      const [after] = await relay.relay(one, source(SIMPLE).open);

      // Assess
      expect(before).toMatchObject({ code: 0, fault: 'auth' });
      expect(after).toMatchObject({ code: 250 });
      expect(after!.fault).toBeUndefined();
      expect(secret).toMatchObject({ reads: 2, refusals: 1 });
      expect(server.stored.map((stored) => stored.user)).toEqual(['relay@corp.test']);
    });
  });

  describe('reused sessions', () => {
    const one = { from: 's@partner.test', recipients: ['a@corp.test'] };

    it('logs in once per session, and a changed login is never sent over a session opened with the old one', async () => {
      // Prepare
      const server = await startServer({ startTls: cert, auth: { user: 'relay@corp.test', pass: 'right' } });
      const secret = { value: { user: 'relay@corp.test', pass: 'right' } };
      const credentials = { current: async () => secret.value, refused: () => undefined };
      const relay = relayTo(server.port, { tls: 'starttls-required', ca: cert.certPem, credentials });

      // Act
      const first = await relay.relay(one, source(SIMPLE).open);
      const second = await relay.relay(one, source(SIMPLE).open);
      secret.value = { user: 'relay@corp.test', pass: 'rotated' };
      const [third] = await relay.relay(one, source(SIMPLE).open);
      await relay.close();

      // Assess: the third relay opened a session and logged in with the new secret (refused here)
      expect([...first, ...second].map((reply) => reply.code)).toEqual([250, 250]);
      expect(third).toMatchObject({ code: 0, fault: 'auth' });
      expect(server.authAttempts).toHaveLength(2);
      expect(server.wire).toHaveLength(2);
      expect(server.stored).toHaveLength(2);
    });
  });

  describe('reading the message', () => {
    it('a store that fails mid-message throws, and the server gets no truncated message', async () => {
      // Prepare
      const server = await startServer();
      const broken = async () =>
        Readable.from(
          (async function* () {
            yield Buffer.from('Subject: half\r\n\r\nfirst half\r\n');
            await new Promise((resolve) => setTimeout(resolve, 20));
            throw new Error('S3 connection reset');
          })(),
        );

      // Act
      const outcome = relayTo(server.port).relay({ from: 's@partner.test', recipients: ['a@corp.test'] }, broken);

      // Assess
      await expect(outcome).rejects.toBeInstanceOf(RetryableError);
      await expect(outcome).rejects.toMatchObject({ cause: { message: 'S3 connection reset' } });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.stored).toHaveLength(0);
      expect(dataSectionOnWire(server.wire[0]!).toString('latin1')).not.toContain('\r\n.\r\n');
    });

    it('a store that cannot open the message throws before anything is sent', async () => {
      // Prepare
      const server = await startServer();

      // Act
      const outcome = relayTo(server.port).relay({ from: 's@partner.test', recipients: ['a@corp.test'] }, async () => {
        throw new Error('NoSuchKey');
      });

      // Assess
      await expect(outcome).rejects.toMatchObject({ name: 'RetryableError', cause: { message: 'NoSuchKey' } });
      expect(server.stored).toHaveLength(0);
    });
  });
});
