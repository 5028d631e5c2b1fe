// DraftStore in the raw-mail bucket under uploads/ (expired by the bucket after a
// day): the fields as draft.json, each uploaded file as its own object, written by
// the browser through a presigned POST (s3-upload-form.ts). The webmail's role may
// read, write, list and delete under uploads/ only.
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { draftKeys, loadSavedDraft, newUploadKey, parseUploadKey, type SavedDraft, saveDraftFields } from '../../core/drafts.ts';
import type { Clock } from '../../ports/clock.ts';
import type { DraftStore, DraftUpload, UploadForm, UploadFormOptions } from '../../ports/draft-store.ts';
import { contentTypeOf } from '../mime/file-types.ts';
import { S3RawMailStore } from './s3-raw-mail-store.ts';
import { presignedUploadForm } from './s3-upload-form.ts';

/** A draft never has more files than this is worth listing (the compose limits allow 50). */
const MAX_LIST_PAGES = 5;

export class S3DraftStore implements DraftStore {
  private readonly objects: S3RawMailStore;

  constructor(
    private readonly client: S3Client,
    private readonly options: { bucket: string; clock: Clock },
  ) {
    this.objects = new S3RawMailStore(client);
  }

  load(owner: string, draftId: string): Promise<SavedDraft | null> {
    return loadSavedDraft(this.objects, this.at(draftKeys(owner, draftId).fields));
  }

  save(owner: string, draftId: string, draft: SavedDraft): Promise<void> {
    return saveDraftFields(this.objects, this.at(draftKeys(owner, draftId).fields), draft);
  }

  async uploads(owner: string, draftId: string): Promise<DraftUpload[]> {
    const keys = draftKeys(owner, draftId);
    const uploads: DraftUpload[] = [];
    for (const object of await this.list(keys.files)) {
      const parsed = parseUploadKey(keys, object.key);
      if (parsed)
        uploads.push({ ...parsed, contentType: contentTypeOf(parsed.filename), size: object.size, location: this.at(object.key) });
    }
    return uploads.sort((a, b) => a.id.localeCompare(b.id));
  }

  open(upload: DraftUpload): Promise<Readable> {
    return this.objects.open(upload.location);
  }

  uploadForm(owner: string, draftId: string, options: UploadFormOptions): Promise<UploadForm> {
    return presignedUploadForm(createPresignedPost, this.client, {
      bucket: this.options.bucket,
      keyTemplate: newUploadKey(draftKeys(owner, draftId), this.options.clock.now()),
      ...options,
    });
  }

  async remove(owner: string, draftId: string, uploadId: string): Promise<void> {
    if (!/^[0-9a-z-]{1,64}$/.test(uploadId)) return;
    await this.deleteAll(`${draftKeys(owner, draftId).files}${uploadId}/`);
  }

  async discard(owner: string, draftId: string): Promise<void> {
    await this.deleteAll(draftKeys(owner, draftId).prefix);
  }

  private at(key: string) {
    return { bucket: this.options.bucket, key };
  }

  private async deleteAll(prefix: string): Promise<void> {
    for (const { key } of await this.list(prefix)) {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
    }
  }

  private async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const found: { key: string; size: number }[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const result = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) }),
      );
      for (const object of result.Contents ?? []) if (object.Key) found.push({ key: object.Key, size: object.Size ?? 0 });
      if (!result.IsTruncated || !result.NextContinuationToken) break;
      token = result.NextContinuationToken;
    }
    return found;
  }
}
