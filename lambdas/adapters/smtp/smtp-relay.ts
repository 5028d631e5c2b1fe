// Adapter: relays the stored bytes of a message to the primary (Exchange) over SMTP,
// keeping the original envelope, using nodemailer's low-level SMTPConnection. What the
// primary receives byte for byte (line endings, dot-stuffing, why SMTP smuggling cannot
// pass) and which extensions are used: docs/design.md §2.
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import SMTPConnection, {
  type SMTPConnectionEnvelope,
  type SMTPConnectionOptions,
  type SMTPConnectionSendInfo,
} from 'nodemailer/lib/smtp-connection';
import { RELAY_SESSION_REUSE, RELAY_TIMEOUTS } from '../../contract/pipeline-limits.ts';
import { fitsSmtpPath } from '../../core/addresses.ts';
import { ConfigurationError, RetryableError } from '../../core/errors.ts';
import type { SmtpCredentials } from '../../ports/smtp-credentials.ts';
import type { RecipientReply, RelayEnvelope, SmtpFault, SmtpRelay } from '../../ports/smtp-relay.ts';
import { withFastDotStuffing } from './dot-stuffing.ts';
import { type CacheableSession, SessionCache } from './session-cache.ts';
import {
  isTlsErrorCode,
  isUnreachableCode,
  mayLogIn,
  replyFault,
  type SmartHostConnection,
  type SmartHostSettings,
  smartHostConnection,
} from './smart-host.ts';

/**
 * Each reply carries a `fault` when the session failed for a reason the adapter can
 * name (see SmtpFault): the login required or refused, TLS not as configured, the host
 * unreachable or silent. A refused login makes the credential source read the secret
 * again before the next session.
 */
export interface SmtpRelayOptions extends SmartHostSettings {
  /** TCP connect (default 15 s, see lambdas/contract/pipeline-limits.ts for every default and its reason). */
  connectionTimeoutMs?: number;
  /** From connect to the 220 greeting; also bounds the TLS handshake (default 60 s). */
  greetingTimeoutMs?: number;
  /** Inactivity on the socket, including the wait for the end-of-DATA reply (default 2 min). */
  socketTimeoutMs?: number;
  /** Whole relay, connect to final reply; the Lambda timeouts are derived from it (default 5 min). */
  totalTimeoutMs?: number;
  /** Wait for the 221 answer to QUIT before the connection is dropped (default 5 s). */
  quitTimeoutMs?: number;
  /**
   * Sessions kept open, busy and idle together (default 1): a session goes idle for the
   * next message only while fewer are open. It makes no relay wait; a caller that runs
   * relays side by side bounds them (SessionBoundRelay) and passes the same bound here.
   */
  maxSessions?: number;
  /** An idle session is QUIT after this long (default 2 s). */
  sessionIdleMs?: number;
  /** A session this old takes no further message (default 300 s). */
  sessionMaxAgeMs?: number;
  /** Messages per session, then QUIT (default 20; 1 turns reuse off). */
  messagesPerSession?: number;
  /** Wait for the answer to the RSET that checks an idle session before it is used (default 20 s). */
  rsetTimeoutMs?: number;
}

type ReuseOption = 'maxSessions' | 'sessionIdleMs' | 'sessionMaxAgeMs' | 'messagesPerSession' | 'rsetTimeoutMs';
const DEFAULTS: Required<Pick<SmtpRelayOptions, keyof typeof RELAY_TIMEOUTS | ReuseOption>> = {
  ...RELAY_TIMEOUTS,
  maxSessions: 1,
  sessionIdleMs: RELAY_SESSION_REUSE.idleMs,
  sessionMaxAgeMs: RELAY_SESSION_REUSE.maxAgeMs,
  messagesPerSession: RELAY_SESSION_REUSE.transactionsPerSession,
  rsetTimeoutMs: RELAY_SESSION_REUSE.rsetTimeoutMs,
};

/** The error fields nodemailer puts on the errors it hands back. */
interface SmtpError extends Error {
  code?: string;
  /** The system error's code (ECONNREFUSED, a certificate code, …) when nodemailer replaced it with its own. */
  originalCode?: string;
  /** Which of nodemailer's timeouts fired (CONNECT_TIMEOUT, GREETING_TIMEOUT, …). */
  timeoutType?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

/** Replies to these commands are answers about the message; anything earlier is a session failure (code 0). */
const TRANSACTION_COMMANDS = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);
// nodemailer refuses such addresses before talking to the server; catching them here keeps the rest of the envelope sendable.

/** Why a session is not used, when it is the relay's own decision and not the server's answer. */
interface SessionRefusal {
  text: string;
  fault?: SmtpFault | undefined;
}

/** How a transaction on a session ended. */
type Transaction =
  | { kind: 'answered'; answers: Map<string, RecipientReply>; reusable: boolean }
  /** A reused session failed before the server said anything about the message: not a verdict, try a fresh one. */
  | { kind: 'stale' };

/**
 * Sessions are reused: after a transaction the server answered, the session waits idle
 * (SessionCache) for the next relay, which checks it with RSET first. close() QUITs the
 * idle ones; until then an idle session never keeps the process alive.
 */
export class SmtpRelayAdapter implements SmtpRelay {
  private readonly options: SmtpRelayOptions & typeof DEFAULTS;
  private readonly smartHost: SmartHostConnection;
  private readonly sessions: SessionCache<Session>;

  constructor(options: SmtpRelayOptions) {
    this.options = { ...DEFAULTS, ...(stripUndefined(options) as SmtpRelayOptions) };
    this.smartHost = smartHostConnection(this.options);
    this.sessions = new SessionCache<Session>({
      idleMs: this.options.sessionIdleMs,
      maxAgeMs: this.options.sessionMaxAgeMs,
      transactionsPerSession: this.options.messagesPerSession,
      maxSessions: this.options.maxSessions,
    });
  }

  /** QUITs the idle sessions; relays in flight QUIT theirs when they end. */
  close(): Promise<void> {
    return this.sessions.close();
  }

  async relay(envelope: RelayEnvelope, data: () => Promise<Readable>): Promise<RecipientReply[]> {
    if (envelope.recipients.length === 0) return [];
    if (!fitsSmtpPath(envelope.from)) {
      return envelope.recipients.map((recipient) =>
        noAnswer(recipient, `not relayed: the envelope sender ${JSON.stringify(envelope.from)} cannot be written in MAIL FROM`),
      );
    }
    // nodemailer trims addresses and reports refusals under the trimmed form
    const sendable = [
      ...new Set(envelope.recipients.map((recipient) => recipient.trim()).filter((address) => address !== '' && fitsSmtpPath(address))),
    ];
    if (sendable.length > 0) {
      const replies = await this.relaySendable({ from: envelope.from.trim(), recipients: sendable }, data);
      return envelope.recipients.map((recipient) => {
        const reply = replies.get(recipient.trim());
        return reply ? { ...reply, recipient } : unsendable(recipient);
      });
    }
    return envelope.recipients.map(unsendable);
  }

  private async relaySendable(envelope: RelayEnvelope, data: () => Promise<Readable>): Promise<Map<string, RecipientReply>> {
    const answerAll = ({ text, fault }: SessionRefusal) =>
      new Map(envelope.recipients.map((recipient) => [recipient, { ...noAnswer(recipient, text), ...withFault(fault) }]));
    const login = await this.loginCredentials();
    if ('text' in login) return answerAll(login);
    const deadline = Date.now() + this.options.totalTimeoutMs;
    let session = await this.sessions.acquire((idle) => sameLogin(idle.credentials, login.credentials));
    const reusedFirst = session !== undefined;
    let reusable = false;
    try {
      if (session) {
        const outcome = await this.onReusedSession(session, envelope, data, deadline);
        if (outcome.kind === 'answered') {
          reusable = outcome.reusable;
          return this.noteRefusedLogin(outcome.answers);
        }
        session.close();
      }
      session = new Session(new SMTPConnection(this.connectionOptions()), login.credentials, this.options.quitTimeoutMs);
      // after a stale reused session, what is left of the relay's bound
      session.begin(this.options.totalTimeoutMs, reusedFirst ? Math.max(deadline - Date.now(), 1) : this.options.totalTimeoutMs);
      const refusal = await this.openSession(session, login.credentials).catch(
        (error: unknown): SessionRefusal => ({
          text: `not relayed: ${describeSessionFailure(error, this.smartHost)}`,
          fault: sessionFault(error as SmtpError),
        }),
      );
      if (refusal !== null) return this.noteRefusedLogin(answerAll(refusal));
      const outcome = await this.transaction(session, envelope, data, false);
      if (outcome.kind !== 'answered') throw new Error('unreachable: a fresh session is never stale');
      reusable = outcome.reusable;
      return this.noteRefusedLogin(outcome.answers);
    } finally {
      if (session && !reusable) session.close();
      session?.end();
      this.sessions.release(session, reusable);
    }
  }

  /** RSET, bounded, then the transaction; `stale` when the session turned out unusable before any answer about the message. */
  private async onReusedSession(
    session: Session,
    envelope: RelayEnvelope,
    data: () => Promise<Readable>,
    deadline: number,
  ): Promise<Transaction> {
    session.begin(this.options.totalTimeoutMs, Math.max(deadline - Date.now(), 1));
    const checked = await session.reset(this.options.rsetTimeoutMs).then(
      () => true,
      () => false,
    );
    if (!checked) return { kind: 'stale' };
    return this.transaction(session, envelope, data, true);
  }

  /** MAIL, RCPT, DATA on an open session; throws (retryable) only when reading the stored message failed. */
  private async transaction(
    session: Session,
    envelope: RelayEnvelope,
    data: () => Promise<Readable>,
    reused: boolean,
  ): Promise<Transaction> {
    // Opened only once the server has taken DATA, so a refused envelope never reads the store.
    const source = new LazySource(data);
    const smtpEnvelope: SMTPConnectionEnvelope = {
      from: envelope.from,
      to: [...envelope.recipients],
      use8BitMime: true,
      rcptQueue: [],
      rejected: [],
      rejectedErrors: [],
      accepted: [],
    };
    session.transactions += 1;
    try {
      const info = await session.send(smtpEnvelope, source.stream);
      const answers = answersFromRejections(info.rejectedErrors ?? []);
      const final = replyParts(info.response, 250);
      for (const recipient of envelope.recipients) {
        if (!answers.has(recipient)) answers.set(recipient, { recipient, ...final });
      }
      return { kind: 'answered', answers, reusable: true };
    } catch (error) {
      if (source.failure) {
        session.close();
        throw new RetryableError('reading the stored message for the relay failed', { cause: source.failure });
      }
      const e = error as SmtpError;
      const answered = answeredByServer(e);
      // Not a byte of the message went out (no 354, so the store was never opened) and the
      // server gave no answer of its own about it, or a 421 (closing: its idle limit hit
      // just as the session was taken): the session was dead, not the message refused.
      if (reused && !source.opened && !session.timedOut && (!answered || e.responseCode === 421)) return { kind: 'stale' };
      const answers = answersFromSendFailure(e, envelope.recipients, smtpEnvelope, this.smartHost);
      const faulted = [...answers.values()].some((answer) => answer.fault !== undefined);
      return { kind: 'answered', answers, reusable: answered && e.responseCode !== 421 && !faulted };
    }
  }

  /** A login refused or asked for (530 at MAIL FROM, …): the next session reads the credentials again. */
  private noteRefusedLogin(answers: Map<string, RecipientReply>): Map<string, RecipientReply> {
    if ([...answers.values()].some((answer) => answer.fault === 'auth')) {
      this.smartHost.credentials?.refused();
      // the login is read again for the next session: none logged in with the old one is used
      this.sessions.drop();
    }
    return answers;
  }

  /**
   * The login for this session, read now (a changed secret is used without a restart). A
   * secret that is there but unusable is a configuration fault like a refused login; a
   * failure to read it at all is thrown (retryable: the message is not touched).
   */
  private async loginCredentials(): Promise<{ credentials: SmtpCredentials | null } | SessionRefusal> {
    const source = this.smartHost.credentials;
    if (!source) return { credentials: null };
    try {
      return { credentials: await source.current() };
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw new RetryableError('reading the smart-host credentials failed', { cause: error });
      source.refused();
      this.sessions.drop();
      return { text: `not relayed: the smart-host credentials are unusable: ${error.message}`, fault: 'auth' };
    }
  }

  /** Connects, checks TLS and logs in; a reason not to go on, or null. Throws on session failures. */
  private async openSession(session: Session, credentials: SmtpCredentials | null): Promise<SessionRefusal | null> {
    await session.connect();
    const { tls, authMethod } = this.smartHost;
    if (tls === 'starttls-required' && !session.connection.secure) {
      return { text: 'not relayed: STARTTLS is required but the session is not encrypted', fault: 'tls' };
    }
    if (credentials) {
      if (!mayLogIn(tls, session.connection.secure)) {
        return {
          text: 'not relayed: refusing to send SMTP credentials over an unencrypted session (STARTTLS failed or was not offered)',
          fault: 'tls',
        };
      }
      await session.login({ ...credentials, ...(authMethod && { method: authMethod }) });
    }
    return null;
  }

  private connectionOptions(): SMTPConnectionOptions {
    const o = this.options;
    const smartHost = this.smartHost;
    return {
      host: smartHost.host,
      port: smartHost.port,
      secure: smartHost.tls === 'implicit',
      requireTLS: smartHost.tls === 'starttls-required',
      opportunisticTLS: smartHost.tls === 'starttls-opportunistic',
      ignoreTLS: smartHost.tls === 'none',
      tls: { ...smartHost.tlsOptions },
      name: smartHost.ehloName,
      connectionTimeout: o.connectionTimeoutMs,
      greetingTimeout: o.greetingTimeoutMs,
      socketTimeout: o.socketTimeoutMs,
      socketCloseTimeout: o.quitTimeoutMs,
      logger: false,
      debug: false,
    };
  }
}

/**
 * One SMTP session as promises. nodemailer reports a dropped or timed-out connection
 * through the 'error' and 'end' events, not through the pending callback, so every
 * step also settles when the connection ends. A relay's time on it is bounded from
 * begin() to end(); between relays it may wait idle in the SessionCache.
 */
class Session implements CacheableSession {
  readonly openedAt = Date.now();
  transactions = 0;
  /** Set when the relay's whole-time bound closed the session. */
  timedOut = false;
  private lastError: Error | undefined;
  private ended = false;
  private readonly endWaiters = new Set<() => void>();
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    readonly connection: SMTPConnection,
    /** The login this session was (or will be) opened with; a session is reused only for the same one. */
    readonly credentials: SmtpCredentials | null,
    private readonly quitTimeoutMs: number,
  ) {
    withFastDotStuffing(connection);
    connection.on('error', (error: Error) => {
      this.lastError ??= error;
    });
    connection.once('end', () => {
      this.ended = true;
      for (const waiter of this.endWaiters) waiter();
    });
  }

  get alive(): boolean {
    return !this.ended && !this.lastError && !this.connection.destroyed;
  }

  /** A relay starts using the session: it is closed after `leftMs`, what is left of the relay's bound `totalTimeoutMs`. */
  begin(totalTimeoutMs: number, leftMs: number): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      this.timedOut = true;
      this.lastError ??= Object.assign(new Error(`relay did not finish within ${totalTimeoutMs} ms`), { code: 'ETIMEDOUT' });
      this.connection.close();
    }, leftMs);
    this.deadline.unref();
  }

  /** The relay is done with the session. */
  end(): void {
    clearTimeout(this.deadline);
  }

  onEnd(listener: () => void): void {
    if (this.ended) listener();
    else this.endWaiters.add(listener);
  }

  park(): void {
    this.socket()?.unref();
  }

  unpark(): void {
    this.socket()?.ref();
  }

  connect(): Promise<void> {
    return this.step<void>((done) => this.connection.connect((error) => done(error ?? null)));
  }

  login(auth: SmtpCredentials & { method?: string }): Promise<void> {
    return this.step<void>((done) =>
      this.connection.login({ user: auth.user, pass: auth.pass, ...(auth.method ? { method: auth.method } : {}) }, (error) => done(error)),
    );
  }

  /** RSET, closing the session when no answer comes within `timeoutMs`. */
  async reset(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.connection.close(), timeoutMs);
    try {
      await this.step<void>((done) => this.connection.reset((error) => done(error)));
    } finally {
      clearTimeout(timer);
    }
  }

  send(envelope: SMTPConnectionEnvelope, message: Readable): Promise<SMTPConnectionSendInfo> {
    return this.step<SMTPConnectionSendInfo>((done) => this.connection.send(envelope, message, (error, info) => done(error, info)));
  }

  /** QUIT, waiting a bounded time for the 221 so the server does not log a lost connection. */
  async quit(): Promise<void> {
    clearTimeout(this.deadline);
    if (this.ended) return;
    this.unpark();
    const closed = new Promise<void>((resolve) => this.endWaiters.add(resolve));
    const timer = setTimeout(() => this.connection.close(), this.quitTimeoutMs);
    try {
      this.connection.quit();
    } catch {
      this.connection.close();
    }
    await closed;
    clearTimeout(timer);
  }

  close(): void {
    clearTimeout(this.deadline);
    this.connection.close();
  }

  /** nodemailer's socket (the TLS one after STARTTLS); not in its typings. */
  private socket(): Socket | undefined {
    return (this.connection as unknown as { _socket?: Socket })._socket;
  }

  private step<T>(start: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.ended) return reject(this.lastError ?? new Error('connection closed'));
      const onEnd = () => reject(this.lastError ?? new Error('connection closed unexpectedly'));
      this.endWaiters.add(onEnd);
      start((error, value) => {
        this.endWaiters.delete(onEnd);
        if (error) reject(error);
        else resolve(value as T);
      });
    });
  }
}

/** A stream that calls `open` on its first read and remembers why reading failed, if it did. */
class LazySource {
  failure: unknown;
  /** The first read came: the server had answered DATA with 354. */
  opened = false;
  readonly stream: Readable;

  constructor(open: () => Promise<Readable>) {
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      self.opened = true;
      try {
        const source = await open();
        for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk, 'binary') : (chunk as Buffer);
      } catch (error) {
        self.failure = error;
        throw error;
      }
    }
    this.stream = Readable.from(chunks(), { objectMode: false });
  }
}

function answersFromRejections(rejectedErrors: SmtpError[]): Map<string, RecipientReply> {
  const answers = new Map<string, RecipientReply>();
  for (const error of rejectedErrors) {
    if (!error.recipient) continue;
    answers.set(error.recipient, { recipient: error.recipient, ...replyParts(error.response, error.responseCode ?? 0) });
  }
  return answers;
}

/** The fault of a session that failed before the server said anything about the message. */
function sessionFault(error: SmtpError): SmtpFault | undefined {
  const cause = error?.originalCode ?? error?.code;
  if (error?.code === 'EAUTH' || (error?.responseCode && replyFault(error.responseCode))) return 'auth';
  if (error?.code === 'ETLS' || error?.command === 'STARTTLS' || isTlsErrorCode(cause)) return 'tls';
  if (error?.code === 'ETIMEDOUT') return error.timeoutType === 'CONNECT_TIMEOUT' ? 'unreachable' : 'timeout';
  if (error?.code === 'EDNS' || isUnreachableCode(cause)) return 'unreachable';
  return undefined;
}

function answersFromSendFailure(
  error: SmtpError,
  recipients: string[],
  envelope: SMTPConnectionEnvelope,
  smartHost: SmartHostConnection,
): Map<string, RecipientReply> {
  // Recipients refused at RCPT keep that reply whatever happened afterwards. nodemailer
  // records them on the envelope object it was given; the error carries them only when
  // every recipient was refused. After a refused MAIL FROM, a pipelining server answers
  // each RCPT with "503 need MAIL command": those say nothing about the recipient.
  const rejections =
    error.command === 'MAIL FROM' ? [] : (error.rejectedErrors ?? (envelope.rejectedErrors as SmtpError[] | undefined) ?? []);
  const answers = answersFromRejections(rejections);
  const rest: Omit<RecipientReply, 'recipient'> = answeredByServer(error)
    ? replyParts(error.response, error.responseCode!)
    : { code: 0, response: `not relayed: ${describeSessionFailure(error, smartHost)}`, ...withFault(sessionFault(error)) };
  for (const recipient of recipients) {
    if (!answers.has(recipient)) answers.set(recipient, { recipient, ...rest });
  }
  return answers;
}

/** The server answered a transaction command (MAIL, RCPT, DATA) in its own words. */
function answeredByServer(error: SmtpError): boolean {
  return !!error.responseCode && !!error.command && TRANSACTION_COMMANDS.has(error.command);
}

function sameLogin(a: SmtpCredentials | null, b: SmtpCredentials | null): boolean {
  return a === b || (!!a && !!b && a.user === b.user && a.pass === b.pass);
}

/** Code and text of a server reply, with the fault its code names (530 at MAIL FROM is Exchange asking for a login). */
function replyParts(response: string | undefined, fallbackCode: number): Omit<RecipientReply, 'recipient'> {
  const text = (response ?? '').trim();
  const code = Number(/^(\d{3})/.exec(text)?.[1] ?? fallbackCode);
  return { code, response: text || String(code), ...withFault(replyFault(code)) };
}

const withFault = (fault: SmtpFault | undefined): { fault?: SmtpFault } => (fault ? { fault } : {});

function unsendable(recipient: string): RecipientReply {
  return noAnswer(recipient, `not relayed: ${JSON.stringify(recipient)} cannot be written in RCPT TO`);
}

function noAnswer(recipient: string, response: string): RecipientReply {
  return { recipient, code: 0, response };
}

function describeSessionFailure(error: unknown, options: Pick<SmartHostConnection, 'host' | 'port' | 'tls'>): string {
  const e = error as SmtpError;
  const where = `${options.host}:${options.port}`;
  const detail = e?.message ?? String(error);
  if (e?.command === 'STARTTLS' || (e?.code === 'ETLS' && options.tls === 'starttls-required')) {
    return `STARTTLS with ${where} failed (STARTTLS is required): ${detail}`;
  }
  if (e?.code === 'EAUTH') return `authentication at ${where} failed: ${detail}`;
  if (e?.code === 'ETIMEDOUT') return `timeout talking to ${where}: ${detail}`;
  return `SMTP session with ${where} failed${e?.code ? ` (${e.code})` : ''}: ${detail}`;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
