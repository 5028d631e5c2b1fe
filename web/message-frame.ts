// The message body as its own document: the webmail page embeds it in a sandboxed
// <iframe> whose src is a separate response carrying the CSP below, so even HTML that got
// past the sanitizer runs no script, submits no form and loads nothing remote unless the
// reader allowed remote images. Also the headers for attachment downloads, which must
// never render as active content. Why cid: images need signed URLs: docs/design.md §3.
import { contentDispositionAttachment, safeContentType } from '../lambdas/core/content-disposition.ts';
import type { RenderedMessage } from '../lambdas/ports/message-renderer.ts';

export { contentDispositionAttachment, safeContentType };

export interface MessageFrameOptions {
  /** Remote images were allowed when the message was rendered: the CSP lets them load. */
  allowRemote: boolean;
  /** Language of the page around the frame (BCP 47), for the frame's lang attribute. */
  lang: string;
}

/**
 * The frame's Content-Security-Policy header. No script source at all; images from
 * the webmail itself (cid: parts) and data: only, plus http(s) when remote images
 * were allowed; inline styles because email layouts live in them; the CSP sandbox
 * keeps the document script-free and origin-less even when opened on its own.
 */
export function MESSAGE_FRAME_CSP(allowRemote: boolean, imageOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'none'",
    // imageOrigins: where an inline image too large for a Lambda response is redirected (the download links' S3 origin).
    `img-src 'self' data:${imageOrigins.map((origin) => ` ${origin}`).join('')}${allowRemote ? ' https: http:' : ''}`,
    "style-src 'unsafe-inline'",
    "font-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
    'sandbox allow-popups allow-popups-to-escape-sandbox',
  ].join('; ');
}

/**
 * For the <iframe sandbox> attribute: no allow-scripts, no allow-same-origin, no
 * forms, no top navigation; links (target=_blank) open in a new, unsandboxed tab.
 */
export const MESSAGE_FRAME_SANDBOX = 'allow-popups allow-popups-to-escape-sandbox';

/** For the <iframe referrerpolicy> attribute. */
export const MESSAGE_FRAME_REFERRER_POLICY = 'no-referrer';

/** Every header of the frame response. */
export function messageFrameHeaders(allowRemote: boolean, imageOrigins: readonly string[] = []): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': MESSAGE_FRAME_CSP(allowRemote, imageOrigins),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'SAMEORIGIN',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'private, no-store',
  };
}

// Readable defaults that the message's own styles may override; images never wider than the frame.
const BASE_STYLE = [
  ':root{color-scheme:light}',
  'body{margin:0;padding:12px;background:#fff;color:#1a1a1a;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;overflow-wrap:break-word}',
  'img{max-width:100%;height:auto}',
  'pre.message-text{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;font:14px/1.45 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}',
  'a{color:#0b57d0}',
].join('');

/** Above this a frame keeps the default height (70% of the window): long content scrolls inside. */
export const FRAME_MAX_FITTED_PX = 560;

// The measures of BASE_STYLE: the body's padding, the text and HTML line heights, a paragraph's margin.
const FRAME_PADDING_PX = 24;
const TEXT_LINE_PX = 14 * 1.45;
const HTML_LINE_PX = 15 * 1.45;
const BLOCK_MARGIN_PX = 15;
/** Characters per line, on the narrow side, so that wrapping is rather over- than underestimated. */
const TEXT_LINE_CHARS = 72;
const HTML_LINE_CHARS = 80;
/** What makes a message's height unknowable from its markup: leave it the default frame. */
const UNSIZED = /<(img|table|svg|picture|video|audio|iframe|object|embed|style|pre)\b|\sstyle\s*=/i;
const BLOCK = /<(p|div|br|li|h[1-6]|blockquote|hr|tr|ul|ol)\b/gi;

/**
 * The frame's height in CSS pixels for a message whose content height can be told from it
 * (plain text, or short simple HTML), or null for the default. The frame is sandboxed
 * without script, so neither it nor the page can measure it: the estimate is the way to
 * keep a one-line message from pushing its attachments below the fold.
 */
export function frameHeight(rendered: Pick<RenderedMessage, 'html' | 'text'>): number | null {
  let height: number;
  if (rendered.html !== null) {
    if (UNSIZED.test(rendered.html)) return null;
    const blocks = rendered.html.match(BLOCK)?.length ?? 0;
    const text = rendered.html
      .replace(/<[^>]*>/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    const lines = Math.max(1, blocks) + Math.ceil(text.length / HTML_LINE_CHARS);
    height = lines * HTML_LINE_PX + blocks * BLOCK_MARGIN_PX;
  } else {
    const lines = (rendered.text ?? '')
      .split('\n')
      .reduce((sum, line) => sum + Math.max(1, Math.ceil(Array.from(line).length / TEXT_LINE_CHARS)), 0);
    height = lines * TEXT_LINE_PX;
  }
  const fitted = Math.ceil(FRAME_PADDING_PX + height + 16);
  return fitted > FRAME_MAX_FITTED_PX ? null : fitted;
}

/**
 * The complete frame document. `rendered.html` must come from the renderer (it is
 * sanitized there and inserted as it is); otherwise the text is shown, escaped,
 * with http(s) addresses as links.
 */
export function messageFrameDocument(rendered: Pick<RenderedMessage, 'html' | 'text' | 'subject'>, options: MessageFrameOptions): string {
  const lang = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/.test(options.lang) ? options.lang : 'en';
  const body = rendered.html !== null ? rendered.html : `<pre class="message-text">${linkify(rendered.text ?? '')}</pre>`;
  return [
    '<!DOCTYPE html>',
    `<html lang="${lang}">`,
    '<head>',
    '<meta charset="utf-8">',
    // The header is the policy that counts; this copy covers a response that lost it.
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(metaPolicy(options.allowRemote))}">`,
    '<meta name="referrer" content="no-referrer">',
    // Chromium resolves link host names ahead of time; a message must not make it look any up.
    '<meta http-equiv="x-dns-prefetch-control" content="off">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(rendered.subject)}</title>`,
    `<style>${BASE_STYLE}</style>`,
    '</head>',
    `<body>${body}</body>`,
    '</html>',
  ].join('\n');
}

// A <meta> policy ignores frame-ancestors and sandbox (and warns about them).
function metaPolicy(allowRemote: boolean): string {
  return MESSAGE_FRAME_CSP(allowRemote)
    .split('; ')
    .filter((directive) => !directive.startsWith('frame-ancestors') && !directive.startsWith('sandbox'))
    .join('; ');
}

const LINK_REL = 'noopener noreferrer nofollow';

function linkify(text: string): string {
  let out = '';
  let at = 0;
  for (const match of text.matchAll(/\bhttps?:\/\/[^\s<>"'`]+/gi)) {
    const start = match.index;
    // Sentence punctuation after an address is not part of it.
    const candidate = match[0].replace(/[.,;:!?)\]}]+$/, '');
    const url = URL.canParse(candidate) ? new URL(candidate) : null;
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) continue;
    out += escapeHtml(text.slice(at, start));
    out += `<a href="${escapeHtml(url.href)}" target="_blank" rel="${LINK_REL}">${escapeHtml(candidate)}</a>`;
    at = start + candidate.length;
  }
  return out + escapeHtml(text.slice(at));
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

// ---- attachment downloads ------------------------------------------------

/** CSP of an attachment response: if a browser renders it after all, nothing in it runs or loads. */
export const ATTACHMENT_CSP = "default-src 'none'; sandbox";

/** Every header of an attachment download served by the webmail itself. */
export function attachmentDownloadHeaders(attachment: { filename: string; contentType: string; size?: number }): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': safeContentType(attachment.contentType),
    'Content-Disposition': contentDispositionAttachment(attachment.filename),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': ATTACHMENT_CSP,
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'private, no-store',
  };
  if (attachment.size !== undefined && Number.isSafeInteger(attachment.size) && attachment.size >= 0) {
    headers['Content-Length'] = String(attachment.size);
  }
  return headers;
}
