// DraftStore for local mode: the same layout as in S3 (core/drafts.ts) as files under
// the raw store's bucket directory. Files arrive through the local S3-compatible POST
// endpoint (s3-post-endpoint.ts) with forms presigned exactly as for S3 — by the same
// code (s3-upload-form.ts), which the wiring runs with an S3 client pointed at that
// endpoint and its local key pair.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { draftKeys, loadSavedDraft, newUploadKey, parseUploadKey, type SavedDraft, saveDraftFields } from '../../core/drafts.ts';
import type { Clock } from '../../ports/clock.ts';
import type { DraftStore, DraftUpload, UploadForm, UploadFormOptions } from '../../ports/draft-store.ts';
import type { UploadFormRequest } from '../aws/s3-upload-form.ts';
import { contentTypeOf } from '../mime/file-types.ts';
import type { FsRawMailStore } from './fs-raw-mail-store.ts';

export class FsDraftStore implements DraftStore {
  constructor(
    private readonly files: FsRawMailStore,
    private readonly options: {
      bucket: string;
      clock: Clock;
      /** Presigns a form for the local endpoint (s3-upload-form.ts with its client). */
      sign: (request: UploadFormRequest) => Promise<UploadForm>;
    },
  ) {}

  load(owner: string, draftId: string): Promise<SavedDraft | null> {
    return loadSavedDraft(this.files, this.at(draftKeys(owner, draftId).fields));
  }

  save(owner: string, draftId: string, draft: SavedDraft): Promise<void> {
    return saveDraftFields(this.files, this.at(draftKeys(owner, draftId).fields), draft);
  }

  async uploads(owner: string, draftId: string): Promise<DraftUpload[]> {
    const keys = draftKeys(owner, draftId);
    const directory = this.files.pathOf(this.at(keys.files.replace(/\/$/, '')));
    const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const uploads: DraftUpload[] = [];
    for (const entry of entries) {
      // The raw store writes through temporary files and renames them: only whole files count.
      if (!entry.isFile() || entry.name.startsWith('.tmp-')) continue;
      const path = join(entry.parentPath, entry.name);
      const key = `${keys.files}${path
        .slice(directory.length + 1)
        .split(/[\\/]/)
        .join('/')}`;
      const parsed = parseUploadKey(keys, key);
      if (parsed)
        uploads.push({ ...parsed, contentType: contentTypeOf(parsed.filename), size: (await stat(path)).size, location: this.at(key) });
    }
    return uploads.sort((a, b) => a.id.localeCompare(b.id));
  }

  open(upload: DraftUpload): Promise<Readable> {
    return this.files.open(upload.location);
  }

  uploadForm(owner: string, draftId: string, options: UploadFormOptions): Promise<UploadForm> {
    return this.options.sign({
      bucket: this.options.bucket,
      keyTemplate: newUploadKey(draftKeys(owner, draftId), this.options.clock.now()),
      ...options,
    });
  }

  async remove(owner: string, draftId: string, uploadId: string): Promise<void> {
    if (!/^[0-9a-z-]{1,64}$/.test(uploadId)) return;
    await rm(this.files.pathOf(this.at(`${draftKeys(owner, draftId).files}${uploadId}`)), { recursive: true, force: true });
  }

  async discard(owner: string, draftId: string): Promise<void> {
    await rm(this.files.pathOf(this.at(draftKeys(owner, draftId).prefix.replace(/\/$/, ''))), { recursive: true, force: true });
  }

  private at(key: string) {
    return { bucket: this.options.bucket, key };
  }
}
