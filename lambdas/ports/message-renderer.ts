// Port: turns a stored raw message into what the webmail shows — headers, text,
// sanitized HTML, attachment list — and streams single attachments out of it.
import type { Readable } from 'node:stream';
import type { MessageHeaders } from '../core/model.ts';

export interface RenderedAttachment {
  /** Position among the message's attachments; stable between render and openAttachment. */
  index: number;
  filename: string;
  contentType: string;
  size: number;
  /** Content-ID without angle brackets, for cid: references. */
  contentId: string | null;
  inline: boolean;
}

export interface RenderedMessage extends MessageHeaders {
  /** Plain text body (the text part, or text derived from the HTML). */
  text: string | null;
  /** Sanitized HTML: no script, no active content; remote URLs neutralized unless allowed. */
  html: string | null;
  /** Something remote was blocked: the page offers "load remote content". */
  remoteContentBlocked: boolean;
  attachments: RenderedAttachment[];
  /** The body was cut at the renderer's size limit. */
  truncated: boolean;
}

export interface RenderOptions {
  allowRemote: boolean;
  /** URL under which the webmail serves an inline part by Content-ID. */
  cidUrl(contentId: string): string;
}

export interface MessageRenderer {
  render(raw: Readable, options: RenderOptions): Promise<RenderedMessage>;
  /** The attachment's decoded bytes as a stream, or null when there is no such index / Content-ID. */
  openAttachment(
    raw: Readable,
    which: { index: number } | { contentId: string },
  ): Promise<{ attachment: RenderedAttachment; content: Readable } | null>;
}
