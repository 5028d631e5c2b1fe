// The bench's third relay, a yardstick: node's SMTP libraries alone — smtp-server in,
// nodemailer out, as local mode uses them — with nothing kept (no store, no fsync, no
// index, no queue). Each message is answered 250 when its DATA has arrived and is then
// relayed from memory over a pool of connections to the primary. Its CPU per message is
// the floor of any design of local mode on these libraries; what local mode spends above
// it is its own (bench/README.md). It is not a product: a crash loses what it holds.
//
// `startNodeRelay(primaryPort)` runs it as a child process (node with local mode's
// process settings, bin/start-local.sh); the child is this file with `--child <port>`.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { PRIMARY_SESSIONS, splitPrimarySessions } from '../lambdas/contract/primary-sessions.ts';

/** As many connections to the primary as local mode's forward has workers by default. */
const PRIMARY_CONNECTIONS = splitPrimarySessions(PRIMARY_SESSIONS.default).forward;
const READY_TIMEOUT_MS = 30_000;

export interface NodeRelay {
  port: number;
  pid: number;
  /** What the child printed to stderr (a failed relay shows here). */
  output(): string;
  stop(): Promise<void>;
}

export async function startNodeRelay(primaryPort: number): Promise<NodeRelay> {
  const child = spawn(
    process.execPath,
    ['--single-threaded-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(primaryPort)],
    {
      env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const port = await readyPort(child, () => output);
  return {
    port,
    pid: child.pid!,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The port the child prints on stdout once it listens; bounded. */
function readyPort(child: ChildProcess, output: () => string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node relay not listening after ${READY_TIMEOUT_MS} ms: ${output()}`));
    }, READY_TIMEOUT_MS);
    child.stdout!.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolvePort(Number(chunk.toString().trim()));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node relay exited with ${code}: ${output()}`));
    });
  });
}

function runChild(primaryPort: number): void {
  const primary = createTransport({
    host: '127.0.0.1',
    port: primaryPort,
    pool: true,
    maxConnections: PRIMARY_CONNECTIONS,
    maxMessages: Infinity,
    ignoreTLS: true,
  });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 64 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        const to = session.envelope.rcptTo.map((recipient) => recipient.address);
        callback();
        primary.sendMail({ envelope: { from, to }, raw: Buffer.concat(chunks) }).catch((error: unknown) => {
          console.error(`node relay: not relayed: ${String(error)}`);
        });
      });
    },
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.server.address() as { port: number }).port}\n`);
  });
  process.once('SIGTERM', () => {
    primary.close();
    server.close(() => process.exit(0));
  });
}

if (process.argv[2] === '--child') runChild(Number(process.argv[3]));
