// MessageRenderer on mailparser's streaming MailParser: what the webmail shows of a
// stored message (headers, text, sanitized HTML, attachment list) and single
// attachments streamed out of it. Memory stays bounded for a 40 MB message: text
// and HTML bodies are cut at a byte budget before mailparser buffers them, and
// attachments are only counted while rendering, never held. Both operations walk
// the message with the same parser and options, so attachment N of render() is
// attachment N of openAttachment(). openAttachment() cannot know the decoded size
// before streaming: its `size` counts the bytes as they pass and is final at the
// end of the content stream (take Content-Length from render(), if at all).
import { PassThrough, type Readable } from 'node:stream';
import type { AttachmentStream } from 'mailparser';
import { MimeParseError } from '../../core/errors.ts';
import { plainTextLines } from '../../core/text.ts';
import type { MessageRenderer, RenderedAttachment, RenderedMessage, RenderOptions } from '../../ports/message-renderer.ts';
import { sanitizedHtmlToText, sanitizeEmailHtml } from './html-sanitizer.ts';
import {
  assertMailparserHooks,
  attachmentFilename,
  drainAttachment,
  foundMessage,
  type MailparserRun,
  messageHeadersOf,
  runMailparser,
  type TextLimits,
} from './mailparser-run.ts';

export interface MailparserMessageRendererOptions {
  /** Longest time without progress (source bytes, or a reader taking attachment bytes). */
  inactivityTimeoutMs?: number;
  /** Encoded bytes kept of one text or HTML body part. */
  bodyPartLimitBytes?: number;
  /** Encoded bytes kept of all text and HTML body parts together. */
  bodyTotalLimitBytes?: number;
}

const DEFAULTS: Required<MailparserMessageRendererOptions> = {
  inactivityTimeoutMs: 30_000,
  // 2 MB of text is about a thousand pages; HTML newsletters stay far below it.
  bodyPartLimitBytes: 2 * 1024 * 1024,
  bodyTotalLimitBytes: 4 * 1024 * 1024,
};

// openAttachment needs no body text: the budget drops body bytes only, so the
// structure (and with it the attachment numbering) is the one render() sees.
const NO_TEXT: TextLimits = { partBytes: 0, totalBytes: 0 };

const EXTENSIONS: Record<string, string> = {
  'text/plain': '.txt',
  'text/html': '.html',
  'text/calendar': '.ics',
  'text/csv': '.csv',
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'application/pdf': '.pdf',
  'application/zip': '.zip',
  'message/rfc822': '.eml',
  'message/delivery-status': '.txt',
};

export class MailparserMessageRenderer implements MessageRenderer {
  private readonly options: Required<MailparserMessageRendererOptions>;

  constructor(options: MailparserMessageRendererOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
    assertMailparserHooks();
  }

  async render(raw: Readable, options: RenderOptions): Promise<RenderedMessage> {
    const attachments: RenderedAttachment[] = [];
    const run = await runMailparser(raw, {
      inactivityTimeoutMs: this.options.inactivityTimeoutMs,
      textLimits: { partBytes: this.options.bodyPartLimitBytes, totalBytes: this.options.bodyTotalLimitBytes },
      onAttachment: (attachment, index) => {
        const rendered = describeAttachment(attachment, index);
        attachments.push(rendered);
        drainAttachment(
          attachment,
          (count) => {
            rendered.size += count;
          },
          // A broken attachment still leaves a message to read; its size stays what was read.
          () => undefined,
        );
      },
    });
    if (run.headers === null || !foundMessage(run)) {
      throw new MimeParseError(run.problem ?? 'no message headers found', { cause: run.cause });
    }
    return buildRendered(run, attachments, options);
  }

  async openAttachment(
    raw: Readable,
    which: { index: number } | { contentId: string },
  ): Promise<{ attachment: RenderedAttachment; content: Readable } | null> {
    if ('index' in which && !(Number.isSafeInteger(which.index) && which.index >= 0)) {
      raw.destroy();
      return null;
    }
    return new Promise((resolve, reject) => {
      let found: { attachment: RenderedAttachment; content: PassThrough } | null = null;
      let delivered = false;

      const run = runMailparser(raw, {
        inactivityTimeoutMs: this.options.inactivityTimeoutMs,
        textLimits: NO_TEXT,
        onAttachment: (attachment, index, control) => {
          const rendered = describeAttachment(attachment, index);
          if (found !== null || !matches(rendered, which)) {
            drainAttachment(
              attachment,
              () => undefined,
              () => undefined,
            );
            return;
          }
          const content = new PassThrough();
          found = { attachment: rendered, content };
          attachment.content.on('data', (chunk: Buffer | string) => {
            rendered.size += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
            // A reader that takes bytes is progress, even while the source waits on it.
            control.touch();
          });
          attachment.content.once('end', () => {
            delivered = true;
            attachment.release?.();
          });
          attachment.content.once('error', (error: Error) => {
            content.destroy(error);
            control.stop();
          });
          // Nothing after this attachment is needed: stop reading once it is through.
          content.once('finish', () => control.stop());
          // A reader that goes away (a closed download) ends the parse too.
          content.once('close', () => {
            if (!delivered) control.stop();
          });
          attachment.content.pipe(content);
          resolve({ attachment: rendered, content });
        },
      });

      run.then(
        (outcome) => {
          if (found === null) {
            if (outcome.headers === null || !foundMessage(outcome)) {
              reject(new MimeParseError(outcome.problem ?? 'no message headers found', { cause: outcome.cause }));
            } else {
              resolve(null);
            }
          } else if (!delivered && !found.content.destroyed) {
            // The parse ended (failed, stalled or was stopped) before the attachment was whole.
            found.content.destroy(new MimeParseError(outcome.problem ?? 'attachment ended early', { cause: outcome.cause }));
          }
        },
        (error: unknown) => {
          if (found === null) reject(error);
          // Once the attachment is whole, a later failure of the source does not concern its reader.
          else if (!delivered && !found.content.destroyed) found.content.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}

function matches(attachment: RenderedAttachment, which: { index: number } | { contentId: string }): boolean {
  return 'index' in which ? attachment.index === which.index : attachment.contentId === which.contentId;
}

function describeAttachment(attachment: AttachmentStream, index: number): RenderedAttachment {
  const contentType = (attachment.contentType || 'application/octet-stream').toLowerCase();
  return {
    index,
    filename: attachmentFilename(attachment.filename) ?? `attachment-${index + 1}${EXTENSIONS[contentType] ?? ''}`,
    contentType,
    size: 0,
    contentId: attachment.cid ?? null,
    inline: attachment.related === true || attachment.contentDisposition === 'inline',
  };
}

function buildRendered(run: MailparserRun, attachments: RenderedAttachment[], options: RenderOptions): RenderedMessage {
  const headers = run.headers;
  if (headers === null) throw new MimeParseError('no message headers found');
  const htmlSource = typeof run.text?.html === 'string' && run.text.html.trim() !== '' ? run.text.html : null;
  const sanitized = htmlSource === null ? null : sanitizeEmailHtml(htmlSource, options);
  let text = typeof run.text?.text === 'string' ? plainTextLines(run.text.text) : null;
  if ((text === null || text.trim() === '') && sanitized !== null) text = sanitizedHtmlToText(sanitized.html);
  return {
    ...messageHeadersOf(headers, run.headerLines),
    text: text === null || text.trim() === '' ? null : text,
    html: sanitized?.html ?? null,
    remoteContentBlocked: sanitized?.remoteContentBlocked ?? false,
    attachments,
    // A parse that ended early (a broken message) also leaves the body incomplete.
    truncated: run.budget.truncated || run.problem !== null,
  };
}
