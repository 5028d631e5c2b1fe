// Test harness: a real Postfix (Debian's 3.7) standing in for the on-prem Exchange.
// Each instance runs from a private config + queue directory in a temp dir, listens on
// a free 127.0.0.1 port and delivers into Maildirs through virtual(8). It can refuse or
// defer chosen recipients (check_recipient_access) and be stopped and started again on
// the same port ("primary down, primary back"). Also here: what a relayed message must
// look like in the Maildir (maildirForm, postfixStoredForm, stripPostfixTrace) and a
// self-signed certificate maker for STARTTLS tests. With `sasl` it asks for SMTP AUTH
// like an authenticated Exchange receive connector.
//
// Needs root (the postfix command refuses to run otherwise) and the Debian packages
// postfix and openssl (sasl2-bin for `sasl`). Traps (see also NOTES-test-infra.md): `postfix check` fails
// silently unless maillog_file has a matching maillog_file_prefixes; the Maildir base
// must be reachable for `nobody`; Postfix pauses ~2 s before reading a config or table
// file written in the last second, so ours are dated back; Postfix's defaults edit
// headers of mail from 127.0.0.1 (see the main.cf comments below).
import { execFile, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './wait.ts';

const run = promisify(execFile);

/** Config directories of running instances: stopped when the process exits, so a crashed test run leaves no Postfix behind. */
const running = new Set<string>();
process.once('exit', () => {
  for (const etc of running) spawnSync('postfix', ['-c', etc, 'stop'], { stdio: 'ignore', timeout: 10_000 });
});

const NOBODY_UID = 65534;
const NOGROUP_GID = 65534;
const MASTER_CF_DIST = '/usr/share/postfix/master.cf.dist';

export interface PostfixOptions {
  /** The one virtual mailbox domain, e.g. `corp.test`. */
  domain: string;
  /** Mailbox users: local parts (`alice`) or addresses in `domain`. Any other address at the domain gets 550 5.1.1. */
  users: string[];
  /** Offer STARTTLS with a self-signed certificate made for this instance (see `ca`). */
  tls?: boolean;
  /** Initial check_recipient_access entries: address → reply, e.g. `{ 'bob@corp.test': '450 4.2.0 try later' }`. */
  recipientAccess?: Record<string, string>;
  /** Extra or overriding main.cf settings. */
  mainCf?: Record<string, string>;
  /** Listen on this port instead of a free one. */
  port?: number;
  /**
   * SMTP AUTH (PLAIN, LOGIN) through Cyrus SASL with a private sasldb; with `tls`, offered
   * only after STARTTLS, like an Exchange connector with BasicAuthRequireTLS.
   * `users`: login name (an address of `domain`) → password. `required`: MAIL FROM of a
   * client that did not log in gets Exchange's answer, 530 5.7.1 "Client was not
   * authenticated" (Postfix adds the address in front of the text).
   */
  sasl?: { users: Record<string, string>; required?: boolean };
}

export interface PostfixInstance {
  readonly host: string;
  readonly port: number;
  readonly domain: string;
  /** The instance's private directory (config, queue, Maildirs, log). */
  readonly dir: string;
  /** PEM of the self-signed server certificate when `tls` is on: pin it as the client's CA. */
  readonly ca: string | undefined;
  /** The value of myhostname, which names this instance in its Received header. */
  readonly hostname: string;
  address(user: string): string;
  maildir(user: string): string;
  /** Every delivered message of the user, oldest first (delivery time, then file name). */
  readDelivered(user: string): Promise<Buffer[]>;
  /** Waits until the user holds at least `count` messages; throws with the mail log after `timeoutMs`. */
  waitForDelivered(user: string, count: number, timeoutMs?: number): Promise<Buffer[]>;
  /** Replaces the check_recipient_access map (address → reply) and restarts Postfix (~0.3 s); `{}` clears it. */
  setRecipientAccess(entries: Record<string, string>): Promise<void>;
  /** Number of messages in Postfix's own queue (deferred or not yet delivered). */
  queueSize(): Promise<number>;
  isRunning(): boolean;
  /** Starts again after stop(), on the same port. */
  start(): Promise<void>;
  /** Stops Postfix; the port refuses connections afterwards. Maildirs are kept. */
  stop(): Promise<void>;
  /** Stops Postfix and deletes the directory. */
  destroy(): Promise<void>;
  /** The mail log so far. */
  log(): Promise<string>;
}

/** Starts a private Postfix: ~0.3 s on this kind of machine, ~0.4 s with tls (the certificate is made first). */
export async function startPostfix(options: PostfixOptions): Promise<PostfixInstance> {
  if (process.getuid?.() !== 0) throw new Error('startPostfix needs root: the postfix command refuses to run otherwise');
  const dir = await mkdtemp(join(tmpdir(), 'shadowmail-postfix-'));
  // mkdtemp makes 0700; virtual(8) runs as nobody and must reach the Maildir base below it
  await chmod(dir, 0o755);
  const instance = new Postfix(dir, options, options.port ?? (await freePort()));
  try {
    await instance.configure();
    await instance.start();
  } catch (error) {
    await instance.destroy().catch(() => undefined);
    throw error;
  }
  return instance;
}

class Postfix implements PostfixInstance {
  readonly host = '127.0.0.1';
  readonly domain: string;
  readonly hostname: string;
  ca: string | undefined;
  private running = false;
  private readonly etc: string;
  private readonly users: string[];

  constructor(
    readonly dir: string,
    private readonly options: PostfixOptions,
    readonly port: number,
  ) {
    this.domain = options.domain.toLowerCase();
    this.etc = join(dir, 'etc');
    this.users = options.users.map((user) => this.localPart(user));
    this.hostname = `primary-${port}.${this.domain}`;
  }

  address(user: string): string {
    return `${this.localPart(user)}@${this.domain}`;
  }

  maildir(user: string): string {
    return join(this.dir, 'mail', this.localPart(user));
  }

  async configure(): Promise<void> {
    const mailBase = join(this.dir, 'mail');
    const queue = join(this.dir, 'queue');
    const data = join(this.dir, 'data');
    await mkdir(this.etc, { recursive: true });
    await mkdir(queue, { recursive: true });
    await mkdir(data, { recursive: true });
    await mkdir(mailBase, { recursive: true });
    await chown(data, ...(await postfixIds()));
    await chown(mailBase, NOBODY_UID, NOGROUP_GID);

    const saslSettings = this.options.sasl ? await this.configureSasl(this.options.sasl) : {};
    const tlsSettings: Record<string, string> = {};
    if (this.options.tls) {
      const cert = await createSelfSignedCertificate(join(this.dir, 'tls'), {
        commonName: this.hostname,
        dnsNames: [this.hostname, 'localhost'],
        ipAddresses: ['127.0.0.1'],
      });
      this.ca = cert.certPem;
      Object.assign(tlsSettings, {
        smtpd_tls_cert_file: cert.certPath,
        smtpd_tls_key_file: cert.keyPath,
        smtpd_tls_security_level: 'may',
        smtpd_tls_loglevel: '1',
      });
    }

    await writeConfigFile(join(this.etc, 'virtual_mailboxes'), this.users.map((user) => `${user}@${this.domain} ${user}/\n`).join(''));
    await this.writeAccessMap(this.options.recipientAccess ?? {});

    const main: Record<string, string> = {
      compatibility_level: '3.6',
      queue_directory: queue,
      data_directory: data,
      meta_directory: '/etc/postfix',
      command_directory: '/usr/sbin',
      daemon_directory: '/usr/lib/postfix/sbin',
      shlib_directory: '/usr/lib/postfix',
      mail_owner: 'postfix',
      setgid_group: 'postdrop',
      syslog_name: `postfix-${this.port}`,
      maillog_file: join(this.dir, 'maillog'),
      // without a matching prefix `postfix check` exits 1 and says why only on a terminal
      maillog_file_prefixes: `${this.dir}/`,
      myhostname: this.hostname,
      mydomain: this.domain,
      myorigin: this.hostname,
      mydestination: '',
      inet_interfaces: '127.0.0.1',
      inet_protocols: 'ipv4',
      mynetworks: '127.0.0.0/8',
      alias_maps: '',
      alias_database: '',
      local_recipient_maps: '',
      relayhost: '',
      default_transport: 'error:no outbound mail from the test primary',
      relay_transport: 'error:no outbound mail from the test primary',
      notify_classes: '',
      biff: 'no',
      smtputf8_enable: 'yes',
      virtual_mailbox_domains: this.domain,
      virtual_mailbox_base: mailBase,
      virtual_mailbox_maps: `texthash:${join(this.etc, 'virtual_mailboxes')}`,
      virtual_uid_maps: `static:${NOBODY_UID}`,
      virtual_gid_maps: `static:${NOGROUP_GID}`,
      smtpd_recipient_restrictions: `check_recipient_access texthash:${join(this.etc, 'recipient_access')}, permit_mynetworks, reject_unauth_destination`,
      // Exchange keeps what it is sent; Postfix's defaults would edit it. Clients on
      // 127.0.0.1 count as local (permit_inet_interfaces) and get missing Date/Message-ID/From
      // headers added and addresses rewritten; message_drop_headers deletes Return-Path,
      // Content-Length, Bcc and Resent-Bcc headers. Both are switched off here.
      local_header_rewrite_clients: '',
      message_drop_headers: '',
      // 40 MB is the SES limit; base64 makes a 10 MB attachment ~13.5 MB on the wire
      message_size_limit: String(60 * 1024 * 1024),
      virtual_mailbox_limit: '0',
      // Postfix truncates a header beyond 100 KB; Exchange's limit is 256 KB, and the corpus has a 210 KB Subject
      header_size_limit: String(1024 * 1024),
      // a test waits for delivery; Postfix's default is to retry deferred mail after minutes
      queue_run_delay: '1s',
      minimal_backoff_time: '1s',
      maximal_backoff_time: '2s',
      smtpd_error_sleep_time: '0',
      smtpd_soft_error_limit: '1000',
      smtpd_hard_error_limit: '1000',
      smtpd_client_connection_rate_limit: '0',
      ...tlsSettings,
      ...saslSettings,
      ...this.options.mainCf,
    };
    await writeConfigFile(
      join(this.etc, 'main.cf'),
      Object.entries(main)
        .map(([key, value]) => `${key} = ${value}\n`)
        .join(''),
    );
    await writeConfigFile(join(this.etc, 'master.cf'), masterCf(await readFile(MASTER_CF_DIST, 'utf8'), this.port));
  }

  isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.postfix('check');
    await this.postfix('start');
    this.running = true;
    running.add(this.etc);
    await this.waitForGreeting(10_000);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    await this.postfix('stop');
    this.running = false;
    running.delete(this.etc);
    // `postfix stop` returns once master got the signal; wait until the port is really closed
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      if (!(await portAnswers(this.host, this.port))) return;
      await delay(20);
    }
    throw new Error(`postfix on ${this.port} still accepts connections 10 s after stop`);
  }

  async destroy(): Promise<void> {
    try {
      if (this.running) await this.stop();
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  async setRecipientAccess(entries: Record<string, string>): Promise<void> {
    await this.writeAccessMap(entries);
    if (!this.running) return;
    // texthash maps are read when a daemon starts: a reload is not enough to be sure an idle
    // smtpd from before is gone, a restart is (and costs ~0.3 s)
    await this.stop();
    await this.start();
  }

  async readDelivered(user: string): Promise<Buffer[]> {
    const files: Array<{ path: string; mtimeMs: number; name: string }> = [];
    for (const sub of ['new', 'cur']) {
      const folder = join(this.maildir(user), sub);
      const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [] as string[];
        throw error;
      });
      for (const name of names) {
        const path = join(folder, name);
        files.push({ path, name, mtimeMs: (await stat(path)).mtimeMs });
      }
    }
    files.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
    // the files belong to nobody with mode 0600: readable here because the tests run as root
    return Promise.all(files.map((file) => readFile(file.path)));
  }

  async waitForDelivered(user: string, count: number, timeoutMs = 10_000): Promise<Buffer[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const messages = await this.readDelivered(user);
      if (messages.length >= count) return messages;
      if (Date.now() >= until) {
        throw new Error(
          `${this.address(user)}: ${messages.length} of ${count} messages delivered after ${timeoutMs} ms; mail log:\n${(await this.log()).slice(-4000)}`,
        );
      }
      await delay(25);
    }
  }

  async queueSize(): Promise<number> {
    let count = 0;
    for (const sub of ['incoming', 'active', 'deferred', 'hold', 'maildrop']) {
      count += await countFiles(join(this.dir, 'queue', sub));
    }
    return count;
  }

  async log(): Promise<string> {
    return readFile(join(this.dir, 'maillog'), 'utf8').catch(() => '');
  }

  /**
   * A sasldb of its own (saslpasswd2, Debian's sasl2-bin) and the Cyrus application config
   * `smtpd.conf`; smtpd reads both as the postfix user. Debian's Postfix looks for that
   * file in <config dir>/sasl whatever cyrus_sasl_config_path says (seen with strace), so
   * it goes there, and the setting names the same directory for other builds.
   */
  private async configureSasl(sasl: NonNullable<PostfixOptions['sasl']>): Promise<Record<string, string>> {
    const saslDir = join(this.etc, 'sasl');
    await mkdir(saslDir, { recursive: true });
    const db = join(saslDir, 'sasldb2');
    for (const [login, password] of Object.entries(sasl.users)) {
      const at = login.lastIndexOf('@');
      const [user, realm] = at < 0 ? [login, this.domain] : [login.slice(0, at), login.slice(at + 1)];
      await runWithInput('saslpasswd2', ['-c', '-p', '-f', db, '-u', realm, user], password);
    }
    const [uid] = await postfixIds();
    await chown(db, uid, 0);
    await chmod(db, 0o640);
    await writeConfigFile(
      join(saslDir, 'smtpd.conf'),
      `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: ${db}\nmech_list: PLAIN LOGIN\n`,
    );
    return {
      smtpd_sasl_auth_enable: 'yes',
      smtpd_sasl_type: 'cyrus',
      smtpd_sasl_path: 'smtpd',
      cyrus_sasl_config_path: saslDir,
      smtpd_sasl_security_options: 'noanonymous',
      smtpd_tls_auth_only: this.options.tls ? 'yes' : 'no',
      ...(sasl.required && {
        // sender restrictions at MAIL FROM, not deferred to RCPT, as Exchange answers
        smtpd_delay_reject: 'no',
        smtpd_sender_restrictions: 'permit_sasl_authenticated, check_sender_access static:{530 5.7.1 Client was not authenticated}',
      }),
    };
  }

  private async writeAccessMap(entries: Record<string, string>): Promise<void> {
    const lines = Object.entries(entries).map(([address, reply]) => {
      if (/\s/.test(address) || /[\r\n]/.test(reply))
        throw new Error(`bad access map entry ${JSON.stringify(address)} → ${JSON.stringify(reply)}`);
      return `${address.toLowerCase()} ${reply}\n`;
    });
    await writeConfigFile(join(this.etc, 'recipient_access'), lines.join(''));
  }

  private localPart(user: string): string {
    const at = user.lastIndexOf('@');
    if (at < 0) return user.toLowerCase();
    if (user.slice(at + 1).toLowerCase() !== this.domain) throw new Error(`${user} is not in the domain ${this.domain}`);
    return user.slice(0, at).toLowerCase();
  }

  private async postfix(command: 'check' | 'start' | 'stop'): Promise<void> {
    try {
      await run('postfix', ['-c', this.etc, command], { timeout: 30_000 });
    } catch (error) {
      // Postfix prints fatal errors only to syslog or a terminal: give it a terminal to learn why
      const why = await run('script', ['-qec', `postfix -c ${this.etc} ${command}`, '/dev/null'], { timeout: 30_000 }).then(
        (out) => out.stdout,
        (failed: { stdout?: string }) => failed.stdout ?? '',
      );
      throw new Error(`postfix ${command} failed for ${this.etc}: ${why.trim() || String(error)}\n${(await this.log()).slice(-2000)}`, {
        cause: error,
      });
    }
  }

  private async waitForGreeting(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (await greets(this.host, this.port)) return;
      await delay(20);
    }
    throw new Error(
      `postfix on ${this.host}:${this.port} did not greet within ${timeoutMs} ms; mail log:\n${(await this.log()).slice(-2000)}`,
    );
  }
}

/** master.cf.dist with every chroot off and the public smtpd on 127.0.0.1:<port>. */
function masterCf(dist: string, port: number): string {
  return dist
    .split('\n')
    .map((line) => {
      if (/^\s|^#|^$/.test(line)) return line;
      const fields = line.split(/\s+/);
      if (fields.length < 8) return line;
      if (fields[0] === 'smtp' && fields[1] === 'inet') fields[0] = `127.0.0.1:${port}`;
      fields[4] = 'n';
      return fields.join('\t');
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------
// What a relayed message looks like in the Maildir.
//
// The relay sends the input with every CRLF, bare CR and bare LF as CRLF (see
// lambdas/adapters/smtp/smtp-relay.ts); Postfix stores lines ended by LF. So the Maildir
// file, after the header fields Postfix prepends, must equal maildirForm(sent).

/** `sent` as a Maildir holds it: each CRLF, bare CR or bare LF becomes LF; a final LF is added when missing. */
export function maildirForm(sent: Buffer): Buffer {
  const out = Buffer.allocUnsafe(sent.length + 1);
  let length = 0;
  for (let i = 0; i < sent.length; i++) {
    const byte = sent[i]!;
    if (byte === 0x0d) {
      out[length++] = 0x0a;
      if (sent[i + 1] === 0x0a) i++;
    } else {
      out[length++] = byte;
    }
  }
  if (length === 0 || out[length - 1] !== 0x0a) out[length++] = 0x0a;
  return Buffer.from(out.subarray(0, length));
}

/** An edit Postfix makes to content it receives, which the comparison has to expect. */
export type PostfixEdit =
  /** The header section ended in a line that is neither a header field nor empty: Postfix put an empty line before it. */
  | 'header-separator-inserted'
  /** A header field had blanks between its name and ':' (obsolete RFC 822 syntax): Postfix removed them. */
  | 'blanks-before-colon-removed';

/** What Postfix stores for `sent` (after its own header fields, see stripPostfixTrace). */
export interface PostfixStoredForm {
  bytes: Buffer;
  edits: PostfixEdit[];
}

/**
 * maildirForm(sent) plus the edits Postfix's cleanup(8) makes to the top-level header
 * section of content that reaches it (with the settings of startPostfix), both measured
 * on the corpus:
 * - when the header section does not end with an empty line, an empty line is inserted
 *   before the first line that is neither a header field (Postfix's is_header():
 *   printable ASCII name, optional blanks, ':') nor a continuation line;
 * - `Name :value` becomes `Name:value`.
 * MIME part headers are left alone. (smtpd also turns a first line "From ..." into
 * "X-Mailbox-Line: From ..."; the relayed message always starts with the forward's trace
 * header, so that never applies here.)
 */
export function postfixStoredForm(sent: Buffer): PostfixStoredForm {
  const input = maildirForm(sent);
  const parts: Buffer[] = [];
  const edits = new Set<PostfixEdit>();
  let offset = 0;
  let inField = false;
  while (offset < input.length) {
    const end = input.indexOf(0x0a, offset);
    const line = input.subarray(offset, end + 1);
    if (line.length === 1) break;
    const continuation = inField && (line[0] === 0x20 || line[0] === 0x09);
    if (continuation) {
      parts.push(line);
    } else {
      const field = headerFieldName(line);
      if (field === null) {
        parts.push(Buffer.from('\n'));
        edits.add('header-separator-inserted');
        break;
      }
      if (field.colon > field.nameEnd) {
        parts.push(line.subarray(0, field.nameEnd), line.subarray(field.colon));
        edits.add('blanks-before-colon-removed');
      } else {
        parts.push(line);
      }
    }
    inField = true;
    offset = end + 1;
  }
  parts.push(input.subarray(offset));
  return { bytes: Buffer.concat(parts), edits: [...edits] };
}

/** Postfix's is_header(): 1+ printable ASCII characters other than ':', optional blanks, then ':'. */
function headerFieldName(line: Buffer): { nameEnd: number; colon: number } | null {
  let i = 0;
  while (i < line.length && line[i]! > 0x20 && line[i]! < 0x7f && line[i] !== 0x3a) i++;
  if (i === 0) return null;
  const nameEnd = i;
  while (i < line.length && (line[i] === 0x20 || line[i] === 0x09)) i++;
  return line[i] === 0x3a ? { nameEnd, colon: i } : null;
}

export interface PostfixTrace {
  /** The fields Postfix put on top, in order: Return-Path, X-Original-To, Delivered-To, Received. */
  prepended: string[];
  /** Everything after them: the message as the relay sent it (in Maildir form). */
  message: Buffer;
}

/**
 * Splits off the header fields Postfix adds above the message. virtual(8) writes
 * Return-Path, X-Original-To and Delivered-To; smtpd's cleanup writes one Received field
 * (with folded lines) naming `hostname`. Exactly these four, in this order, are removed —
 * a message that carries its own Received or Delivered-To fields keeps them.
 */
export function stripPostfixTrace(delivered: Buffer, hostname: string): PostfixTrace {
  const prepended: string[] = [];
  let offset = 0;
  const takeField = (name: string): string => {
    let end = delivered.indexOf(0x0a, offset);
    // a field continues on lines that start with space or tab
    while (end >= 0 && (delivered[end + 1] === 0x20 || delivered[end + 1] === 0x09)) end = delivered.indexOf(0x0a, end + 1);
    if (end < 0) throw new Error(`delivered message ends inside the ${name} field Postfix adds`);
    const field = delivered.subarray(offset, end + 1).toString('latin1');
    if (!field.toLowerCase().startsWith(`${name.toLowerCase()}:`)) {
      throw new Error(`expected Postfix's ${name} field at byte ${offset}, found ${JSON.stringify(field.slice(0, 80))}`);
    }
    offset = end + 1;
    prepended.push(field);
    return field;
  };
  takeField('Return-Path');
  takeField('X-Original-To');
  takeField('Delivered-To');
  const received = takeField('Received');
  if (!received.includes(`by ${hostname} (Postfix)`)) throw new Error(`the Received field is not Postfix's own: ${received}`);
  return { prepended, message: delivered.subarray(offset) };
}

// ---------------------------------------------------------------------------------------
// TLS

export interface SelfSignedCertificate {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

/** A throwaway self-signed certificate (EC P-256, 2 days) made with `openssl req`. */
export async function createSelfSignedCertificate(
  dir: string,
  subject: { commonName: string; dnsNames?: string[]; ipAddresses?: string[] },
): Promise<SelfSignedCertificate> {
  await mkdir(dir, { recursive: true });
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const san = [...(subject.dnsNames ?? []).map((name) => `DNS:${name}`), ...(subject.ipAddresses ?? []).map((ip) => `IP:${ip}`)].join(',');
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${subject.commonName}`,
      ...(san ? ['-addext', `subjectAltName=${san}`] : []),
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { timeout: 30_000 },
  );
  // smtpd reads the key as root before dropping privileges; 0600 is what Postfix wants
  await chmod(keyPath, 0o600);
  return { certPath, keyPath, certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') };
}

// ---------------------------------------------------------------------------------------
// small helpers

/**
 * Postfix pauses ~2 s before it reads a configuration or table file changed in the last
 * second or so (it may still be being written); ours are complete, so they are dated back.
 */
async function writeConfigFile(path: string, content: string): Promise<void> {
  await writeFile(path, content);
  const past = new Date(Date.now() - 60_000);
  await utimes(path, past, past);
}

/** Runs a command with `input` on its standard input; rejects with its output when it fails. */
function runWithInput(command: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${stderr || stdout || error.message}`, { cause: error })) : resolve(),
    );
    child.stdin?.end(input);
  });
}

async function postfixIds(): Promise<[number, number]> {
  const { stdout } = await run('id', ['postfix']);
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1]);
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no postfix user: ${stdout}`);
  return [uid, gid];
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True when a 220 greeting arrives (Postfix is really serving, not just bound). */
function greets(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    let seen = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.includes('\n')) {
        if (seen.startsWith('220')) socket.end('QUIT\r\n');
        done(seen.startsWith('220'));
      }
    });
    socket.once('error', () => done(false));
  });
}

async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (!entries) return 0;
  let count = 0;
  for (const entry of entries) {
    count += entry.isDirectory() ? await countFiles(join(dir, entry.name)) : 1;
  }
  return count;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
