// MimeParser adapter on mailparser's streaming MailParser: headers, a short
// snippet and attachment metadata from a raw message stream, in bounded memory.
// Attachments are counted as they stream past and never held; text bodies are
// cut off after a small budget because the index only needs a snippet and
// mailparser otherwise keeps every text/html body whole in memory.
import type { Readable } from 'node:stream';
import type { AttachmentStream, HeaderLines, Headers, MessageText } from 'mailparser';
import { MimeParseError } from '../../core/errors.ts';
import { type AttachmentInfo, FORWARD_STAMP_HEADER, type MessageSummary } from '../../core/model.ts';
import { oneLine } from '../../core/text.ts';
import type { MimeParser } from '../../ports/mime-parser.ts';
import {
  allStrings,
  assertMailparserHooks,
  attachmentFilename,
  describeError,
  drainAttachment,
  foundMessage,
  messageHeadersOf,
  runMailparser,
  type TextBudget,
} from './mailparser-run.ts';

export { formatAddresses } from './mailparser-run.ts';

export const SNIPPET_LENGTH = 200;

export interface MailparserMimeParserOptions {
  /**
   * Longest time without a byte from the source. When it runs out while the source
   * is waiting for data, the source has stalled: RetryableError. When the source has
   * ended or is held back by the parser, the parser is stuck: whatever it has so far
   * is returned with a parseError (or MimeParseError when that is nothing).
   */
  inactivityTimeoutMs?: number;
  /** Encoded body bytes of one inline text/html part handed to mailparser. */
  textPartLimitBytes?: number;
  /** Encoded body bytes of all inline text/html parts of a message together. */
  textTotalLimitBytes?: number;
}

const DEFAULTS: Required<MailparserMimeParserOptions> = {
  inactivityTimeoutMs: 30_000,
  // Generous for HTML mail whose first words follow a long <style> block, small
  // enough that a 40 MB text body costs nothing.
  textPartLimitBytes: 256 * 1024,
  textTotalLimitBytes: 1024 * 1024,
};

const HTML_SCAN_LIMIT = 64 * 1024;

export class MailparserMimeParser implements MimeParser {
  private readonly options: Required<MailparserMimeParserOptions>;

  constructor(options: MailparserMimeParserOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
    assertMailparserHooks();
  }

  async summarize(raw: Readable): Promise<MessageSummary> {
    const attachments: AttachmentInfo[] = [];
    let contentError: Error | null = null;
    const run = await runMailparser(raw, {
      inactivityTimeoutMs: this.options.inactivityTimeoutMs,
      textLimits: { partBytes: this.options.textPartLimitBytes, totalBytes: this.options.textTotalLimitBytes },
      onAttachment: (attachment) => {
        attachments.push(
          measureAttachment(attachment, (error) => {
            contentError ??= error;
          }),
        );
      },
    });
    if (run.headers === null || !foundMessage(run)) {
      throw new MimeParseError(run.problem ?? 'no message headers found', { cause: run.cause });
    }
    return buildSummary(run.headers, run.headerLines, run.text, attachments, run.budget, run.problem ?? describeError(contentError));
  }
}

function measureAttachment(attachment: AttachmentStream, onError: (error: Error) => void): AttachmentInfo {
  const info: AttachmentInfo = {
    filename: attachmentFilename(attachment.filename),
    contentType: attachment.contentType || 'application/octet-stream',
    size: 0,
    contentId: attachment.cid ?? null,
    inline: attachment.related === true || attachment.contentDisposition === 'inline',
  };
  drainAttachment(
    attachment,
    (count) => {
      info.size += count;
    },
    onError,
  );
  return info;
}

function buildSummary(
  headers: Headers,
  headerLines: HeaderLines,
  text: MessageText | null,
  attachments: AttachmentInfo[],
  budget: TextBudget,
  parseError: string | null,
): MessageSummary {
  return {
    ...messageHeadersOf(headers, headerLines),
    snippet: snippetOf(text),
    hasHtml: budget.sawHtml || typeof text?.html === 'string',
    attachments,
    forwardStamps: allStrings(headers.get(FORWARD_STAMP_HEADER.toLowerCase())),
    parseError,
  };
}

// ---- snippet -------------------------------------------------------------

function snippetOf(text: MessageText | null): string {
  const plain = snippetOfText(text?.text ?? '');
  if (plain) return plain;
  if (text?.html) return snippetOfText(htmlToPlain(text.html));
  return '';
}

/**
 * The first SNIPPET_LENGTH characters of the text as one line (`oneLine`), read from a
 * growing prefix: collapsing the whitespace of a whole 256 KiB body took about a
 * millisecond per message in local mode's profile, for 200 characters (issue 18).
 * The same as cutting oneLine(text): once the prefix's line is longer than the snippet,
 * the characters past the prefix cannot change the snippet's.
 */
export function snippetOfText(text: string): string {
  for (let window = SNIPPET_LENGTH * 4; ; window *= 4) {
    const line = oneLine(text.slice(0, window));
    if (window >= text.length || line.length > SNIPPET_LENGTH * 2) return cut(line);
  }
}

function cut(value: string): string {
  return Array.from(value.slice(0, SNIPPET_LENGTH * 2))
    .slice(0, SNIPPET_LENGTH)
    .join('')
    .trim();
}

const SKIPPED_ELEMENTS = new Set(['head', 'script', 'style', 'title', 'noscript', 'template', 'svg']);
const INLINE_ELEMENTS = new Set(['a', 'abbr', 'b', 'bdi', 'bdo', 'em', 'font', 'i', 'small', 'span', 'strong', 'sub', 'sup', 'u']);
const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  euro: '€',
  bull: '•',
  middot: '·',
  zwnj: '',
  zwj: '',
  shy: '',
  auml: 'ä',
  ouml: 'ö',
  uuml: 'ü',
  Auml: 'Ä',
  Ouml: 'Ö',
  Uuml: 'Ü',
  szlig: 'ß',
  eacute: 'é',
  egrave: 'è',
  agrave: 'à',
  ccedil: 'ç',
};

/**
 * Visible text of an HTML prefix, for the snippet only (the webmail renders the
 * real thing). One linear pass: markup is untrusted and regexes over it can blow up.
 */
export function htmlToPlain(html: string): string {
  const source = html.length > HTML_SCAN_LIMIT ? html.slice(0, HTML_SCAN_LIMIT) : html;
  let out = '';
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('<', at);
    if (open < 0) {
      out += source.slice(at);
      break;
    }
    out += source.slice(at, open);
    if (source.startsWith('<!--', open)) {
      const end = source.indexOf('-->', open + 4);
      at = end < 0 ? source.length : end + 3;
      out += ' ';
      continue;
    }
    const tag = /^<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)/.exec(source.slice(open, open + 64));
    if (!tag) {
      if (source[open + 1] === '!' || source[open + 1] === '?') {
        const end = source.indexOf('>', open);
        at = end < 0 ? source.length : end + 1;
      } else {
        out += '<';
        at = open + 1;
      }
      continue;
    }
    const close = tagEnd(source, open + tag[0].length);
    if (close < 0) break;
    const name = (tag[2] ?? '').toLowerCase();
    at = close + 1;
    if (tag[1] === '' && SKIPPED_ELEMENTS.has(name) && source[close - 1] !== '/') {
      const end = new RegExp(`</${name}\\s*>`, 'gi');
      end.lastIndex = at;
      at = end.exec(source) ? end.lastIndex : source.length;
    }
    out += INLINE_ELEMENTS.has(name) ? '' : ' ';
  }
  return decodeEntities(out);
}

/**
 * Where a tag that goes on at `from` ends (its `>`), or -1. A quoted attribute value may
 * hold `>` (`title="a > b"`): taking the first `>` would turn the rest of the value into
 * "visible" text, so values quoted after `=` are skipped whole. Linear: every character is passed once.
 */
function tagEnd(source: string, from: number): number {
  let at = from;
  while (at < source.length) {
    const char = source[at];
    if (char === '>') return at;
    if (char === '=') {
      at++;
      while (at < source.length && /\s/.test(source[at] ?? '')) at++;
      const quote = source[at];
      if (quote === '"' || quote === "'") {
        const end = source.indexOf(quote, at + 1);
        if (end < 0) return -1;
        at = end + 1;
      }
      continue;
    }
    at++;
  }
  return -1;
}

function decodeEntities(value: string): string {
  return value.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g, (entity, body: string) => {
    if (body.startsWith('#')) {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
      return valid ? String.fromCodePoint(code) : '';
    }
    return NAMED_ENTITIES[body] ?? entity;
  });
}
