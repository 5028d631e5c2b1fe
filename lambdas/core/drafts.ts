// Drafts of the webmail, saved on the server before any file is uploaded, so a file that
// is refused (too large, an upload that breaks off) never costs the user what they wrote.
// A draft is its fields (one JSON object) plus one object per uploaded file under the
// draft's prefix, `uploads/<owner>/<draft id>/`, the same in S3 and locally; <owner> is a
// hash of the signed-in user's mailbox, never taken from a request (docs/design.md §4).
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { UPLOADS_PREFIX } from '../contract/raw-mail-bucket.ts';
import type { RawMailStore, RawMailWriter } from '../ports/raw-mail-store.ts';
import { RawMessageMissingError } from './errors.ts';
import type { RawLocation } from './model.ts';
import { withoutInvisibleFormatting } from './text.ts';

/** The compose form's text fields, as they are shown and posted. */
export interface DraftFields {
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  text: string;
  inReplyTo: string;
  references: string;
  /** The message answered or forwarded (its attachments may be kept), or ''. */
  originalId: string;
}

/** What the compose form holds, saved as the draft's fields. */
export interface SavedDraft extends DraftFields {
  /** new, reply, reply-all or forward (the web layer checks it). */
  mode: string;
  /** Attachment indexes of the forwarded message the user keeps. */
  keep: number[];
}

/** The saved fields at `location`; null when none were saved (or they expired). */
export async function loadSavedDraft(store: Pick<RawMailStore, 'open'>, location: RawLocation): Promise<SavedDraft | null> {
  let body: Readable;
  try {
    body = await store.open(location);
  } catch (error) {
    if (error instanceof RawMessageMissingError) return null;
    throw error;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<SavedDraft>;
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return {
    mode: text(parsed.mode),
    to: text(parsed.to),
    cc: text(parsed.cc),
    bcc: text(parsed.bcc),
    subject: text(parsed.subject),
    text: text(parsed.text),
    inReplyTo: text(parsed.inReplyTo),
    references: text(parsed.references),
    originalId: text(parsed.originalId),
    keep: Array.isArray(parsed.keep) ? parsed.keep.filter((index): index is number => Number.isSafeInteger(index) && index >= 0) : [],
  };
}

export function saveDraftFields(writer: RawMailWriter, location: RawLocation, draft: SavedDraft): Promise<void> {
  return writer.put(location, Buffer.from(JSON.stringify(draft), 'utf8'));
}

export const DRAFT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The owner segment of a user's keys: a hash of their mailbox (lower case). */
export function draftOwner(mailbox: string): string {
  return createHash('sha256').update(`shadowmail-draft-owner/v1\n${mailbox.toLowerCase()}`).digest('hex').slice(0, 32);
}

export interface DraftKeys {
  /** Everything of the draft. */
  prefix: string;
  /** The fields. */
  fields: string;
  /** The uploaded files. */
  files: string;
}

export function draftKeys(owner: string, draftId: string): DraftKeys {
  if (!/^[0-9a-f]{32}$/.test(owner) || !DRAFT_ID.test(draftId)) throw new RangeError('not a draft owner and id');
  const prefix = `${UPLOADS_PREFIX}${owner}/${draftId}/`;
  return { prefix, fields: `${prefix}draft.json`, files: `${prefix}files/` };
}

/** S3's POST replaces this in the key with the name of the uploaded file. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: S3's own placeholder syntax, not a template.
export const FILENAME_VARIABLE = '${filename}';

/**
 * The key template of the next upload: a fresh slot (time-ordered, so files list in
 * the order they were added; random, so two uploads never share one) and the name
 * the browser gives the file.
 */
export function newUploadKey(keys: DraftKeys, now: Date): string {
  const slot = `${now.getTime().toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
  return `${keys.files}${slot}/${FILENAME_VARIABLE}`;
}

/** The slot and file name of an upload's key; null for a key that is not one of the draft's files. */
export function parseUploadKey(keys: DraftKeys, key: string): { id: string; filename: string } | null {
  if (!key.startsWith(keys.files)) return null;
  const rest = key.slice(keys.files.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return null;
  const id = rest.slice(0, slash);
  if (!/^[0-9a-z]{9}-[0-9a-f]{12}$/.test(id)) return null;
  // A crafted file name may contain slashes (S3 keeps them): the last segment names it.
  const filename =
    rest
      .slice(slash + 1)
      .split(/[/\\]/)
      .pop() ?? '';
  if (filename === '') return null;
  // Shown on the form and sent as the file's name: nothing invisible may change how it reads.
  return { id, filename: withoutInvisibleFormatting(filename) || 'attachment' };
}
