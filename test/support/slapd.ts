// Test harness: a real OpenLDAP slapd (Debian's 2.5) standing in for Active Directory.
// Each instance runs from a private slapd.conf in a temp directory: mdb backend, the
// memberof overlay (memberOf fills when groups are added online), a size limit of
// 1000 like AD's MaxPageSize (paged searches may return more, as on AD), and a small schema with AD's attributes under their real
// Microsoft OIDs (proxyAddresses with case-insensitive matching, userAccountControl,
// objectGUID, msExchRecipientTypeDetails) plus AD's `user` object class.
// It listens on a free 127.0.0.1 port (and an ldaps:// one with a CA made at start
// when `tls` is set; StartTLS works on the plain port then), runs as nobody via
// setpriv when we are root, and is loaded with slapadd before it starts.
//
// Needs the Debian packages slapd and ldap-utils (slapadd ships with slapd) and
// openssl for `tls`. The rootdn is exempt from size limits, so tests that must see
// AD's limit bind as an ordinary account (the LDIF's sync account).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { freePort } from './wait.ts';

const NOBODY_UID = 65534;
const NOGROUP_GID = 65534;
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const LAUNCH_TRIES = 3;
const SCHEMA_DIR = '/etc/ldap/schema';

export const ROOT_PASSWORD = 'root-secret';

/** AD's attributes with the Microsoft OIDs, and matching rules that work in filters. */
export const AD_SCHEMA = `
attributetype ( 1.2.840.113556.1.2.210 NAME 'proxyAddresses'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.7000.102.50 NAME 'msExchRecipientTypeDetails'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' SUP inetOrgPerson STRUCTURAL
  MAY ( proxyAddresses $ objectGUID $ userAccountControl $ msExchRecipientTypeDetails ) )
`;

export interface SlapdOptions {
  /** The suffix the database serves, e.g. dc=corp,dc=test. */
  suffix: string;
  /** Loaded with slapadd before start (overlays do not run: add groups online). */
  ldif: string;
  /** Also listen on ldaps:// with a certificate for 127.0.0.1 signed by a CA made here. */
  tls?: boolean;
}

export interface Slapd {
  url: string;
  ldapsUrl: string | null;
  /** PEM of the CA that signed the server certificate (tls only). */
  caPem: string | null;
  caFile: string | null;
  rootDn: string;
  dir: string;
  startupMs: number;
  /** A client bound as the rootdn (no size limit), for seeding and changes. Close it with unbind(). */
  rootClient(): Promise<Client>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startSlapd(options: SlapdOptions): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'slapd-'));
  const asNobody = process.getuid?.() === 0;
  try {
    const rootDn = `cn=root,${options.suffix}`;
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, 'ad.schema'), AD_SCHEMA);
    const tls = options.tls ? await makeCertificates(dir) : null;
    await writeFile(join(dir, 'slapd.conf'), slapdConf(dir, options.suffix, rootDn, tls !== null));
    await writeFile(join(dir, 'data.ldif'), options.ldif);
    if (asNobody) await chownTree(dir);
    const added = spawnSync(...asUser(asNobody, '/usr/sbin/slapadd', ['-f', join(dir, 'slapd.conf'), '-l', join(dir, 'data.ldif'), '-q']), {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (added.status !== 0) throw new Error(`slapadd failed (${added.status}): ${added.stderr || added.error?.message}`);

    let lastError: unknown;
    for (let attempt = 0; attempt < LAUNCH_TRIES; attempt += 1) {
      try {
        return await launch(dir, rootDn, asNobody, tls);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function asUser(asNobody: boolean, command: string, args: string[]): [string, string[]] {
  return asNobody ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', command, ...args]] : [command, args];
}

async function launch(dir: string, rootDn: string, asNobody: boolean, tls: { caPem: string; caFile: string } | null): Promise<Slapd> {
  const started = performance.now();
  const port = await freePort();
  const ldapsPort = tls ? await freePort() : null;
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = ldapsPort === null ? null : `ldaps://127.0.0.1:${ldapsPort}`;
  const listen = [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])].join(' ');
  // -d 0 keeps slapd in the foreground (no fork), so the child is slapd itself.
  const child = spawn(...asUser(asNobody, '/usr/sbin/slapd', ['-f', join(dir, 'slapd.conf'), '-h', listen, '-d', '0']), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
  };
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`slapd exited (${child.exitCode ?? child.signalCode}): ${output}`);
      const probe = new Client({ url, connectTimeout: 500, timeout: 1000 });
      try {
        await probe.search('', { scope: 'base', attributes: ['namingContexts'] });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`slapd not ready after ${READY_TIMEOUT_MS} ms: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      } finally {
        await probe.unbind().catch(() => undefined);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    ldapsUrl,
    caPem: tls?.caPem ?? null,
    caFile: tls?.caFile ?? null,
    rootDn,
    dir,
    startupMs: performance.now() - started,
    rootClient: async () => {
      const client = new Client({ url, timeout: 30_000 });
      await client.bind(rootDn, ROOT_PASSWORD);
      return client;
    },
    stop: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function slapdConf(dir: string, suffix: string, rootDn: string, tls: boolean): string {
  return [
    `include ${SCHEMA_DIR}/core.schema`,
    `include ${SCHEMA_DIR}/cosine.schema`,
    `include ${SCHEMA_DIR}/inetorgperson.schema`,
    `include ${join(dir, 'ad.schema')}`,
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload memberof',
    // Like AD's MaxPageSize: a search without paging stops after 1000 entries, and so
    // does a page; a paged search may go on (prtotal defaults to the hard limit,
    // which would cap paged searches at 1000 entries too, unlike AD).
    'sizelimit size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=unlimited',
    ...(tls
      ? [
          `TLSCertificateFile ${join(dir, 'server.pem')}`,
          `TLSCertificateKeyFile ${join(dir, 'server.key')}`,
          `TLSCACertificateFile ${join(dir, 'ca.pem')}`,
        ]
      : []),
    'database mdb',
    `suffix "${suffix}"`,
    `rootdn "${rootDn}"`,
    `rootpw ${ROOT_PASSWORD}`,
    `directory ${join(dir, 'db')}`,
    'maxsize 1073741824',
    'index objectClass eq',
    'overlay memberof',
    // Like AD: authenticated users read the directory, anonymous ones only bind.
    'access to attrs=userPassword by anonymous auth by * none',
    'access to * by users read by * none',
    '',
  ].join('\n');
}

/** A CA and a server certificate for 127.0.0.1 and localhost, valid for two days. */
async function makeCertificates(dir: string): Promise<{ caPem: string; caFile: string }> {
  const openssl = (args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=shadowmail test CA']);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  await writeFile(
    join(dir, 'server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  ]);
  return { caPem: await readFile(join(dir, 'ca.pem'), 'utf8'), caFile: join(dir, 'ca.pem') };
}

async function chownTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  await chown(dir, NOBODY_UID, NOGROUP_GID);
  for (const entry of await readdir(dir, { recursive: true })) await chown(join(dir, entry), NOBODY_UID, NOGROUP_GID);
}
