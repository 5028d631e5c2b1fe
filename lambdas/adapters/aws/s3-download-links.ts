// DownloadLinks on S3: the extracted attachment is written to the raw mail bucket
// under downloads/ and the browser fetches it from S3 through a presigned GET that
// is valid for a few minutes and answers as a download with the right name and
// type. This keeps attachments of any size out of the 6 MB Lambda response.
// The bucket needs a lifecycle rule expiring downloads/ after a day, and the
// webmail function s3:PutObject and s3:GetObject on that prefix only.
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DOWNLOADS_PREFIX } from '../../contract/raw-mail-bucket.ts';
import { contentDispositionAttachment, safeContentType } from '../../core/content-disposition.ts';
import { InvalidInputError } from '../../core/errors.ts';
import type { DownloadLinks } from '../../ports/download-links.ts';
import { S3RawMailStore } from './s3-raw-mail-store.ts';

export interface S3DownloadLinksOptions {
  bucket: string;
  /** Key prefix of the extracted parts; the lifecycle rule matches it. */
  prefix?: string;
  /** Lifetime of a link; long enough to start a download, short enough not to be shared. */
  expiresInSeconds?: number;
}

const DEFAULT_EXPIRY_SECONDS = 300;
// Keys come from the webmail (message id and part number), never from a message.
const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

export class S3DownloadLinks implements DownloadLinks {
  private readonly store: S3RawMailStore;
  private readonly prefix: string;
  private readonly expiresInSeconds: number;
  private linkOrigin: Promise<string> | undefined;

  constructor(
    private readonly client: S3Client,
    private readonly options: S3DownloadLinksOptions,
  ) {
    this.store = new S3RawMailStore(client);
    this.prefix = options.prefix ?? DOWNLOADS_PREFIX;
    this.expiresInSeconds = options.expiresInSeconds ?? DEFAULT_EXPIRY_SECONDS;
  }

  /** The origin of the links, from a link signed the same way (no request is made). */
  async origin(): Promise<string> {
    this.linkOrigin ??= getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.options.bucket, Key: `${this.prefix}origin` }), {
      expiresIn: 60,
    }).then((url) => new URL(url).origin);
    return this.linkOrigin;
  }

  async link(params: { key: string; filename: string; contentType: string; content: Readable }): Promise<URL> {
    if (!SAFE_KEY.test(params.key) || params.key.length > 512 || params.key.split('/').includes('..')) {
      params.content.destroy();
      throw new InvalidInputError(`unsafe download key ${JSON.stringify(params.key.slice(0, 80))}`);
    }
    const location = { bucket: this.options.bucket, key: `${this.prefix}${params.key}` };
    // Spooled through a temporary file: S3 wants the length before the first byte.
    await this.store.put(location, params.content);
    const url = await getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        ResponseContentDisposition: contentDispositionAttachment(params.filename),
        ResponseContentType: safeContentType(params.contentType),
        ResponseCacheControl: 'private, no-store',
      }),
      { expiresIn: this.expiresInSeconds },
    );
    return new URL(url);
  }
}
