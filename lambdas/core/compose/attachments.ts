// Attachments at send time: uploaded ones as they are, staged and stored ones streamed
// from the store and counted against the limit as their bytes come.
import { pipeline, type Readable, Transform } from 'node:stream';
import type { Clock } from '../../ports/clock.ts';
import type { MessageIndex } from '../../ports/message-index.ts';
import type { MessageRenderer } from '../../ports/message-renderer.ts';
import type { MimeAttachment } from '../../ports/mime-composer.ts';
import type { RawMailStore } from '../../ports/raw-mail-store.ts';
import { NotFoundError } from '../errors.ts';
import type { ComposeLimits, DraftAttachment } from './draft.ts';
import { safeContentType, safeFilename, tooLarge } from './validation.ts';

/** An attachment of a stored message, opened for streaming. */
export interface ResolvedAttachment {
  filename: string;
  contentType: string;
  size: number;
  content: Readable;
}

/** Opens attachment `index` of a stored message; null when there is no such message or attachment. */
export type StoredAttachmentResolver = (source: { sesMessageId: string; index: number }) => Promise<ResolvedAttachment | null>;

/** The resolver of the real system: index → raw store → renderer.openAttachment (streamed). */
export function storedAttachmentResolver(deps: {
  index: Pick<MessageIndex, 'getMessage'>;
  rawStore: RawMailStore;
  renderer: Pick<MessageRenderer, 'openAttachment'>;
  clock: Clock;
}): StoredAttachmentResolver {
  return async ({ sesMessageId, index }) => {
    const record = await deps.index.getMessage(sesMessageId, deps.clock.now());
    if (!record) return null;
    const opened = await deps.renderer.openAttachment(await deps.rawStore.open(record.raw), { index });
    if (!opened) return null;
    const { attachment, content } = opened;
    return { filename: attachment.filename, contentType: attachment.contentType, size: attachment.size, content };
  };
}

/** The part of an attachment and its size, counted as it streams for stored and staged files. */
export interface AttachmentPart {
  attachment: MimeAttachment;
  size: number;
}

/**
 * Every attachment of a validated draft as a part for the composer, counted against
 * the attachment limit; streams it opens are pushed to `opened` for the caller to close.
 * A stored attachment must be in the user's mailbox.
 */
export async function openAttachments(
  attachments: readonly DraftAttachment[],
  mailbox: string,
  now: Date,
  deps: { index: Pick<MessageIndex, 'getMailboxEntry'>; resolveAttachment: StoredAttachmentResolver },
  limits: ComposeLimits,
  opened: Readable[],
): Promise<AttachmentPart[]> {
  const budget = { remaining: limits.maxAttachmentBytes };
  const parts: AttachmentPart[] = [];
  for (const attachment of attachments) {
    if (attachment.kind === 'upload') {
      budget.remaining -= attachment.content.length;
      if (budget.remaining < 0) throw tooLarge(limits);
      parts.push({
        attachment: { filename: attachment.filename, contentType: attachment.contentType, content: attachment.content },
        size: attachment.content.length,
      });
      continue;
    }
    if (attachment.kind === 'staged') {
      if (attachment.size > budget.remaining) throw tooLarge(limits);
      const content = await attachment.open();
      opened.push(content);
      const part = {
        attachment: { filename: attachment.filename, contentType: attachment.contentType, content: content as Readable },
        size: 0,
      };
      // The listed size is the store's word; the bytes are counted as they stream.
      part.attachment.content = limitBytes(
        content,
        budget,
        (n) => (part.size += n),
        () => tooLarge(limits),
      );
      parts.push(part);
      continue;
    }
    // Another mailbox's message, a quarantined one and a missing one look the same.
    const entry = await deps.index.getMailboxEntry(mailbox, attachment.sesMessageId, now);
    const resolved =
      entry && entry.visibility !== 'quarantined'
        ? await deps.resolveAttachment({ sesMessageId: attachment.sesMessageId, index: attachment.index })
        : null;
    if (!resolved) throw new NotFoundError(`attachment ${attachment.index} of message ${attachment.sesMessageId} not found`);
    opened.push(resolved.content);
    if (resolved.size > budget.remaining) throw tooLarge(limits);
    const part = {
      attachment: {
        filename: safeFilename(resolved.filename, limits, `attachment-${attachment.index + 1}`),
        contentType: safeContentType(resolved.contentType),
        content: resolved.content as Readable,
      },
      // Known for sure only once streamed (a renderer may not know it up front).
      size: 0,
    };
    // The declared size may be wrong or unknown: the bytes are counted as they stream.
    part.attachment.content = limitBytes(
      resolved.content,
      budget,
      (n) => (part.size += n),
      () => tooLarge(limits),
    );
    parts.push(part);
  }
  return parts;
}

function limitBytes(source: Readable, budget: { remaining: number }, count: (bytes: number) => void, error: () => Error): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      budget.remaining -= chunk.length;
      count(chunk.length);
      callback(budget.remaining < 0 ? error() : null, chunk);
    },
  });
  return pipeline(source, counter, () => undefined);
}
