// The primary's mailboxes over IMAP (port ports/imap-mailboxes.ts) with imapflow, for
// `shadowmail reconcile`. One connection per opened mailbox, logged in with the service
// account: SASL PLAIN with the mailbox as authorization identity (RFC 4616 §2; Dovecot's
// master users, Cyrus' admins), or Exchange's delegate form of the LOGIN user name,
// `service@domain\mailbox@domain` (docs/design.md, "Reconcile over IMAP": what was verified).
//
// Rules: TLS from the first byte (imaps://) or STARTTLS required (imap:// + startTls);
// clear text only when the caller says `allowCleartext`. Every step is bounded (connect,
// greeting, each command, and a FETCH by the time since its last message), so a server
// that accepts and never answers fails with ImapError('timeout'). Folders and Message-IDs
// are read from what the server sends (LIST attributes, fetched header fields), never from
// guesses: imapflow guesses special-use from folder names, which we ignore, and SEARCH is
// used only for the date window, not for Message-IDs. The password is never logged and
// never part of an error.
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { messageIdsIn } from '../../core/compose/message-ids.ts';
import { ImapError, InvalidInputError } from '../../core/errors.ts';
import type { DateWindow, ImapLoginForm, ImapMailbox, ImapMailboxes } from '../../ports/imap-mailboxes.ts';

/** The bound on connect, greeting and each command unless the caller gives another. */
export const DEFAULT_IMAP_TIMEOUT_MS = 30_000;
/** IMAP SEARCH compares whole days (RFC 3501 §6.4.4), in the server's time zone: a day either side. */
const DAY_MS = 24 * 60 * 60 * 1000;
/** Bound on one line, literal or response from the server (a SEARCH answer of 100,000 UIDs is ~700 kB). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** UIDs per FETCH/STORE command, so a command line stays short. */
const UID_BATCH = 500;

export interface ImapflowMailboxesOptions {
  /** imaps://host[:993] or imap://host[:143]. */
  url: string;
  /** The service account (an address or UPN). */
  user: string;
  /** Read when a mailbox is opened (a file or a secret), never kept in an error or log. */
  password: () => Promise<string>;
  login: ImapLoginForm;
  /** imap:// only: upgrade with STARTTLS before logging in, and fail if the server does not offer it. */
  startTls?: boolean;
  /** imap:// without STARTTLS: the password crosses the network in clear text. Refused unless set. */
  allowCleartext?: boolean;
  /** PEM of the CA that signed the server's certificate; the system's CAs otherwise. */
  ca?: string;
  /** Name to check the certificate against, when it differs from the URL's host. */
  tlsServername?: string;
  /** Bound on connect, greeting and each command, and on the pause between two messages of a FETCH. */
  timeoutMs?: number;
  /**
   * The separator of Exchange's delegate login (`--login exchange`). Backslash, as Exchange
   * administrators use it; MS-OXIMAP4 §2.2.2 as published shows `/` in its grammar.
   */
  exchangeSeparator?: '\\' | '/';
}

export class ImapflowMailboxes implements ImapMailboxes {
  private readonly options: ImapflowMailboxesOptions;
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private readonly timeoutMs: number;
  /** Set once a login worked: later refusals are about the mailbox, not the password. */
  private credentialsWork = false;
  /** Set once the server refused the service account itself: later opens fail at once, so a wrong password is tried once, not per mailbox (account lockout). */
  private credentialsRefused: ImapError | undefined;

  constructor(options: ImapflowMailboxesOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (error) {
      throw new InvalidInputError(`not an IMAP URL: ${JSON.stringify(options.url)}`, { cause: error });
    }
    if (url.protocol !== 'imap:' && url.protocol !== 'imaps:') {
      throw new InvalidInputError(`the IMAP URL must start with imaps:// or imap://, not ${JSON.stringify(options.url)}`);
    }
    if (url.username || url.password || (url.pathname && url.pathname !== '/') || url.search || url.hash) {
      throw new InvalidInputError('the IMAP URL takes only a host and a port (the account and password are given separately)');
    }
    this.secure = url.protocol === 'imaps:';
    if (this.secure && options.startTls)
      throw new InvalidInputError('STARTTLS is for imap:// URLs; an imaps:// connection is encrypted already');
    if (!this.secure && !options.startTls && !options.allowCleartext) {
      throw new InvalidInputError(
        'imap:// without STARTTLS would send the password in clear text: use imaps://, STARTTLS, or allow clear text explicitly',
      );
    }
    if (options.login !== 'plain-authzid' && options.login !== 'exchange') {
      throw new InvalidInputError(`unknown login form ${JSON.stringify(options.login)}: plain-authzid or exchange`);
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_IMAP_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
      throw new InvalidInputError(`the IMAP timeout must be a positive number of milliseconds, not ${timeoutMs}`);
    this.options = options;
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port ? Number(url.port) : this.secure ? 993 : 143;
    this.timeoutMs = timeoutMs;
  }

  async open(mailbox: string, options: { readOnly: boolean }): Promise<ImapMailbox> {
    if (this.credentialsRefused) throw this.credentialsRefused;
    const refusals = new Refusals();
    const client = new ImapFlow({ ...this.clientOptions(mailbox, await this.options.password()), logger: refusals.logger });
    // imapflow reports a dropped connection as an 'error' event besides the failed command; the command's failure is what we report
    client.on('error', () => undefined);
    const guard = new Guard(client, this.timeoutMs, `${this.host}:${this.port}`);
    try {
      await guard.run(
        'connect and login',
        () => client.connect(),
        (error) => this.loginFailure(mailbox, error),
      );
    } catch (error) {
      client.close();
      throw error;
    }
    guard.loggedIn = true;
    this.credentialsWork = true;
    return new ImapflowMailbox(client, guard, refusals, mailbox, options.readOnly);
  }

  private clientOptions(mailbox: string, password: string): ImapFlowOptions {
    const { login, user } = this.options;
    const separator = this.options.exchangeSeparator ?? '\\';
    return {
      host: this.host,
      port: this.port,
      secure: this.secure,
      doSTARTTLS: !this.secure && this.options.startTls === true,
      tls: this.tlsOptions(),
      // imapflow sends LOGIN for a user name with a backslash (Exchange's delegate form) and
      // AUTHENTICATE PLAIN otherwise; loginMethod says it outright.
      auth:
        login === 'plain-authzid'
          ? { user, pass: password, authzid: mailbox, loginMethod: 'AUTH=PLAIN' }
          : { user: `${user}${separator}${mailbox}`, pass: password, loginMethod: 'LOGIN' },
      disableAutoIdle: true,
      disableCompression: true,
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
      clientInfo: { name: 'shadowmail reconcile' },
      // We read folder lists, UIDs and one header field per message: nothing near these sizes
      // (imapflow's defaults are 1 GB), so a broken or hostile server cannot make us hold more.
      maxLineLength: MAX_RESPONSE_BYTES,
      maxLiteralSize: MAX_RESPONSE_BYTES,
      maxResponseSize: 2 * MAX_RESPONSE_BYTES,
    };
  }

  private tlsOptions(): ConnectionOptions {
    // Node checks the certificate against servername, else host. SNI takes no IP address.
    const servername = this.options.tlsServername ?? (isIP(this.host) ? undefined : this.host);
    return {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(this.options.ca !== undefined && { ca: this.options.ca }),
      ...(servername !== undefined && { servername }),
    };
  }

  /** Why a connect or login failed, as one ImapError; refusals of the account itself are remembered. */
  private loginFailure(mailbox: string, error: unknown): ImapError {
    const e = error as ImapFlowErrorLike;
    const where = `${this.host}:${this.port}`;
    if (!e.authenticationFailed) return connectionFailure(where, error);
    const reply = serverReply(e);
    const account = this.options.user;
    // RFC 5530 response codes where the server gives them (Dovecot does; Exchange answers a plain NO).
    if (e.serverResponseCode === 'AUTHORIZATIONFAILED') {
      return new ImapError(
        'mailbox',
        `${where} let ${account} log in but not open ${mailbox} (no such mailbox, or no access to it): ${reply}`,
        { cause: error },
      );
    }
    if (e.serverResponseCode !== 'AUTHENTICATIONFAILED' && this.credentialsWork) {
      return new ImapError(
        'mailbox',
        `${where} refused ${account} for ${mailbox}, after accepting it for other mailboxes (no such mailbox, or no access to it): ${reply}`,
        { cause: error },
      );
    }
    const hint =
      e.serverResponseCode === 'AUTHENTICATIONFAILED'
        ? 'wrong password or unknown account'
        : `wrong password, unknown account, or no access to ${mailbox}${this.options.login === 'exchange' ? ' (FullAccess)' : ''}`;
    this.credentialsRefused = new ImapError(
      'auth',
      `${where} refused the login of ${account} (${hint}); no further mailbox is tried with it: ${reply}`,
      {
        cause: error,
      },
    );
    return this.credentialsRefused;
  }
}

class ImapflowMailbox implements ImapMailbox {
  private selected: { path: string; readOnly: boolean } | null = null;

  constructor(
    private readonly client: ImapFlow,
    private readonly guard: Guard,
    private readonly refusals: Refusals,
    private readonly mailbox: string,
    private readonly readOnly: boolean,
  ) {}

  async findSentFolder(names: readonly string[]): Promise<string | null> {
    // LIST alone: no LSUB or STATUS round trips a server might refuse
    const folders = await this.guard.run('LIST', () => this.client.list({ listOnly: true }));
    // Only the server's own LIST attribute counts (RFC 6154); imapflow's specialUse may be its guess from the name.
    const flagged = folders.find((f) => f.flags.has('\\Sent'));
    if (flagged) return flagged.path;
    for (const name of names) {
      const found = folders.find((f) => f.path.toLowerCase() === name.toLowerCase() || f.name.toLowerCase() === name.toLowerCase());
      if (found && !found.flags.has('\\Noselect') && !found.flags.has('\\NonExistent')) return found.path;
    }
    return null;
  }

  async messageIds(folder: string, window: DateWindow): Promise<Set<string>> {
    await this.select(folder, true);
    const ids = new Set<string>();
    for (const { messageId } of await this.headersInWindow(folder, window)) if (messageId) ids.add(messageId);
    return ids;
  }

  async append(folder: string, raw: Uint8Array, date: Date): Promise<void> {
    if (this.readOnly) throw new ImapError('refused', `${this.mailbox} was opened read-only (dry run): nothing is appended to ${folder}`);
    // a large message takes its time on a slow link: the bound grows by a second per 125 kB (1 Mbit/s)
    const bound = this.guard.timeoutMs + Math.ceil(raw.byteLength / 125);
    const what = `${this.mailbox}: APPEND to ${folder}`;
    const appended = await this.guard.run(
      `APPEND to ${folder}`,
      () => this.client.append(folder, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), ['\\Seen'], date),
      (error) => commandFailure(what, error),
      bound,
    );
    // imapflow resolves without a result, sending nothing, when the session is gone by then
    if (!appended) throw this.guard.closed(what) ?? new ImapError('refused', `${what}: not sent (no session)`);
  }

  async markSeen(folder: string, messageIds: readonly string[], window: DateWindow): Promise<Set<string>> {
    if (this.readOnly)
      throw new ImapError('refused', `${this.mailbox} was opened read-only (dry run): nothing is marked read in ${folder}`);
    const wanted = new Set(messageIds);
    const found = new Set<string>();
    if (wanted.size === 0) return found;
    await this.select(folder, false);
    const uids: number[] = [];
    for (const { uid, messageId } of await this.headersInWindow(folder, window)) {
      if (messageId && wanted.has(messageId)) {
        uids.push(uid);
        found.add(messageId);
      }
    }
    for (let i = 0; i < uids.length; i += UID_BATCH) {
      const batch = uids.slice(i, i + UID_BATCH).join(',');
      const what = `${this.mailbox}: STORE \\Seen in ${folder}`;
      this.refusals.clear();
      const stored = await this.guard.run(
        `STORE \\Seen in ${folder}`,
        () => this.client.messageFlagsAdd(batch, ['\\Seen'], { uid: true }),
        (error) => commandFailure(what, error),
      );
      // imapflow answers a refused (or dropped) STORE with false, not an error
      if (!stored) throw this.guard.closed(what) ?? this.refusals.failure(what);
    }
    return found;
  }

  async close(): Promise<void> {
    try {
      await this.guard.run('LOGOUT', () => this.client.logout());
    } catch {
      // the work is done or failed already; a LOGOUT that is not answered changes nothing
    } finally {
      this.client.close();
    }
  }

  /** SELECT (or EXAMINE, which never changes flags) unless the folder is selected that way already. */
  private async select(folder: string, readOnly: boolean): Promise<void> {
    const examine = readOnly || this.readOnly;
    if (this.selected?.path === folder && this.selected.readOnly === examine) return;
    this.selected = null;
    await this.guard.run(
      `${examine ? 'EXAMINE' : 'SELECT'} ${folder}`,
      () => this.client.mailboxOpen(folder, { readOnly: examine }),
      (error) => commandFailure(`${this.mailbox}: cannot open folder ${folder}`, error),
    );
    this.selected = { path: folder, readOnly: examine };
  }

  /**
   * UID and Message-ID of the selected folder's messages in the window (a day of slack
   * either side), by internal date or by Date header: an appended copy keeps its original
   * date as internal date, while a message the forward delivered after the outage has a
   * later internal date but the Date header of its sender.
   */
  private async headersInWindow(folder: string, window: DateWindow): Promise<{ uid: number; messageId: string | null }[]> {
    const since = new Date(window.since.getTime() - DAY_MS);
    const before = new Date(window.until.getTime() + DAY_MS);
    const query = {
      or: [
        { since, before },
        { sentSince: since, sentBefore: before },
      ],
    };
    const what = `${this.mailbox}: SEARCH in ${folder}`;
    this.refusals.clear();
    const uids = await this.guard.run(
      `SEARCH in ${folder}`,
      () => this.client.search(query, { uid: true }),
      (error) => commandFailure(what, error),
    );
    // imapflow answers a NO or BAD to SEARCH with false: read as "no messages", every run would append again
    if (!Array.isArray(uids)) throw this.guard.closed(what) ?? this.refusals.failure(what);
    const list = uids;
    const result: { uid: number; messageId: string | null }[] = [];
    for (let i = 0; i < list.length; i += UID_BATCH) {
      const batch = list.slice(i, i + UID_BATCH).join(',');
      await this.guard.stream(
        `FETCH Message-ID in ${folder}`,
        async (touch) => {
          for await (const message of this.client.fetch(batch, { uid: true, headers: ['message-id'] }, { uid: true })) {
            touch();
            result.push({ uid: message.uid, messageId: messageIdOf(message.headers) });
          }
        },
        (error) => commandFailure(`${this.mailbox}: FETCH in ${folder}`, error),
      );
    }
    return result;
  }
}

/**
 * The Message-ID of a fetched header block (`Message-ID: <a@b>\r\n\r\n`) in the core's one
 * form (`<id>`, comments dropped, brackets added where a sender left them out: messageIdsIn),
 * so it compares with the id the core read from the stored message; null when it has none.
 */
export function messageIdOf(headers: Buffer | undefined): string | null {
  if (!headers) return null;
  // unfold (RFC 5322 §2.2.3), then the first Message-ID field
  const text = headers.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const field = /^message-id[ \t]*:(.*)$/im.exec(text);
  return field ? (messageIdsIn([field[1]!])[0] ?? null) : null;
}

interface ImapFlowErrorLike {
  code?: string;
  message?: string;
  responseText?: string;
  responseStatus?: string;
  serverResponseCode?: string;
  authenticationFailed?: boolean;
  mailboxMissing?: boolean;
  tlsFailed?: boolean;
}

/** What the server said, for the report: `NO [CODE] text`, else the library's message. */
function serverReply(e: ImapFlowErrorLike): string {
  if (e.responseText || e.responseStatus) {
    return [e.responseStatus, e.serverResponseCode && `[${e.serverResponseCode}]`, e.responseText].filter(Boolean).join(' ');
  }
  return e.message ?? String(e);
}

const TIMEOUT_CODES = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ETIMEOUT', 'ETIMEDOUT']);
/** imapflow's codes for an answer too large or malformed to parse: the server's fault, not the network's. */
const UNUSABLE_ANSWER_CODES = new Set([
  'LineTooLarge',
  'LiteralTooLarge',
  'ResponseTooLarge',
  'TooManyTokens',
  'TooManyResponses',
  'InvalidResponse',
  'MAX_IMAP_NESTING_REACHED',
]);
const unusableAnswer = (e: ImapFlowErrorLike): boolean =>
  !!e.code && (UNUSABLE_ANSWER_CODES.has(e.code) || e.code.startsWith('ParserError'));
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

function connectionFailure(where: string, error: unknown): ImapError {
  const e = error as ImapFlowErrorLike;
  if (e.code && TIMEOUT_CODES.has(e.code)) return new ImapError('timeout', `${where} did not answer in time (${e.code})`, { cause: error });
  if (e.tlsFailed || /certificate|TLS|SSL|STARTTLS/i.test(`${e.code ?? ''} ${e.message ?? ''}`)) {
    return new ImapError('unreachable', `${where}: no TLS connection: ${e.message ?? e.code}`, { cause: error });
  }
  if (e.code && UNREACHABLE_CODES.has(e.code))
    return new ImapError('unreachable', `${where} is not reachable: ${e.code} ${e.message ?? ''}`.trim(), { cause: error });
  if (e.responseStatus) return new ImapError('refused', `${where} refused: ${serverReply(e)}`, { cause: error });
  if (unusableAnswer(e))
    return new ImapError('refused', `${where}: the server's answer was not usable (${e.code}): ${e.message}`, { cause: error });
  return new ImapError('unreachable', `${where}: the connection failed: ${e.message ?? e.code ?? String(error)}`, { cause: error });
}

function commandFailure(what: string, error: unknown): ImapError {
  if (error instanceof ImapError) return error;
  const e = error as ImapFlowErrorLike;
  if (e.responseStatus) {
    const missing = e.mailboxMissing || e.serverResponseCode === 'NONEXISTENT' || e.serverResponseCode === 'TRYCREATE';
    return new ImapError('refused', `${what}: ${missing ? 'no such folder: ' : ''}${serverReply(e)}`, { cause: error });
  }
  if (e.code && TIMEOUT_CODES.has(e.code)) return new ImapError('timeout', `${what}: no answer in time (${e.code})`, { cause: error });
  if (unusableAnswer(e))
    return new ImapError('refused', `${what}: the server's answer was not usable (${e.code}): ${e.message}`, { cause: error });
  return new ImapError('unreachable', `${what}: the connection failed: ${e.message ?? e.code ?? String(error)}`, { cause: error });
}

/**
 * imapflow's logger, used for one thing: imapflow reports a NO to SEARCH or STORE only there
 * (the call itself returns false), so the last refusal is kept for the error. Nothing is
 * printed, so no credential can reach a log.
 */
class Refusals {
  private last: ImapFlowErrorLike | undefined;
  readonly logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (entry: { err?: ImapFlowErrorLike }) => this.note(entry),
    error: (entry: { err?: ImapFlowErrorLike }) => this.note(entry),
  };

  private note(entry: { err?: ImapFlowErrorLike } | undefined): void {
    if (entry?.err && (entry.err.responseStatus || entry.err.code)) this.last = entry.err;
  }

  clear(): void {
    this.last = undefined;
  }

  /** The refusal of a command that returned false, with the server's reply where imapflow saw one. */
  failure(what: string): ImapError {
    const last = this.last;
    this.last = undefined;
    if (last) return commandFailure(what, last);
    return new ImapError('refused', `${what}: the server did not carry it out`);
  }
}

/**
 * Bounds every step of one connection: a step that takes longer than `timeoutMs` (a stream:
 * longer than that since its last item) closes the connection and fails with
 * ImapError('timeout'). imapflow's own timers cover connect and greeting; this covers the
 * commands, which it would otherwise wait on as long as the socket stays open.
 */
class Guard {
  /** Set after the login: from then on a step on a closed connection fails before it starts. */
  loggedIn = false;

  constructor(
    private readonly client: ImapFlow,
    readonly timeoutMs: number,
    private readonly where: string,
  ) {}

  /**
   * The error for a step on a connection the server (or a timeout) closed; undefined while it
   * is open. imapflow answers some commands on a closed connection with false or nothing,
   * which would read as "no messages" or "done".
   */
  closed(what: string): ImapError | undefined {
    if (!this.loggedIn || this.client.usable) return undefined;
    return new ImapError('unreachable', `${this.where}: the connection is closed (${what} not sent)`);
  }

  run<T>(
    what: string,
    step: () => Promise<T>,
    mapError: (error: unknown) => ImapError = (e) => commandFailure(what, e),
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    return this.stream(what, () => step(), mapError, timeoutMs);
  }

  async stream<T>(
    what: string,
    step: (touch: () => void) => Promise<T>,
    mapError: (error: unknown) => ImapError = (e) => commandFailure(what, e),
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const closed = this.closed(what);
    if (closed) throw closed;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let fail: (error: ImapError) => void = () => undefined;
    const expired = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        this.client.close();
        fail(new ImapError('timeout', `${this.where}: no answer to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
    };
    arm();
    const work = step(arm);
    work.catch(() => undefined);
    try {
      return await Promise.race([work, expired]);
    } catch (error) {
      if (error instanceof ImapError) throw error;
      if (timedOut) throw new ImapError('timeout', `${this.where}: no answer to ${what} within ${timeoutMs} ms`, { cause: error });
      throw mapError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}
