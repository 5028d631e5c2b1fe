// The DynamoDB API served in-process by dynalite (LevelDB underneath): a test backend
// for the DynamoDB adapters beside DynamoDB Local, and the bench's before figure
// (local mode's store until issue 18; now SQLite). dynalite has no TTL expiry and no
// transactions; the adapter needs neither.
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

export interface EmbeddedDynaliteOptions {
  /** LevelDB directory; in memory when absent. */
  path?: string;
  host?: string;
  port?: number;
}

export interface EmbeddedDynalite {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

// dynalite ships no type declarations; this is the part of it we use.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: DynaliteOptions) => Server;

/** Connections still busy when closing get this long before they are cut. */
const CLOSE_GRACE_MS = 5_000;

export async function startEmbeddedDynalite(options: EmbeddedDynaliteOptions = {}): Promise<EmbeddedDynalite> {
  const host = options.host ?? '127.0.0.1';
  if (options.path !== undefined) await mkdir(options.path, { recursive: true });
  // Tables become ACTIVE at once: nobody here benefits from imitating AWS's delay.
  const server = dynalite({
    ...(options.path !== undefined && { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint: `http://${urlHost}:${port}`,
    port,
    close: () => closeServer(server),
  };
}

/** Stops listening, lets running requests finish, then closes LevelDB (dynalite does that in close). */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    server.close((error?: Error) => {
      clearTimeout(force);
      if (error) reject(error);
      else resolve();
    });
    // Idle keep-alive sockets of SDK clients would otherwise hold close() open.
    server.closeIdleConnections();
  });
}
