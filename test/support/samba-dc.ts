// Test harness: Samba's Active Directory domain controller (Debian's 4.17), for what
// OpenLDAP cannot imitate — AD's own schema and the LDAP_MATCHING_RULE_IN_CHAIN rule.
// Samba's LDAP port is fixed (389), so the DC runs in a private network namespace
// (`unshare --net`, loopback only) next to a tiny forwarder that exposes its port 389
// on a Unix socket in the temp directory (Unix sockets are not namespaced); a TCP
// server on a free 127.0.0.1 port here pipes to that socket. Clients therefore use a
// plain ldap://127.0.0.1:<port> URL, and nothing listens on this host's port 389.
//
// Needs root (unshare) and the Debian packages samba, samba-ad-dc, samba-ad-provision,
// samba-dsdb-modules (and iproute2 for `ip`). Provision ~3 s, start ~2 s.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { isAlive } from '../../lambdas/adapters/local/process-alive.ts';

export const SAMBA_SUFFIX = 'DC=corp,DC=test';
export const SAMBA_ADMIN_DN = `CN=Administrator,CN=Users,${SAMBA_SUFFIX}`;
export const SAMBA_ADMIN_PASSWORD = 'Adm1n-Pass!shadow';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const FORWARDER = `
import net from 'node:net';
const [socketPath, port] = process.argv.slice(2);
net.createServer((client) => {
  const upstream = net.connect(Number(port), '127.0.0.1');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(socketPath);
`;

export interface SambaDc {
  url: string;
  startupMs: number;
  /** A client bound as the domain Administrator. Close it with unbind(). */
  adminClient(): Promise<Client>;
  stop(): Promise<void>;
}

const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startSambaDc(): Promise<SambaDc> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'samba-dc-'));
  const conf = join(dir, 'etc', 'smb.conf');
  const run = join(dir, 'run');
  let child: ChildProcess | null = null;
  let front: Server | null = null;
  const sockets = new Set<Socket>();

  const stop = async () => {
    await new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (front) front.close(() => resolve());
      else resolve();
    });
    const sambaPid = Number.parseInt(await readFile(join(run, 'samba.pid'), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(sambaPid) && sambaPid > 0) signal(sambaPid, 'SIGTERM');
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      // The namespace's process group: unshare, the forwarder and what samba left in it.
      signal(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => signal(-child!.pid!, 'SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      running.delete(child.pid);
    }
    if (Number.isInteger(sambaPid) && sambaPid > 0) await waitGone(sambaPid);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const provision = spawnSync(
      'samba-tool',
      [
        'domain',
        'provision',
        '--realm=CORP.TEST',
        '--domain=CORP',
        '--server-role=dc',
        '--dns-backend=NONE',
        `--adminpass=${SAMBA_ADMIN_PASSWORD}`,
        '--use-rfc2307',
        '--host-name=dc1',
        '--host-ip=127.0.0.1',
        `--targetdir=${dir}`,
        '--option=interfaces=lo',
        '--option=bind interfaces only=yes',
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (provision.status !== 0) throw new Error(`samba-tool domain provision failed (${provision.status}): ${provision.stderr}`);
    const original = await readFile(conf, 'utf8');
    await writeFile(
      conf,
      original
        .replace(
          /^\s*server services = .*$/m,
          [
            '\tserver services = ldap',
            // Simple binds over plain LDAP, as the sync's tests do.
            '\tldap server require strong auth = no',
            `\tpid directory = ${run}`,
            `\tncalrpc dir = ${join(run, 'ncalrpc')}`,
            `\twinbindd socket directory = ${join(run, 'winbindd')}`,
            `\tntp signd socket directory = ${join(run, 'ntp_signd')}`,
          ].join('\n'),
        )
        .replace(/^\s*log file = .*$/m, `\tlog file = ${join(dir, 'log.%m')}`),
    );
    const forwarder = join(dir, 'forwarder.mjs');
    await writeFile(forwarder, FORWARDER);
    const socketPath = join(dir, 'ldap.sock');
    child = spawn(
      'unshare',
      [
        '--net',
        '--fork',
        '--',
        'sh',
        '-c',
        `ip link set lo up && mkdir -p ${run} && (samba -s ${conf} -i -M single > ${join(dir, 'samba.out')} 2>&1 &) && exec "${process.execPath}" ${forwarder} ${socketPath} 389`,
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (child.pid !== undefined) running.add(child.pid);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));

    front = createServer((client) => {
      sockets.add(client);
      const upstream = connect(socketPath);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => sockets.delete(client));
    });
    await new Promise<void>((resolve) => front!.listen(0, '127.0.0.1', () => resolve()));
    const address = front.address();
    const url = `ldap://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the namespace exited (${child.exitCode}): ${output}`);
      const probe = new Client({ url, connectTimeout: 1000, timeout: 2000 });
      try {
        await probe.bind(SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD);
        break;
      } catch {
        if (Date.now() > deadline) {
          const log = await readFile(join(dir, 'samba.out'), 'utf8').catch(() => '');
          throw new Error(`Samba DC not ready after ${READY_TIMEOUT_MS} ms: ${output}\n${log.slice(-2000)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        await probe.unbind().catch(() => undefined);
      }
    }
    return {
      url,
      startupMs: performance.now() - started,
      adminClient: async () => {
        const client = new Client({ url, timeout: 30_000 });
        await client.bind(SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD);
        return client;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Samba's workers linger a moment after SIGTERM; bounded, then SIGKILL. */
async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  for (;;) {
    if (!isAlive(pid)) return;
    if (Date.now() > deadline) {
      signal(pid, 'SIGKILL');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
