// Local mode's uploads: the S3-compatible POST endpoint on its own port (its own
// origin, as S3 is in AWS, so the pages' CSP must name it as it names S3 there), a
// key pair made at start, and the draft store whose forms are presigned for it by
// the same code as for S3. Files land beside the raw mail under the data directory.
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { type Presign, presignedUploadForm } from '../adapters/aws/s3-upload-form.ts';
import { FsDraftStore } from '../adapters/local/fs-draft-store.ts';
import type { FsRawMailStore } from '../adapters/local/fs-raw-mail-store.ts';
import { POST_FORM_OVERHEAD_BYTES, type S3PostEndpoint, startS3PostEndpoint } from '../adapters/local/s3-post-endpoint.ts';
import { DEFAULT_COMPOSE_LIMITS } from '../core/compose/draft.ts';
import type { Clock } from '../ports/clock.ts';

/** A region that does not exist, so a local signature is never mistaken for one of AWS. */
const LOCAL_REGION = 'zz-local-1';

export interface LocalUploads {
  drafts: FsDraftStore;
  endpoint: S3PostEndpoint;
  close(): Promise<void>;
}

export async function startLocalUploads(options: {
  /** Where the endpoint listens. */
  listenHost: string;
  port: number;
  /** The host name browsers use for the webmail (the endpoint is reached under the same name). */
  browserHost: string;
  rawStore: FsRawMailStore;
  bucket: string;
  clock: Clock;
}): Promise<LocalUploads> {
  const credentials = { accessKeyId: 'SHADOWMAILLOCAL', secretAccessKey: randomBytes(30).toString('base64url') };
  const endpoint = await startS3PostEndpoint({
    host: options.listenHost,
    port: options.port,
    credentials,
    region: LOCAL_REGION,
    buckets: [options.bucket],
    writer: options.rawStore,
    clock: options.clock,
    // No form of the webmail allows more than the attachment limit.
    maxBodyBytes: DEFAULT_COMPOSE_LIMITS.maxAttachmentBytes + POST_FORM_OVERHEAD_BYTES,
  });
  // The SDK's S3 client only signs forms here (no request is sent with it): it and the
  // presigner load at the first form, so a process that never shows a compose page never
  // carries them (design.md 12.30).
  let signing: Promise<{ client: S3Client; presign: Presign }> | undefined;
  const sdk = () =>
    (signing ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-presigned-post')]).then(
      ([{ S3Client }, { createPresignedPost }]) => ({
        client: new S3Client({
          endpoint: `http://${options.browserHost}:${endpoint.port}`,
          forcePathStyle: true,
          region: LOCAL_REGION,
          credentials,
        }),
        presign: createPresignedPost,
      }),
    ));
  return {
    drafts: new FsDraftStore(options.rawStore, {
      bucket: options.bucket,
      clock: options.clock,
      sign: async (request) => {
        const { client, presign } = await sdk();
        return presignedUploadForm(presign, client, request);
      },
    }),
    endpoint,
    close: async () => {
      (await signing?.catch(() => undefined))?.client.destroy();
      await endpoint.close();
    },
  };
}
