// Runs `npm start`'s entry point (bin/local.ts) as a child process for end-to-end
// tests, the way an admin runs it: configured by environment, killed by signals.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { RuntimeInfo } from '../../lambdas/wiring/local-data-dir.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

export interface LocalProcess {
  child: ChildProcess;
  runtime: RuntimeInfo;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function localEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SHADOWMAIL_DATA_DIR: dataDir,
    SHADOWMAIL_SMTP_PORT: '0',
    SHADOWMAIL_HTTP_PORT: '0',
    SHADOWMAIL_SINK_PORT: '0',
    SHADOWMAIL_OIDC_PORT: '0',
    SHADOWMAIL_DOMAINS: 'corp.test',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

/** The launcher that bundles bin/local.ts and runs the bundle. */
export const LOCAL_LAUNCHER = join(PROJECT_ROOT, 'bin/start-local.mjs');
/** What `npm start` runs: the launcher in a node started with local mode's process settings. */
export const LOCAL_START_SCRIPT = join(PROJECT_ROOT, 'bin/start-local.sh');

/**
 * Local mode as `npm start` runs it; the child's pid is local mode's (the script execs node),
 * and the node on its PATH is this process's. `nodeArgs` go to node (the bench passes
 * --cpu-prof); `root` is the checkout whose launcher runs (the bench's BENCH_VERSUS runs
 * another one beside this; a checkout older than the script starts as `npm start` did then).
 */
export function spawnLocal(env: NodeJS.ProcessEnv, nodeArgs: string[] = [], root = PROJECT_ROOT): ChildProcess {
  const script = join(root, 'bin/start-local.sh');
  const options = { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] as ('ignore' | 'pipe')[] };
  if (!existsSync(script)) return spawn(process.execPath, [...nodeArgs, join(root, 'bin/start-local.mjs')], { ...options, env });
  const path = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}`;
  return spawn('/bin/sh', [script], { ...options, env: { ...env, PATH: path, SHADOWMAIL_NODE_ARGS: nodeArgs.join(' ') } });
}

/** Starts local mode and waits until /healthz answers 200 (bounded). */
export async function startLocal(
  dataDir: string,
  extra: Record<string, string> = {},
  timeoutMs = 30_000,
  nodeArgs: string[] = [],
  root = PROJECT_ROOT,
): Promise<LocalProcess> {
  const child = spawnLocal(localEnv(dataDir, extra), nodeArgs, root);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`local mode exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`local mode not ready after ${timeoutMs} ms:\n${output}`);
    }
    const runtime = await readRuntime(dataDir);
    if (runtime && runtime.pid === child.pid && (await healthy(runtime.httpPort))) {
      return {
        child,
        runtime,
        output: () => output,
        kill: async (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readRuntime(dataDir: string): Promise<RuntimeInfo | null> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8')) as RuntimeInfo;
  } catch {
    return null;
  }
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
  } catch {
    return false;
  }
}

/** Runs the `shadowmail` CLI as a user would (the package bin), returning its output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/shadowmail-cli.mjs'), ...args], { cwd: PROJECT_ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, stdout, stderr };
}
