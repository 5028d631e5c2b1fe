// Content-Disposition and Content-Type values for serving a part of a message as
// a download: shared by the webmail's own responses (web/message-frame.ts) and by
// the presigned S3 links (adapters/aws/s3-download-links.ts), so both name the
// file the same way. Pure functions, no HTTP library.
import { withoutAsciiControls, withoutInvisibleFormatting } from './text.ts';

/**
 * `attachment; filename="…"` per RFC 6266: an ASCII stand-in for old clients and,
 * when the name is not plain ASCII, the real name as RFC 5987 `filename*`. Without
 * controls and invisible formatting, so the saved file reads as what it is.
 */
export function contentDispositionAttachment(filename: string): string {
  const name =
    withoutInvisibleFormatting(
      withoutAsciiControls(
        // A lone surrogate would make encodeURIComponent throw.
        filename.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
      ),
    ).trim() || 'download';
  const fallback = asciiFallback(name);
  const header = `attachment; filename="${fallback}"`;
  return fallback === name ? header : `${header}; filename*=UTF-8''${encodeRfc5987(name)}`;
}

function asciiFallback(name: string): string {
  // Accents dropped (é → e), anything else outside printable ASCII replaced; quotes,
  // backslashes and % (which browsers may percent-decode) as well.
  const stripped = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  return stripped.replace(/[^\x20-\x7e]|["\\%]/g, '_');
}

function encodeRfc5987(value: string): string {
  // encodeURIComponent leaves ' ( ) * unencoded; RFC 5987 attr-char does not allow them.
  return encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** A media type safe to send as Content-Type, or application/octet-stream. */
export function safeContentType(contentType: string): string {
  const type = contentType.trim().toLowerCase();
  return MEDIA_TYPE.test(type) ? type : 'application/octet-stream';
}
