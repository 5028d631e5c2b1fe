// s3rver, an S3-compatible server, in-process on 127.0.0.1 with a temporary directory,
// and an S3 client for it: the stand-in for S3 in adapter and route tests. It takes
// browser POST uploads but checks no POST policy (lambdas/adapters/local/s3-post-endpoint.ts does).
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { makeLocalS3Client } from '../../lambdas/adapters/aws/s3-raw-mail-store.ts';

// s3rver ships no type declarations; this is the part of it we use.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: Array<{ name: string }>;
}) => { run(): Promise<AddressInfo>; close(): Promise<void> };

export interface RunningS3rver {
  port: number;
  /** Where s3rver keeps the objects (<directory>/<bucket>/…). */
  directory: string;
  client: S3Client;
  close(): Promise<void>;
}

export async function startS3rver(buckets: string[]): Promise<RunningS3rver> {
  const directory = await mkdtemp(join(tmpdir(), 'shadowmail-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const client = makeLocalS3Client(`http://127.0.0.1:${port}`);
  return {
    port,
    directory,
    client,
    close: async () => {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
