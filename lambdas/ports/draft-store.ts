// Port: the webmail's saved drafts and the files uploaded for them (the raw-mail
// bucket's upload prefix in AWS, local mode's files behind its S3-compatible POST
// endpoint). Files reach the store straight from the browser through a presigned
// POST form, never through the webmail function; see core/drafts.ts for the layout.
import type { Readable } from 'node:stream';
import type { SavedDraft } from '../core/drafts.ts';
import type { RawLocation } from '../core/model.ts';

/** An HTML form that uploads one file: post `fields` (in this order) and then the file as `file` to `url`. */
export interface UploadForm {
  url: string;
  fields: [name: string, value: string][];
}

export interface DraftUpload {
  /** The slot (unique within the draft). */
  id: string;
  /** As the browser named the file. */
  filename: string;
  /** Told by the file name's extension (S3 keeps no type for a browser upload without script). */
  contentType: string;
  size: number;
  location: RawLocation;
}

export interface UploadFormOptions {
  /** The largest file the form may upload (the store refuses a larger one). */
  maxBytes: number;
  /** Where the store sends the browser after the upload (the store appends bucket, key and etag). */
  redirect: string;
  expiresInSeconds: number;
}

export interface DraftStore {
  /** Null when nothing was saved under this owner and id. */
  load(owner: string, draftId: string): Promise<SavedDraft | null>;
  /** Replaces the saved fields. */
  save(owner: string, draftId: string, draft: SavedDraft): Promise<void>;
  /** The files uploaded for the draft, oldest first. */
  uploads(owner: string, draftId: string): Promise<DraftUpload[]>;
  open(upload: DraftUpload): Promise<Readable>;
  /** A form that uploads one file into the draft (a new slot each time). */
  uploadForm(owner: string, draftId: string, options: UploadFormOptions): Promise<UploadForm>;
  /** Removes one uploaded file; nothing happens when it is not there. */
  remove(owner: string, draftId: string, uploadId: string): Promise<void>;
  /** Removes the draft and its files (after sending). */
  discard(owner: string, draftId: string): Promise<void>;
}
