// A browser upload form for one file, as S3's POST Object with a Signature Version 4
// POST policy (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html,
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html).
// The policy is what keeps the form to its purpose; S3 refuses a POST that breaks it:
// - the key must start with the draft's slot (`starts-with $key`; S3 puts the file's
//   own name where the key says ${filename}), so the form writes nowhere else;
// - content-length-range 1..maxBytes: no empty file, none larger than the limit;
// - success_action_redirect is fixed (exact match), so the redirect after the upload
//   goes where the webmail said and nowhere an attacker chose;
// - the bucket, and an expiration a few minutes ahead.
// The form is signed with the webmail's own credentials (its role's temporary ones in
// AWS): S3 authorizes the upload as that role, which may PutObject under uploads/ only.
import type { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { UploadForm } from '../../ports/draft-store.ts';

export interface UploadFormRequest {
  bucket: string;
  /** The key, ending in ${filename}. */
  keyTemplate: string;
  maxBytes: number;
  redirect: string;
  expiresInSeconds: number;
}

export async function presignedUploadForm(client: S3Client, request: UploadFormRequest): Promise<UploadForm> {
  if (!Number.isSafeInteger(request.maxBytes) || request.maxBytes < 1) throw new RangeError('maxBytes must be a positive whole number');
  const post = await createPresignedPost(client, {
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
