// The layout of local mode's data directory, the lock that lets one process own it,
// and the runtime file through which the CLI finds the running stack.
import { chmod, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive } from '../adapters/local/process-alive.ts';
import { ShadowmailError } from '../core/errors.ts';

export interface LocalPaths {
  root: string;
  raw: string;
  spool: string;
  /** The store: every table-backed port in one SQLite file (local-store.ts). */
  database: string;
  /** Where versions before the SQLite store kept their tables (dynalite's LevelDB); refused, never read. */
  legacyDynamodb: string;
  ingestQueue: string;
  forwardQueue: string;
  primarySink: string;
  lock: string;
  runtimeInfo: string;
  /** Local stand-ins for SNS SMS and SES notices (adapters/local/file-outbox.ts). */
  smsOutbox: string;
  mailOutbox: string;
  /** Present while `shadowmail idp down` has taken the federated sign-in (AD FS's stand-in) down. */
  idpDown: string;
}

export function localPaths(root: string): LocalPaths {
  return {
    root,
    raw: join(root, 'raw'),
    spool: join(root, 'spool'),
    database: join(root, 'shadowmail.db'),
    legacyDynamodb: join(root, 'dynamodb'),
    ingestQueue: join(root, 'queues', 'ingest'),
    forwardQueue: join(root, 'queues', 'forward'),
    primarySink: join(root, 'primary'),
    lock: join(root, 'shadowmail.pid'),
    runtimeInfo: join(root, 'runtime.json'),
    smsOutbox: join(root, 'outbox', 'sms.jsonl'),
    mailOutbox: join(root, 'outbox', 'mail.jsonl'),
    idpDown: join(root, 'idp-down'),
  };
}

/** Mail, the session secret and the sign-in keys live here: owner-only, 0700 directories and 0600 files. */
export const OWNER_ONLY = { umask: 0o077, dir: 0o700, file: 0o600 } as const;

/**
 * Everything this process creates from now on is owner-only, also what libraries create
 * with default modes (SQLite's database, WAL and shared-memory files): the process umask. Local mode and the
 * CLI act for one user; neither writes anything meant for others.
 */
export function ownerOnlyFiles(): void {
  process.umask(OWNER_ONLY.umask);
}

/** Creates the data directory owner-only, or takes an existing one back to it, and sets ownerOnlyFiles. */
export async function prepareDataDir(paths: LocalPaths): Promise<void> {
  ownerOnlyFiles();
  await mkdir(paths.root, { recursive: true, mode: OWNER_ONLY.dir });
  await chmod(paths.root, OWNER_ONLY.dir);
}

export interface RuntimeInfo {
  pid: number;
  smtpPort: number;
  httpPort: number;
  sinkPort: number | null;
}

export class DataDirInUseError extends ShadowmailError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super('DATA_DIR_IN_USE', `the data directory ${dataDir} is in use by process ${pid}`);
  }
}

/** Takes the data directory for this process; a lock left by a dead process is taken over. */
export async function acquireDataDirLock(paths: LocalPaths): Promise<() => Promise<void>> {
  for (let tries = 0; tries < 3; tries += 1) {
    try {
      const handle = await open(paths.lock, 'wx', OWNER_ONLY.file);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        if ((await readPid(paths.lock)) === process.pid) await rm(paths.lock, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = await readPid(paths.lock);
      if (pid !== null && pid !== process.pid && isAlive(pid)) throw new DataDirInUseError(paths.root, pid);
      await rm(paths.lock, { force: true });
    }
  }
  throw new ShadowmailError('DATA_DIR_LOCK', `could not lock the data directory ${paths.root}`);
}

export async function writeRuntimeInfo(paths: LocalPaths, info: RuntimeInfo): Promise<void> {
  const temporary = `${paths.runtimeInfo}.tmp`;
  await writeFile(temporary, JSON.stringify(info), { mode: OWNER_ONLY.file });
  await rename(temporary, paths.runtimeInfo);
}

/** The running stack's runtime info, or null when no live process owns the directory. */
export async function readRuntimeInfo(paths: LocalPaths): Promise<RuntimeInfo | null> {
  try {
    const info = JSON.parse(await readFile(paths.runtimeInfo, 'utf8')) as RuntimeInfo;
    return isAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

async function readPid(file: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
