// A browser upload form for one file, as S3's POST Object with a Signature Version 4 POST
// policy (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html).
// The policy keeps the form to its purpose — key prefix, size range, fixed redirect,
// bucket, a few minutes' expiry (docs/design.md §4) — and it is signed with the webmail
// role's credentials, which may PutObject under uploads/ only.
import type { S3Client } from '@aws-sdk/client-s3';
import type { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { UploadForm } from '../../ports/draft-store.ts';

export interface UploadFormRequest {
  bucket: string;
  /** The key, ending in ${filename}. */
  keyTemplate: string;
  maxBytes: number;
  redirect: string;
  expiresInSeconds: number;
}

/**
 * The SDK's `createPresignedPost`, passed in: the webmail Lambda imports it with its
 * bundle, local mode at its first form (its `import()` of the package: an `import()` of
 * this module would not keep the package out of local mode's start; design.md 12.30).
 */
export type Presign = typeof createPresignedPost;

export async function presignedUploadForm(presign: Presign, client: S3Client, request: UploadFormRequest): Promise<UploadForm> {
  if (!Number.isSafeInteger(request.maxBytes) || request.maxBytes < 1) throw new RangeError('maxBytes must be a positive whole number');
  const post = await presign(client, {
    Bucket: request.bucket,
    Key: request.keyTemplate,
    Conditions: [['content-length-range', 1, request.maxBytes]],
    Fields: { success_action_redirect: request.redirect },
    Expires: request.expiresInSeconds,
  });
  // S3 reads the fields up to the file; any order before it works. Key first, for reading.
  const { key, ...rest } = post.fields;
  return { url: post.url, fields: [['key', key!], ...Object.entries(rest)] };
}
