// The parts of a message that are not pages: the body as the message frame's own
// document (its CSP, X-Frame-Options: SAMEORIGIN; a notice instead when it would not
// fit a Lambda response), attachment downloads (streamed here, or a redirect to a
// presigned link when the deployment has one: AWS, 6 MB Lambda responses) and inline
// cid: images (raster types only, never SVG, nosniff) under signed URLs, answered here
// when they fit a response and through a presigned link when not. Every one of them
// passes the mailbox check (openEntry) first.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { NotFoundError } from '../../lambdas/core/errors.ts';
import { type OpenedEntry, openEntry } from '../../lambdas/core/mailbox.ts';
import { MAX_WEB_BODY_BYTES } from '../../lambdas/core/payload-limits.ts';
import type { RenderedAttachment } from '../../lambdas/ports/message-renderer.ts';
import type { Identity } from '../../lambdas/ports/sign-in.ts';
import { ATTACHMENT_CSP, attachmentDownloadHeaders, messageFrameDocument, messageFrameHeaders } from '../message-frame.ts';
import { identityOf, type WebEnv } from '../middleware/context.ts';
import { readBounded } from './bounded-body.ts';
import { type InlineImageSigner, type MailRouteDeps, renderStored } from './mail-deps.ts';

/** Inline images the frame may show: raster formats a browser decodes as pictures and nothing else. */
const INLINE_IMAGE_TYPES: Record<string, string> = {
  'image/png': 'image/png',
  'image/jpeg': 'image/jpeg',
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/gif': 'image/gif',
  'image/webp': 'image/webp',
  'image/bmp': 'image/bmp',
  'image/avif': 'image/avif',
  'image/x-icon': 'image/x-icon',
  'image/vnd.microsoft.icon': 'image/x-icon',
};

export function inlineImageType(contentType: string): string | null {
  return INLINE_IMAGE_TYPES[contentType.trim().toLowerCase()] ?? null;
}

/** Routes under /mail/m/:id (behind sign-in): the frame document and attachment downloads. */
export function messageContentRoutes(deps: MailRouteDeps, signer: InlineImageSigner): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();

  routes.get('/:id/body', async (c) => {
    const identity = identityOf(c);
    const opened = await openEntry(identity, c.req.param('id'), deps);
    const allowRemote = c.req.query('remote') === '1';
    const { rendered } = await renderStored(deps, opened.record, {
      allowRemote,
      cidUrl: (contentId) => signer.url(identity.email, opened.entry.sesMessageId, contentId),
    });
    const t = c.get('t');
    const frame = { allowRemote, lang: c.get('lang') };
    let document = messageFrameDocument(
      rendered ?? { html: null, text: t('mail.message.unreadable'), subject: opened.entry.subject },
      frame,
    );
    // A Lambda response carries at most 6 MB: a body beyond the limit is a notice, not a failed page.
    if (Buffer.byteLength(document) > MAX_WEB_BODY_BYTES)
      document = messageFrameDocument({ html: null, text: t('mail.message.tooLarge'), subject: opened.entry.subject }, frame);
    const imageOrigins = deps.downloadLinks?.origin ? [await deps.downloadLinks.origin()] : [];
    return c.body(document, 200, messageFrameHeaders(allowRemote, imageOrigins));
  });

  routes.get('/:id/a/:index', async (c) => {
    const opened = await openEntry(identityOf(c), c.req.param('id'), deps);
    const index = c.req.param('index');
    if (!/^\d{1,6}$/.test(index)) throw new NotFoundError('no such attachment');
    const part = await deps.renderer.openAttachment(await deps.rawStore.open(opened.record.raw), { index: Number(index) });
    if (!part) throw new NotFoundError('no such attachment');
    return download(c, deps, opened, part);
  });

  return routes;
}

/** Routes under /inline (no session: the signed URL is the authorization). */
export function inlineImageRoutes(deps: MailRouteDeps, signer: InlineImageSigner): Hono<WebEnv> {
  const routes = new Hono<WebEnv>();
  routes.get('/:id/:cid', async (c) => {
    const sesMessageId = c.req.param('id');
    const contentId = c.req.param('cid');
    const email = c.req.query('u');
    const valid = signer.verify({ email, sesMessageId, contentId, expires: c.req.query('x'), signature: c.req.query('s') });
    if (!valid || email === undefined) throw new NotFoundError('no such image');
    // The address the URL was signed for, checked against the directory as a page would.
    const identity: Identity = { subject: 'signed-inline-image-url', email, name: '', groups: [] };
    const opened = await openEntry(identity, sesMessageId, deps);
    const part = await deps.renderer.openAttachment(await deps.rawStore.open(opened.record.raw), { contentId });
    if (!part) throw new NotFoundError('no such image');
    const type = inlineImageType(part.attachment.contentType);
    if (type === null) {
      part.content.destroy();
      throw new NotFoundError('not an image that may be shown inline');
    }
    const bounded = await readBounded(part.content);
    if ('overflow' in bounded && deps.downloadLinks) {
      // Too large for a Lambda response: from S3 (the frame's CSP allows the links' origin).
      const key = `i-${opened.entry.sesMessageId.replace(/[^A-Za-z0-9._-]/g, '_')}/${part.attachment.index}-${randomUUID()}`;
      const url = await deps.downloadLinks.link({
        key,
        filename: part.attachment.filename || 'image',
        contentType: type,
        content: bounded.overflow,
      });
      if (url) return c.redirect(url.href, 302);
    }
    const body = 'whole' in bounded ? new Uint8Array(bounded.whole) : (Readable.toWeb(bounded.overflow) as ReadableStream<Uint8Array>);
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': type,
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': ATTACHMENT_CSP,
        // The frame that asks is origin-less: same-origin would block the image there.
        'Cross-Origin-Resource-Policy': 'cross-origin',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'private, no-store',
      },
    });
  });
  return routes;
}

/** An attachment as a download: a presigned link when the deployment offers one, else streamed. */
async function download(
  c: Context<WebEnv>,
  deps: MailRouteDeps,
  opened: OpenedEntry,
  part: { attachment: RenderedAttachment; content: Readable },
): Promise<Response> {
  const { attachment, content } = part;
  if (deps.downloadLinks) {
    // Keys are ours, never the sender's: the id made path-safe, the part number, a nonce.
    const key = `m-${opened.entry.sesMessageId.replace(/[^A-Za-z0-9._-]/g, '_')}/${attachment.index}-${randomUUID()}`;
    const url = await deps.downloadLinks.link({ key, filename: attachment.filename, contentType: attachment.contentType, content });
    if (url) return c.redirect(url.href, 302);
  }
  // openAttachment does not know the decoded size before streaming: no Content-Length.
  const headers = attachmentDownloadHeaders({ filename: attachment.filename, contentType: attachment.contentType });
  return new Response(Readable.toWeb(content) as ReadableStream<Uint8Array>, { status: 200, headers });
}
