// Adapter: the smart-host probe (ports/smtp-probe.ts). With the relay's own connection
// settings (smart-host.ts) it goes through a session step by step, never sending DATA,
// each step timed and bounded, the first failure turned into a fault and what to do. Its
// own small SMTP client, because nodemailer's SMTPConnection runs greeting, EHLO and
// STARTTLS as one call and cannot stop after RCPT (docs/design.md §8).
import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { fitsSmtpPath } from '../../core/addresses.ts';
import { ConfigurationError, InvalidInputError } from '../../core/errors.ts';
import type { SmtpCredentials } from '../../ports/smtp-credentials.ts';
import type { ProbeFault, ProbeRequest, ProbeResult, ProbeStep, ProbeStepName, SmtpProbe } from '../../ports/smtp-probe.ts';
import {
  AUTH_PREFERENCE,
  describeTlsError,
  isTlsErrorCode,
  isUnreachableCode,
  mayLogIn,
  replyFault,
  type SmartHostConnection,
  type SmartHostSettings,
  type SmtpAuthMethod,
  smartHostConnection,
} from './smart-host.ts';

/** How long each step may take, and the whole probe (well inside a synchronous invoke). */
export interface SmtpProbeLimits {
  /** Name lookup and TCP connection. */
  connectMs: number;
  /** From the connection to the 220 greeting. */
  greetingMs: number;
  /** Each command's reply: EHLO, STARTTLS with its handshake, AUTH, MAIL FROM, RCPT TO. */
  commandMs: number;
  /** RSET and QUIT: politeness, so short. */
  closeMs: number;
  /** Everything; a step gets what is left when that is less than its own limit. */
  totalMs: number;
}

export const PROBE_LIMITS: SmtpProbeLimits = { connectMs: 10_000, greetingMs: 10_000, commandMs: 10_000, closeMs: 3_000, totalMs: 25_000 };

/** An address the probe would have to write with CR, LF, NUL or angle brackets: refused (RFC 5321 paths are at most 256 octets). */
const MAX_PATH_LENGTH = 256;
const MAX_REPLY_TEXT = 500;

interface Reply {
  code: number;
  /** The reply's lines without their codes, joined. */
  text: string;
}

/** A step that did not get the answer it needed. */
class StepFailure extends Error {
  constructor(
    readonly fault: Exclude<ProbeFault, null>,
    /** The server's answer, when the step failed on one (and the session can still be ended politely). */
    readonly reply: Reply | null,
    message: string,
  ) {
    super(message);
  }
}

export class SmtpProbeAdapter implements SmtpProbe {
  private readonly smartHost: SmartHostConnection;
  private readonly limits: SmtpProbeLimits;

  constructor(settings: SmartHostSettings, limits: Partial<SmtpProbeLimits> = {}) {
    this.smartHost = smartHostConnection(settings);
    this.limits = { ...PROBE_LIMITS, ...limits };
  }

  async probe(request: ProbeRequest): Promise<ProbeResult> {
    for (const [name, address] of [
      ['from', request.from],
      ['recipient', request.recipient],
    ] as const) {
      if (!fitsSmtpPath(address) || address.length > MAX_PATH_LENGTH) {
        throw new InvalidInputError(
          `probe ${name} ${JSON.stringify(address.slice(0, 80))}: an address without CR, LF, NUL or <>, at most ${MAX_PATH_LENGTH} characters`,
        );
      }
    }
    if (request.recipient.trim() === '')
      throw new InvalidInputError('probe recipient: a mailbox of one of the domains is needed for RCPT TO');
    const run = new ProbeRun(this.smartHost, this.limits, request);
    return run.execute();
  }
}

/** One probe: the session, the steps so far, the deadline. */
class ProbeRun {
  readonly steps: ProbeStep[] = [];
  private readonly deadline: number;
  private socket: Socket | TLSSocket | null = null;
  private secure = false;
  private buffer = '';
  private waiter: (() => void) | null = null;
  private closed: Error | null = null;
  private extensions: string[] = [];
  private loggedIn = false;

  constructor(
    private readonly smartHost: SmartHostConnection,
    private readonly limits: SmtpProbeLimits,
    private readonly request: ProbeRequest,
  ) {
    this.deadline = Date.now() + limits.totalMs;
  }

  async execute(): Promise<ProbeResult> {
    let failure: { step: ProbeStepName; error: StepFailure } | null = null;
    let transactionStarted = false;
    try {
      await this.step('connect', this.limits.connectMs, (ms) => this.open(ms));
      await this.step('greeting', this.limits.greetingMs, (ms) => this.greeting(ms));
      await this.ehlo();
      await this.tls();
      await this.login();
      transactionStarted = true;
      await this.step('mail', this.limits.commandMs, (ms) =>
        this.expect(this.command(`MAIL FROM:<${this.request.from}>`, ms), [250], 'refused'),
      );
      await this.step('rcpt', this.limits.commandMs, (ms) =>
        this.expect(this.command(`RCPT TO:<${this.request.recipient}>`, ms), [250, 251], 'refused'),
      );
    } catch (error) {
      if (!(error instanceof StepFailed)) {
        this.socket?.destroy();
        throw error;
      }
      failure = error.failure;
    }
    // RSET and QUIT only where the server is still talking to us
    if (!failure || failure.error.reply) await this.close(transactionStarted);
    this.socket?.destroy();
    const fault = failure?.error.fault ?? null;
    if (fault === 'auth') this.smartHost.credentials?.refused();
    return {
      host: this.smartHost.host,
      port: this.smartHost.port,
      ok: fault === null,
      fault,
      steps: this.steps,
      summary: summarize(this.smartHost, this.request, failure, { secure: this.secure, loggedIn: this.loggedIn }),
    };
  }

  // ---------------------------------------------------------------- the steps

  /** The 220 greeting. A connection closed before any word is no SMTP server's answer: something in between took it. */
  private async greeting(ms: number): Promise<Reply> {
    try {
      return await this.expect(this.readReply(ms), [220], 'refused');
    } catch (error) {
      if (error instanceof StepFailure && error.fault === 'refused' && !error.reply) {
        throw new StepFailure(
          'unreachable',
          null,
          `the connection was closed before the greeting (${error.message}): a firewall or proxy in between`,
        );
      }
      throw error;
    }
  }

  private async ehlo(): Promise<void> {
    const reply = await this.step('ehlo', this.limits.commandMs, (ms) =>
      this.expect(this.command(`EHLO ${this.smartHost.ehloName}`, ms), [250], 'refused'),
    );
    this.extensions = reply.text.split('\n').map((line) => line.trim().toUpperCase());
  }

  private async tls(): Promise<void> {
    const { tls } = this.smartHost;
    if (tls === 'none' || this.secure) return;
    const offered = this.extensions.some((line) => line === 'STARTTLS');
    if (!offered) {
      if (tls === 'starttls-required') {
        await this.step('starttls', 0, async () => {
          throw new StepFailure('tls', null, 'STARTTLS is required (smartHost.tls) but the server does not offer it');
        });
      }
      this.steps.push({
        step: 'starttls',
        ok: true,
        ms: 0,
        reply: 'not offered: the session stays in plaintext (smartHost.tls is starttls-opportunistic)',
      });
      return;
    }
    const upgraded = await this.step('starttls', this.limits.commandMs, async (ms) => {
      const started = Date.now();
      const reply = await this.command('STARTTLS', ms);
      if (reply.code !== 220) {
        if (tls === 'starttls-required') throw new StepFailure('tls', reply, `STARTTLS refused: ${reply.code} ${reply.text}`);
        return {
          ...reply,
          text: `${reply.text} (refused: the session stays in plaintext, smartHost.tls is starttls-opportunistic)`,
          plaintext: true,
        };
      }
      const description = await this.handshake(Math.max(1, ms - (Date.now() - started)));
      return { code: reply.code, text: `${reply.text} — ${description}`, plaintext: false };
    });
    if (!upgraded.plaintext) await this.ehlo();
  }

  private async login(): Promise<void> {
    const source = this.smartHost.credentials;
    if (!source) return;
    await this.step('auth', this.limits.commandMs, async (ms) => {
      if (!mayLogIn(this.smartHost.tls, this.secure)) {
        throw new StepFailure('tls', null, 'not sending the login over an unencrypted session (STARTTLS failed or was not offered)');
      }
      let credentials: SmtpCredentials;
      try {
        credentials = await source.current();
      } catch (error) {
        if (error instanceof ConfigurationError)
          throw new StepFailure('auth', null, `the smart-host credentials are unusable: ${error.message}`);
        throw new StepFailure('auth', null, `the smart-host credentials could not be read: ${(error as Error).message}`);
      }
      const method = this.authMethod();
      const started = Date.now();
      const left = () => Math.max(1, ms - (Date.now() - started));
      let reply: Reply;
      if (method === 'PLAIN') {
        reply = await this.command(
          `AUTH PLAIN ${Buffer.from(`\0${credentials.user}\0${credentials.pass}`, 'utf8').toString('base64')}`,
          left(),
        );
      } else {
        reply = await this.command('AUTH LOGIN', left());
        if (reply.code === 334) reply = await this.command(Buffer.from(credentials.user, 'utf8').toString('base64'), left());
        if (reply.code === 334) reply = await this.command(Buffer.from(credentials.pass, 'utf8').toString('base64'), left());
      }
      if (reply.code !== 235) throw new StepFailure('auth', reply, `AUTH ${method} refused: ${reply.code} ${reply.text}`);
      this.loggedIn = true;
      return { ...reply, text: `${reply.text} (AUTH ${method})` };
    });
  }

  /** The configured mechanism, else the first the server offers in nodemailer's order, else PLAIN (as nodemailer). */
  private authMethod(): SmtpAuthMethod {
    if (this.smartHost.authMethod) return this.smartHost.authMethod;
    const offered = new Set(this.extensions.filter((line) => /^AUTH[ =]/.test(line)).flatMap((line) => line.slice(5).split(/[ =]+/)));
    return AUTH_PREFERENCE.find((method) => offered.has(method)) ?? 'PLAIN';
  }

  private async close(transactionStarted: boolean): Promise<void> {
    if (!this.socket || this.closed) return;
    try {
      if (transactionStarted) await this.step('rset', this.limits.closeMs, (ms) => this.expect(this.command('RSET', ms), [250], 'refused'));
      await this.step('quit', this.limits.closeMs, (ms) => this.expect(this.command('QUIT', ms), [221], 'refused'));
    } catch (error) {
      // RSET and QUIT are courtesy: the relay's way in was decided by RCPT
      if (!(error instanceof StepFailed)) throw error;
    }
  }

  // ---------------------------------------------------------------- timing and recording

  /** Runs one step within min(its limit, what is left of the whole), records it, and turns a failure into StepFailed. */
  private async step<T extends Reply | void>(name: ProbeStepName, limitMs: number, work: (ms: number) => Promise<T>): Promise<T> {
    const started = Date.now();
    const ms = Math.max(1, Math.min(limitMs, this.deadline - started));
    try {
      const result = await work(ms);
      const reply = result as Reply | undefined;
      this.steps.push({
        step: name,
        ok: true,
        ms: Date.now() - started,
        ...(reply?.code !== undefined && { code: reply.code, reply: clip(reply.text) }),
      });
      return result;
    } catch (error) {
      let failure = error instanceof StepFailure ? error : this.asFailure(error, ms);
      if (failure.fault === 'timeout' && ms < limitMs) {
        failure = new StepFailure('timeout', null, `${failure.message}: the probe's ${this.limits.totalMs} ms in all ran out`);
      }
      this.steps.push({
        step: name,
        ok: false,
        ms: Date.now() - started,
        ...(failure.reply && { code: failure.reply.code }),
        reply: clip(failure.message),
      });
      throw new StepFailed({ step: name, error: failure });
    }
  }

  private asFailure(error: unknown, ms: number): StepFailure {
    const e = error as NodeJS.ErrnoException;
    if (isTlsErrorCode(e?.code)) return new StepFailure('tls', null, describeTlsError(e));
    return new StepFailure('refused', null, `${e?.message ?? String(error)} (within ${ms} ms)`);
  }

  private async expect(pending: Promise<Reply>, codes: number[], otherwise: 'refused'): Promise<Reply> {
    const reply = await pending;
    if (codes.includes(reply.code)) return reply;
    throw new StepFailure(replyFault(reply.code) ?? otherwise, reply, `${reply.code} ${reply.text}`);
  }

  // ---------------------------------------------------------------- the wire

  private open(ms: number): Promise<void> {
    const { host, port } = this.smartHost;
    return new Promise<void>((resolve, reject) => {
      const socket = netConnect({ host, port });
      this.socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new StepFailure('unreachable', null, `no TCP connection to ${host}:${port} within ${ms} ms`));
      }, ms);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        this.attach(socket);
        if (this.smartHost.tls !== 'implicit') return resolve();
        // TLS from the first byte: the handshake belongs to connecting
        this.handshake(Math.max(1, ms)).then(() => resolve(), reject);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const what = isUnreachableCode(error.code)
          ? error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
            ? `${host} cannot be resolved`
            : `connection to ${host}:${port} failed`
          : `connection to ${host}:${port} failed`;
        reject(new StepFailure('unreachable', null, `${what}: ${error.code ?? error.message}`));
      });
    });
  }

  /** TLS on the open socket with the relay's certificate check; what was agreed, for the report. */
  private handshake(ms: number): Promise<string> {
    const plain = this.socket!;
    plain.removeAllListeners('data');
    this.buffer = '';
    return new Promise<string>((resolve, reject) => {
      const secured = tlsConnect({ ...this.smartHost.tlsOptions, socket: plain });
      const timer = setTimeout(() => {
        secured.destroy();
        reject(new StepFailure('tls', null, `TLS handshake did not finish within ${ms} ms`));
      }, ms);
      secured.once('secureConnect', () => {
        clearTimeout(timer);
        secured.removeAllListeners('error');
        this.socket = secured;
        this.secure = true;
        this.attach(secured);
        const peer = secured.getPeerCertificate();
        const subject = peer?.subject?.CN ? `certificate CN=${peer.subject.CN}` : 'certificate';
        resolve(
          `${secured.getProtocol() ?? 'TLS'}, ${subject} verified for ${this.smartHost.tlsOptions.servername ?? this.smartHost.host}`,
        );
      });
      secured.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new StepFailure('tls', null, `TLS handshake failed: ${describeTlsError(error)}`));
      });
    });
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      this.waiter?.();
    });
    socket.on('error', (error) => {
      this.closed ??= error;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed ??= new Error('the server closed the connection');
      this.waiter?.();
    });
  }

  private async command(line: string, ms: number): Promise<Reply> {
    if (this.closed) throw new StepFailure('refused', null, `${this.closed.message} before ${line.split(' ')[0]}`);
    this.socket!.write(`${line}\r\n`);
    return this.readReply(ms);
  }

  /** The next complete reply (multi-line: every line up to the one whose code is followed by a space). */
  private readReply(ms: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new StepFailure('timeout', null, `no answer within ${ms} ms`));
      }, ms);
      const check = () => {
        const reply = this.takeReply();
        if (reply) {
          clearTimeout(timer);
          this.waiter = null;
          return resolve(reply);
        }
        if (this.closed) {
          clearTimeout(timer);
          this.waiter = null;
          reject(new StepFailure('refused', null, this.closed.message));
        }
      };
      this.waiter = check;
      check();
    });
  }

  private takeReply(): Reply | null {
    const lines: string[] = [];
    let offset = 0;
    for (;;) {
      const end = this.buffer.indexOf('\n', offset);
      if (end < 0) return null;
      const line = this.buffer.slice(offset, end).replace(/\r$/, '');
      offset = end + 1;
      lines.push(line);
      if (!/^\d{3}-/.test(line)) break;
    }
    this.buffer = this.buffer.slice(offset);
    const code = Number(/^(\d{3})/.exec(lines.at(-1)!)?.[1] ?? 0);
    return { code, text: lines.map((line) => line.replace(/^\d{3}[ -]?/, '')).join('\n') };
  }
}

/** Carries a recorded step failure out of the steps to execute(). */
class StepFailed extends Error {
  constructor(readonly failure: { step: ProbeStepName; error: StepFailure }) {
    super(failure.error.message);
  }
}

const clip = (text: string): string => {
  const one = text.replace(/\s*\n\s*/g, ' / ').trim();
  return one.length > MAX_REPLY_TEXT ? `${one.slice(0, MAX_REPLY_TEXT)}…` : one;
};

// ---------------------------------------------------------------- what to tell the admin

/** One sentence: what failed, and what to do about it. */
function summarize(
  smartHost: SmartHostConnection,
  request: ProbeRequest,
  failure: { step: ProbeStepName; error: StepFailure } | null,
  session: { secure: boolean; loggedIn: boolean },
): string {
  const where = `${smartHost.host}:${smartHost.port}`;
  if (!failure) {
    const parts = [session.secure && 'TLS', session.loggedIn && 'the login', 'MAIL FROM', `RCPT TO <${request.recipient}>`].filter(Boolean);
    return `${where} accepted shadowmail's session (${parts.join(', ')}): the forward can deliver there.`;
  }
  const { step, error } = failure;
  const reply = error.reply ? `${error.reply.code} ${clip(error.reply.text)}` : clip(error.message);
  switch (error.fault) {
    case 'unreachable':
      if (/cannot be resolved/.test(error.message))
        return `${smartHost.host} cannot be resolved from AWS (${reply}): publish the smart-host name in public DNS.`;
      if (smartHost.port === 25) {
        return `No TCP connection to ${where} (${reply}): AWS blocks outbound port 25 from Lambda until it removes the restriction for the NAT gateway's Elastic IP — request that (docs/deploy.md 6.4); if it is granted, check that the firewall lets that address in.`;
      }
      if (/closed before the greeting/.test(error.message)) {
        return `${where} closed the connection before the SMTP greeting (${reply}): a firewall or proxy between AWS and Exchange ends it — let the forward's address through to the receive connector on port ${smartHost.port}.`;
      }
      if (/ECONNREFUSED/.test(error.message))
        return `${where} refused the connection (${reply}): nothing listens there — check the receive connector's binding (port ${smartHost.port}) and the firewall's publishing rule.`;
      return `No TCP connection to ${where} (${reply}): a firewall drops it or the host is down — let the forward's address (the NAT Elastic IP, or AWS addresses without NAT) in on port ${smartHost.port}.`;
    case 'timeout':
      return `${where} took the connection but did not answer ${step === 'greeting' ? 'with a greeting' : `the ${step.toUpperCase()} command`} (${reply}): a firewall or SMTP proxy in between, or an overloaded server — check what really listens on port ${smartHost.port}.`;
    case 'tls':
      if (/not offer/.test(error.message))
        return `${where} does not offer STARTTLS, which smartHost.tls requires: enable TLS on the receive connector with a certificate for SMTP (docs/deploy.md 6.5).`;
      if (/unencrypted/.test(error.message))
        return `The session with ${where} is not encrypted, so shadowmail does not send its login: make STARTTLS work on the connector (docs/deploy.md 6.5).`;
      return `TLS with ${where} failed (${reply}): the connector needs a certificate of a public authority that names ${smartHost.tlsOptions.servername ?? smartHost.host} (docs/deploy.md 6.5).`;
    case 'auth':
      if (step === 'mail' || step === 'rcpt') {
        return `${where} wants a login (${reply} at ${step === 'mail' ? 'MAIL FROM' : 'RCPT TO'}): it is a connector for clients that authenticate — set smartHost.authSecretArn, or use the anonymous connector that allow-lists the NAT address (docs/deploy.md 6.2, 6.3).`;
      }
      if (/credentials/.test(error.message) && !error.reply)
        return `${clip(error.message)}: store {"username","password"} in the smart-host secret (docs/deploy.md 3.3).`;
      if (error.reply && replyFault(error.reply.code)) {
        return `${where} refused shadowmail's login (${reply}): wrong user name or password in the smart-host secret, or the account may not use the connector — fix the secret (docs/deploy.md 3.3); the forward reads it again after a refused login.`;
      }
      return `${where} does not take the login shadowmail tried (${reply}): allow basic authentication over TLS on the receive connector (docs/deploy.md 6.3).`;
    case 'refused':
      if (step === 'rcpt')
        return `${where} refused the recipient <${request.recipient}> (${reply}): probe an existing mailbox; if it is one, make its domain an authoritative accepted domain (docs/deploy.md 6.6).`;
      if (step === 'mail')
        return `${where} refused the sender <${request.from}> (${reply}): the connector must accept any sender for shadowmail (ms-Exch-SMTP-Accept-Any-Sender, docs/deploy.md 6.2, 6.3).`;
      return `${where} refused the session at ${step.toUpperCase()} (${reply}): check the receive connector's remote IP ranges and its connection limits.`;
  }
}
