// MimeParser adapter on mailparser's streaming MailParser: headers, a short
// snippet and attachment metadata from a raw message stream, in bounded memory.
// Attachments are counted as they stream past and never held; text bodies are
// cut off after a small budget because the index only needs a snippet and
// mailparser otherwise keeps every text/html body whole in memory.
import type { Readable } from 'node:stream';
import { MailParser } from 'mailparser';
import type {
  AddressObject,
  AttachmentStream,
  EmailAddress,
  HeaderLines,
  Headers,
  HeaderValue,
  MailParserOptions,
  MessageText,
} from 'mailparser';
import { MimeParseError, RetryableError } from '../../core/errors.ts';
import { FORWARD_STAMP_HEADER, type AttachmentInfo, type MessageSummary } from '../../core/model.ts';
import type { MimeParser } from '../../ports/mime-parser.ts';

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

// Everything mailparser would derive from bodies for display is switched off:
// we only need a snippet and convert HTML ourselves from a bounded prefix.
const PARSER_OPTIONS: MailParserOptions = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  checksumAlgo: false,
};

const MAX_ERROR_TEXT = 200;
const HTML_SCAN_LIMIT = 64 * 1024;

/** The parts of mailparser's internals the text budget hooks into (mailparser 3.14). */
interface SplitterChunk {
  type: string;
  value?: unknown;
}
interface ParserNode {
  decoder?: unknown;
  isAttachment?: boolean;
  contentType?: string;
}
type ChunkProcessor = (data: SplitterChunk, done: (error?: Error | null) => void) => void;
interface ParserInternals {
  processChunk?: ChunkProcessor;
  curnode?: ParserNode | false;
}

interface TextBudget {
  sawHtml: boolean;
}

export class MailparserMimeParser implements MimeParser {
  private readonly options: Required<MailparserMimeParserOptions>;

  constructor(options: MailparserMimeParserOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
    // Fail at wiring time, not on the first 40 MB message, if an upgrade moved the hook.
    if (typeof (MailParser.prototype as unknown as ParserInternals).processChunk !== 'function') {
      throw new Error('mailparser no longer has processChunk(): the text body budget cannot be applied');
    }
  }

  summarize(raw: Readable): Promise<MessageSummary> {
    return new Promise<MessageSummary>((resolve, reject) => {
      const parser = new MailParser(PARSER_OPTIONS);
      const budget = limitTextBodies(parser, this.options);
      const attachments: AttachmentInfo[] = [];
      let headers: Headers | null = null;
      let headerLines: HeaderLines = [];
      let text: MessageText | null = null;
      let contentError: Error | null = null;
      let sourceEnded = false;
      let settled = false;

      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const stopReading = (): void => {
        raw.unpipe(parser);
        raw.destroy();
        parser.destroy();
      };
      // What the parser produced, or MimeParseError when that is nothing at all.
      const conclude = (problem: string | null, cause?: unknown): void => {
        const namedHeader = headerLines.some((line) => line.key !== '');
        if (headers === null || (!namedHeader && attachments.length === 0 && !hasText(text))) {
          reject(new MimeParseError(problem ?? 'no message headers found', { cause }));
          return;
        }
        resolve(
          buildSummary(headers, headerLines, text, attachments, budget, problem ?? describeError(contentError)),
        );
      };

      const limit = this.options.inactivityTimeoutMs;
      const timer = setTimeout(() => {
        settle(() => {
          // pipe() pauses the source while the parser is behind: then the parser is to blame.
          const sourceStalled = !sourceEnded && raw.readableFlowing !== false;
          stopReading();
          if (sourceStalled) {
            reject(new RetryableError(`no data from the raw message stream for ${limit} ms`));
          } else {
            conclude(`parser made no progress for ${limit} ms`);
          }
        });
      }, limit);

      // The listeners stay attached after settling so a late error cannot crash the process.
      raw.on('error', (error) => {
        settle(() => {
          stopReading();
          reject(error);
        });
      });
      raw.on('data', () => {
        timer.refresh();
      });
      raw.once('end', () => {
        sourceEnded = true;
      });
      parser.on('headers', (parsed: Headers) => {
        headers = parsed;
      });
      parser.on('headerLines', (lines: HeaderLines) => {
        headerLines = lines;
      });
      parser.on('data', (item: AttachmentStream | MessageText) => {
        if (item.type === 'text') {
          text = item;
          return;
        }
        attachments.push(
          measureAttachment(item, (error) => {
            contentError ??= error;
          }),
        );
      });
      parser.on('error', (error: Error) => {
        settle(() => {
          stopReading();
          conclude(describeError(error), error);
        });
      });
      parser.once('end', () => {
        settle(() => conclude(null));
      });

      raw.pipe(parser);
    });
  }
}

/**
 * Lets through at most a budget of encoded body bytes per inline text part (and in
 * total); the rest is dropped before mailparser decodes and buffers it. Also notes
 * whether an inline HTML part has content, which the budget could otherwise hide.
 */
function limitTextBodies(parser: MailParser, limits: Required<MailparserMimeParserOptions>): TextBudget {
  const internals = parser as unknown as ParserInternals;
  const original = internals.processChunk;
  if (typeof original !== 'function') throw new Error('mailparser no longer has processChunk()');
  const budget: TextBudget = { sawHtml: false };
  const usedByNode = new WeakMap<object, number>();
  let usedTotal = 0;

  internals.processChunk = (data, done) => {
    const node = internals.curnode;
    const body = data.value;
    if (data.type === 'body' && node && node.decoder && node.isAttachment === false && Buffer.isBuffer(body)) {
      if (node.contentType === 'text/html' && body.length > 0) budget.sawHtml = true;
      const used = usedByNode.get(node) ?? 0;
      const room = Math.min(limits.textPartLimitBytes - used, limits.textTotalLimitBytes - usedTotal);
      if (room <= 0) {
        setImmediate(done);
        return;
      }
      const kept = body.length > room ? body.subarray(0, room) : body;
      if (kept !== body) data.value = kept;
      usedByNode.set(node, used + kept.length);
      usedTotal += kept.length;
    }
    original.call(parser, data, done);
  };
  return budget;
}

function measureAttachment(attachment: AttachmentStream, onError: (error: Error) => void): AttachmentInfo {
  const info: AttachmentInfo = {
    filename: attachment.filename ?? null,
    contentType: attachment.contentType || 'application/octet-stream',
    size: 0,
    contentId: attachment.cid ?? null,
    inline: attachment.related === true || attachment.contentDisposition === 'inline',
  };
  const release = (): void => {
    attachment.release?.();
  };
  attachment.content.on('data', (chunk: Buffer | string) => {
    info.size += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  });
  attachment.content.once('end', release);
  attachment.content.once('error', (error: Error) => {
    onError(error);
    release();
  });
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
  const subject = headers.get('subject');
  return {
    from: formatAddresses(headers.get('from')),
    to: formatAddresses(headers.get('to')),
    cc: formatAddresses(headers.get('cc')),
    replyTo: formatAddresses(headers.get('reply-to')),
    subject: typeof subject === 'string' ? withoutControls(subject) : '',
    date: dateOf(headerLines),
    messageIdHeader: firstString(headers.get('message-id')),
    inReplyTo: firstString(headers.get('in-reply-to')),
    references: allStrings(headers.get('references')),
    snippet: snippetOf(text),
    hasHtml: budget.sawHtml || typeof text?.html === 'string',
    attachments,
    forwardStamps: allStrings(headers.get(FORWARD_STAMP_HEADER.toLowerCase())),
    parseError,
  };
}

function hasText(text: MessageText | null): boolean {
  return Boolean(text?.text?.trim() || text?.html?.trim());
}

function describeError(error: unknown): string | null {
  if (error === null || error === undefined) return null;
  const message = error instanceof Error ? error.message : String(error);
  return `mailparser: ${message}`.slice(0, MAX_ERROR_TEXT);
}

// ---- headers -------------------------------------------------------------

function isAddressObject(value: unknown): value is AddressObject {
  return typeof value === 'object' && value !== null && Array.isArray((value as AddressObject).value);
}

/** Mailboxes the way SES lists them in commonHeaders; groups are replaced by their members. */
export function formatAddresses(value: HeaderValue | undefined): string[] {
  const objects = (Array.isArray(value) ? value : [value]).filter(isAddressObject);
  const result: string[] = [];
  const visit = (entries: EmailAddress[], depth: number): void => {
    for (const entry of entries) {
      if (entry.group) {
        if (depth < 8) visit(entry.group, depth + 1);
        continue;
      }
      const formatted = formatMailbox(entry);
      if (formatted) result.push(formatted);
    }
  };
  for (const object of objects) visit(object.value, 0);
  return result;
}

function formatMailbox(entry: EmailAddress): string | null {
  const name = (entry.name ?? '').replace(/\s+/g, ' ').trim();
  const address = (entry.address ?? '').trim();
  if (!address) return name || null;
  if (!name) return address;
  // Quoted when the name holds specials, so `"a@b" <c@d>` cannot read as a@b.
  const quoted = /[()<>[\]:;@\\,."]/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : name;
  return `${quoted} <${address}>`;
}

function firstString(value: HeaderValue | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : null;
}

function allStrings(value: HeaderValue | undefined): string[] {
  return (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string');
}

/** mailparser turns an unparseable Date into "now"; the raw header line tells the truth. */
function dateOf(headerLines: HeaderLines): string | null {
  const line = headerLines.find((header) => header.key === 'date')?.line;
  if (line === undefined) return null;
  const value = line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
  if (value === '') return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

// ---- snippet -------------------------------------------------------------

function snippetOf(text: MessageText | null): string {
  const plain = collapse(text?.text ?? '');
  if (plain) return cut(plain);
  if (text?.html) return cut(collapse(htmlToPlain(text.html)));
  return '';
}

// Control characters (NUL included) have no place in index fields shown in a browser.
function withoutControls(value: string): string {
  return value.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
}

function collapse(value: string): string {
  return value.replace(/[\u0000-\u0008\u000e-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
}

function cut(value: string): string {
  return Array.from(value.slice(0, SNIPPET_LENGTH * 2)).slice(0, SNIPPET_LENGTH).join('').trim();
}

const SKIPPED_ELEMENTS = new Set(['head', 'script', 'style', 'title', 'noscript', 'template', 'svg']);
const INLINE_ELEMENTS = new Set(['a', 'abbr', 'b', 'bdi', 'bdo', 'em', 'font', 'i', 'small', 'span', 'strong', 'sub', 'sup', 'u']);
const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®', trade: '™',
  hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', euro: '€',
  bull: '•', middot: '·', zwnj: '', zwj: '', shy: '', auml: 'ä', ouml: 'ö', uuml: 'ü', Auml: 'Ä',
  Ouml: 'Ö', Uuml: 'Ü', szlig: 'ß', eacute: 'é', egrave: 'è', agrave: 'à', ccedil: 'ç',
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
    const close = source.indexOf('>', open);
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
