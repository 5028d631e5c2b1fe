// Test harness: a real Dovecot (Debian's dovecot-imapd 2.3) standing in for Exchange's
// IMAP4 service, for `shadowmail reconcile` (issue 15). Each instance runs from a private
// config in a temp directory (base_dir, state_dir and a unique instance_name there, so
// /etc/dovecot and other instances are untouched): 127.0.0.1 on free ports, IMAP with
// STARTTLS and IMAPS with a self-signed certificate (`caFile`), users from a passwd-file
// with mail in maildir, and a service account in a second passdb with `master = yes` and
// `pass = yes`, so SASL PLAIN with an authorization identity (RFC 4616) opens any user's
// mailbox. Folders: `Sent` with SPECIAL-USE \Sent for most users, "Gesendete Elemente"
// without it for the `germanSent` users (Exchange's German Sent Items folder), any name or
// none at all per user with `sentFolders` (non-ASCII names stored in modified UTF-7, as
// Dovecot does), and with
// `specialUse: false` a server that advertises no SPECIAL-USE at all (like Exchange's
// IMAP4, whose capability list it copies then).
//
// Messages are stored byte for byte (`mail_save_crlf = yes`), so the helpers read the
// maildir files directly — not through IMAP — for assertions: content, flags from the
// file name (`:2,S` = \Seen), internal date from the mtime. `deliver` drops a message into
// a user's INBOX the way an MDA does (tmp/ then new/).
//
// Runs as root (mail as nobody, like the Postfix stand-in) or as the current user.
// Traps: every failed login costs auth_failure_delay (2 s by default; 0 here unless
// `authFailureDelay` is set) plus a growing per-IP penalty (off here); a config error only
// shows in `dovecot -n`, so it runs first. Dovecot answers a wrong password with
// [AUTHENTICATIONFAILED] and an authzid it may not use with [AUTHORIZATIONFAILED] (RFC 5530).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSelfSignedCertificate } from './postfix.ts';
import { freePort } from './wait.ts';

const run = promisify(execFile);

const DOVECOT = '/usr/sbin/dovecot';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const LAUNCH_TRIES = 3;
const NOBODY_UID = 65534;
const NOGROUP_GID = 65534;

export const SERVICE_USER = 'reconcile';
export const SERVICE_PASSWORD = 'reconcile-secret';

/** Post-login capabilities like Exchange 2016/2019's IMAP4 service: no SPECIAL-USE, BINARY, CONDSTORE or ESEARCH. */
const EXCHANGE_LIKE_CAPABILITY = 'IMAP4rev1 LITERAL+ ID IDLE CHILDREN NAMESPACE UIDPLUS MOVE';

export interface DovecotOptions {
  /** The mail domain; users log in with their address. Default `corp.test`. */
  domain?: string;
  /** Local parts of the users (password = local part, like the demo directory). Default: the demo users. */
  users?: string[];
  /** Users whose Sent folder is "Gesendete Elemente" without SPECIAL-USE. Default `['bob']`. */
  germanSent?: string[];
  /** Per user (local part): the Sent folder's name, or null for none; overrides `germanSent`. Only "Sent" has SPECIAL-USE. */
  sentFolders?: Record<string, string | null>;
  /** false: no SPECIAL-USE capability and no \Sent attribute for anyone. Default true. */
  specialUse?: boolean;
  /** Seconds a failed login waits before its answer (Dovecot's default is 2). Default 0. */
  authFailureDelay?: number;
}

export interface StoredMessage {
  /** The bytes as stored (CRLF kept). */
  raw: Buffer;
  /** IMAP system flags from the maildir file name, e.g. `['\\Seen']`. */
  flags: string[];
  /** The internal date (the file's mtime, whole seconds). */
  internalDate: Date;
}

export interface Dovecot {
  host: string;
  /** IMAP with STARTTLS offered. */
  port: number;
  /** IMAP over TLS from the first byte. */
  imapsPort: number;
  /** The self-signed server certificate (CN localhost, SAN 127.0.0.1): the CA to trust. */
  caFile: string;
  caPem: string;
  domain: string;
  dir: string;
  /** The config file, for `doveadm -c`. */
  config: string;
  serviceUser: string;
  servicePassword: string;
  startupMs: number;
  address(user: string): string;
  /** The name of the user's Sent folder ("Sent" or "Gesendete Elemente"). */
  sentFolder(user: string): string | null;
  /** The messages of a folder (`INBOX` or a folder name), oldest file first. */
  messages(user: string, folder: string): Promise<StoredMessage[]>;
  /** Drops a message into the user's INBOX as an MDA does, unread. */
  deliver(user: string, raw: string | Uint8Array, internalDate?: Date): Promise<void>;
  /** The log so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startDovecot(options: DovecotOptions = {}): Promise<Dovecot> {
  const started = performance.now();
  const domain = (options.domain ?? 'corp.test').toLowerCase();
  const users = options.users ?? ['alice', 'bob', 'admin'];
  const germanSent = new Set(options.germanSent ?? ['bob']);
  const specialUse = options.specialUse ?? true;
  const asRoot = process.getuid?.() === 0;
  const [uid, gid] = asRoot ? [NOBODY_UID, NOGROUP_GID] : [process.getuid?.() ?? 0, process.getgid?.() ?? 0];

  const dir = await mkdtemp(join(tmpdir(), 'shadowmail-dovecot-'));
  // mkdtemp makes 0700; the mail processes run as nobody and must reach the homes below it
  await chmod(dir, 0o755);
  let child: ChildProcess | undefined;
  try {
    const cert = await createSelfSignedCertificate(join(dir, 'tls'), {
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    const config = join(dir, 'dovecot.conf');
    const sentFolder = (user: string): string | null => {
      const own = options.sentFolders?.[localPart(user)];
      if (own !== undefined) return own;
      return germanSent.has(localPart(user)) ? 'Gesendete Elemente' : 'Sent';
    };

    await writeFile(join(dir, 'users'), users.map((u) => `${u}@${domain}:{PLAIN}${u}:${uid}:${gid}::${join(dir, 'home', u)}::\n`).join(''));
    await writeFile(join(dir, 'masters'), `${SERVICE_USER}@${domain}:{PLAIN}${SERVICE_PASSWORD}\n`);
    for (const user of users) {
      const maildir = join(dir, 'home', user, 'Maildir');
      const sent = sentFolder(user);
      for (const folder of ['', ...(sent ? [`.${modifiedUtf7(sent)}`] : [])])
        for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir, folder, sub), { recursive: true });
      await chownTree(join(dir, 'home', user), uid, gid);
    }
    await chown(join(dir, 'home'), uid, gid);
    const internalUser = asRoot ? 'dovecot' : userInfo().username;
    const loginUser = asRoot ? 'dovenull' : userInfo().username;

    // Free ports are only free a moment ago: when another process took one meanwhile,
    // Dovecot exits at once, and it starts again on other ports.
    let launched: Launched | undefined;
    for (let attempt = 1; !launched; attempt += 1) {
      const port = await freePort();
      const imapsPort = await freePort();
      const conf = { dir, port, imapsPort, cert, specialUse, authFailureDelay: options.authFailureDelay ?? 0, internalUser, loginUser };
      await writeFile(config, dovecotConf(conf));
      // A wrong setting only shows here, with the reason.
      await run(DOVECOT, ['-c', config, '-n'], { timeout: 30_000 }).catch((error) => {
        throw new Error(`dovecot -n refused the config: ${error.stderr || error.message}`);
      });
      try {
        launched = await launch(config, dir, port, imapsPort, (proc) => {
          child = proc;
        });
      } catch (error) {
        if (attempt >= LAUNCH_TRIES || !/in use/i.test(String(error))) throw error;
      }
    }
    const { proc, port, imapsPort, exited } = launched;

    const maildirOf = (user: string, folder: string) =>
      join(dir, 'home', localPart(user), 'Maildir', folder.toUpperCase() === 'INBOX' ? '' : `.${modifiedUtf7(folder)}`);
    return {
      host: '127.0.0.1',
      port,
      imapsPort,
      caFile: cert.certPath,
      caPem: cert.certPem,
      domain,
      dir,
      config,
      serviceUser: `${SERVICE_USER}@${domain}`,
      servicePassword: SERVICE_PASSWORD,
      startupMs: performance.now() - started,
      address: (user) => `${localPart(user)}@${domain}`,
      sentFolder,
      messages: (user, folder) => readMaildir(maildirOf(user, folder)),
      deliver: async (user, raw, internalDate = new Date()) => {
        const name = `${Date.now()}.M${randomBytes(6).toString('hex')}.shadowmail-test`;
        const tmp = join(maildirOf(user, 'INBOX'), 'tmp', name);
        await writeFile(tmp, raw);
        await utimes(tmp, internalDate, internalDate);
        await chown(tmp, uid, gid);
        await rename(tmp, join(maildirOf(user, 'INBOX'), 'new', name));
      },
      log: () => readLog(dir),
      stop: async () => {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        running.delete(proc);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (child) running.delete(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

interface Launched {
  proc: ChildProcess;
  port: number;
  imapsPort: number;
  exited: Promise<void>;
}

/** Starts Dovecot in the foreground and waits until both ports are its own and answer. */
async function launch(
  config: string,
  dir: string,
  port: number,
  imapsPort: number,
  started: (proc: ChildProcess) => void,
): Promise<Launched> {
  const proc = spawn(DOVECOT, ['-c', config, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
  started(proc);
  running.add(proc);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!gone() && (await greets(port)) && (await listening(imapsPort))) {
      // a process that took one of the ports may answer there too: ours must still be running
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (!gone()) return { proc, port, imapsPort, exited };
    }
    if (gone()) {
      running.delete(proc);
      throw new Error(`dovecot exited (${proc.exitCode ?? proc.signalCode}): ${output}${await readLog(dir)}`);
    }
    if (Date.now() > deadline) throw new Error(`dovecot not ready after ${READY_TIMEOUT_MS} ms: ${output}${await readLog(dir)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A folder name as IMAP and Dovecot's maildir store it: modified UTF-7 (RFC 3501 §5.1.3). */
function modifiedUtf7(name: string): string {
  return name.replace(/&|[^\x20-\x7e]+/g, (run) => {
    if (run === '&') return '&-';
    const utf16 = Buffer.from(run, 'utf16le').swap16();
    return `&${utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
  });
}

function localPart(user: string): string {
  return user.split('@')[0]!.toLowerCase();
}

interface ConfOptions {
  dir: string;
  port: number;
  imapsPort: number;
  cert: { certPath: string; keyPath: string };
  specialUse: boolean;
  authFailureDelay: number;
  internalUser: string;
  loginUser: string;
}

function dovecotConf(o: ConfOptions): string {
  return `
base_dir = ${o.dir}/run
state_dir = ${o.dir}/state
instance_name = shadowmail-dovecot-${o.port}
listen = 127.0.0.1
protocols = imap
log_path = ${o.dir}/dovecot.log
default_internal_user = ${o.internalUser}
default_login_user = ${o.loginUser}
first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <${o.cert.certPath}
ssl_key = <${o.cert.keyPath}
# loopback counts as secured anyway; say it so a test of the adapter's own TLS rule is not Dovecot's
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = ${o.authFailureDelay} secs
mail_location = maildir:~/Maildir
# keep the appended bytes as they are (Dovecot stores LF line ends by default)
mail_save_crlf = yes
${o.specialUse ? '' : `imap_capability = ${EXCHANGE_LIKE_CAPABILITY}`}

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${o.dir}/masters
  master = yes
  pass = yes
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${o.dir}/users
}
userdb {
  driver = passwd-file
  args = username_format=%u ${o.dir}/users
}

namespace inbox {
  inbox = yes
  separator = /
${o.specialUse ? '  mailbox Sent {\n    special_use = \\Sent\n  }' : ''}
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${o.port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${o.imapsPort}
    ssl = yes
  }
}
# Dovecot's per-IP auth penalty (2, 4, 8, then 15 s per failed login from 127.0.0.1) would
# make each refused-login test slower than the last: off, as its documentation shows
# (https://doc.dovecot.org/configuration_manual/authentication/auth_penalty).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
`;
}

/** Whether an IMAP greeting arrives on the port. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('* OK')));
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const MAILDIR_FLAGS: Record<string, string> = { D: '\\Draft', F: '\\Flagged', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };

/** A folder's messages; read again when Dovecot renamed a file meanwhile (new/ to cur/, a flag change). */
async function readMaildir(folder: string): Promise<StoredMessage[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await readMaildirOnce(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 5) throw error;
    }
  }
}

async function readMaildirOnce(folder: string): Promise<StoredMessage[]> {
  const files: { path: string; name: string; mtime: Date }[] = [];
  for (const sub of ['new', 'cur']) {
    let names: string[];
    try {
      names = await readdir(join(folder, sub));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no such folder: ${folder}`);
      throw error;
    }
    for (const name of names) {
      const path = join(folder, sub, name);
      files.push({ path, name, mtime: (await stat(path)).mtime });
    }
  }
  files.sort((a, b) => a.mtime.getTime() - b.mtime.getTime() || a.name.localeCompare(b.name));
  return Promise.all(
    files.map(async ({ path, name, mtime }) => ({
      raw: await readFile(path),
      flags: [...(/:2,([A-Za-z]*)$/.exec(name)?.[1] ?? '')].flatMap((c) => MAILDIR_FLAGS[c] ?? []),
      internalDate: mtime,
    })),
  );
}

async function readLog(dir: string): Promise<string> {
  return readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '');
}

async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await chown(root, uid, gid);
  for (const entry of await readdir(root, { recursive: true })) await chown(join(root, entry), uid, gid);
}
