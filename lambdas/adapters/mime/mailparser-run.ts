// One way of driving mailparser's streaming MailParser over a raw message, shared
// by ingest's MimeParser and the webmail's MessageRenderer: inline text bodies are
// cut to a byte budget before mailparser buffers them, attachments are handed to
// the caller as streams (never held here), a stalled source or a stuck parser ends
// the run after an inactivity timeout, and headers are formatted one way for both.
import type { Readable } from 'node:stream';
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
import { MailParser } from 'mailparser';
import { RetryableError } from '../../core/errors.ts';
import type { MessageHeaders } from '../../core/model.ts';
import { withoutBidiControls, withoutControlsButTabAndLineBreaks, withoutInvisibleFormatting } from '../../core/text.ts';

// Everything mailparser would derive from bodies for display is switched off: it
// would work on whole bodies and, for cid: images, buffer the attachments.
export const PARSER_OPTIONS: MailParserOptions = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  checksumAlgo: false,
};

const MAX_ERROR_TEXT = 200;

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

/** Fails at wiring time, not on the first 40 MB message, if an upgrade moved the hook. */
export function assertMailparserHooks(): void {
  if (typeof (MailParser.prototype as unknown as ParserInternals).processChunk !== 'function') {
    throw new Error('mailparser no longer has processChunk(): the text body budget cannot be applied');
  }
}

export interface TextLimits {
  /** Encoded body bytes of one inline text/html part handed to mailparser. */
  partBytes: number;
  /** Encoded body bytes of all inline text/html parts of a message together. */
  totalBytes: number;
}

export interface TextBudget {
  /** An inline HTML part had content (the budget may have kept none of it). */
  sawHtml: boolean;
  /** Some inline body bytes were dropped. */
  truncated: boolean;
}

/**
 * Lets through at most a budget of encoded body bytes per inline text part (and in
 * total); the rest is dropped before mailparser decodes and buffers it.
 */
export function limitTextBodies(parser: MailParser, limits: TextLimits): TextBudget {
  const internals = parser as unknown as ParserInternals;
  const original = internals.processChunk;
  if (typeof original !== 'function') throw new Error('mailparser no longer has processChunk()');
  const budget: TextBudget = { sawHtml: false, truncated: false };
  const usedByNode = new WeakMap<object, number>();
  let usedTotal = 0;

  internals.processChunk = (data, done) => {
    const node = internals.curnode;
    const body = data.value;
    if (data.type === 'body' && node && node.decoder && node.isAttachment === false && Buffer.isBuffer(body)) {
      if (node.contentType === 'text/html' && body.length > 0) budget.sawHtml = true;
      const used = usedByNode.get(node) ?? 0;
      const room = Math.min(limits.partBytes - used, limits.totalBytes - usedTotal);
      if (room <= 0) {
        if (body.length > 0) budget.truncated = true;
        setImmediate(done);
        return;
      }
      const kept = body.length > room ? body.subarray(0, room) : body;
      if (kept !== body) {
        data.value = kept;
        budget.truncated = true;
      }
      usedByNode.set(node, used + kept.length);
      usedTotal += kept.length;
    }
    original.call(parser, data, done);
  };
  return budget;
}

/**
 * Reads an attachment to its end without keeping it, counting its decoded bytes,
 * and releases it so the parser goes on.
 */
export function drainAttachment(attachment: AttachmentStream, onBytes: (count: number) => void, onError: (error: Error) => void): void {
  const release = (): void => {
    attachment.release?.();
  };
  attachment.content.on('data', (chunk: Buffer | string) => {
    onBytes(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);
  });
  attachment.content.once('end', release);
  attachment.content.once('error', (error: Error) => {
    onError(error);
    release();
  });
}

export interface RunControl {
  /** Ends the run now: the source is no longer read and the run resolves with `stopped`. */
  stop(): void;
  /** Progress made downstream (an attachment being read): resets the inactivity timer. */
  touch(): void;
}

export interface MailparserRunOptions {
  inactivityTimeoutMs: number;
  textLimits: TextLimits;
  /**
   * Every attachment in document order with its zero-based position. The callback
   * must read its content to the end and release it (drainAttachment), or stop the run.
   */
  onAttachment(attachment: AttachmentStream, index: number, control: RunControl): void;
}

export interface MailparserRun {
  headers: Headers | null;
  headerLines: HeaderLines;
  text: MessageText | null;
  attachmentCount: number;
  budget: TextBudget;
  /** Why the parse ended early (a parser error or no progress), null when it finished. */
  problem: string | null;
  cause?: unknown;
  /** stop() was called. */
  stopped: boolean;
}

/**
 * Parses `raw` to its end (or until stop()). Rejects with the source's own error
 * when the source fails, and with RetryableError when it sends nothing for the
 * inactivity time while the parser is waiting for it; a parser that fails or
 * makes no progress ends the run with what it has and a `problem`.
 */
export function runMailparser(raw: Readable, options: MailparserRunOptions): Promise<MailparserRun> {
  return new Promise<MailparserRun>((resolve, reject) => {
    const parser = new MailParser(PARSER_OPTIONS);
    const budget = limitTextBodies(parser, options.textLimits);
    const run: MailparserRun = {
      headers: null,
      headerLines: [],
      text: null,
      attachmentCount: 0,
      budget,
      problem: null,
      stopped: false,
    };
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
    const finish = (problem: string | null, cause?: unknown): void => {
      run.problem = problem;
      if (cause !== undefined) run.cause = cause;
      resolve(run);
    };

    const limit = options.inactivityTimeoutMs;
    const timer = setTimeout(() => {
      settle(() => {
        // pipe() pauses the source while the parser is behind: then the parser is to blame.
        const sourceStalled = !sourceEnded && raw.readableFlowing !== false;
        stopReading();
        if (sourceStalled) {
          reject(new RetryableError(`no data from the raw message stream for ${limit} ms`));
        } else {
          finish(`parser made no progress for ${limit} ms`);
        }
      });
    }, limit);

    const control: RunControl = {
      stop: () => {
        settle(() => {
          run.stopped = true;
          stopReading();
          finish(null);
        });
      },
      touch: () => {
        if (!settled) timer.refresh();
      },
    };

    // The listeners stay attached after settling so a late error cannot crash the process.
    raw.on('error', (error) => {
      settle(() => {
        stopReading();
        reject(error);
      });
    });
    raw.on('data', () => {
      if (!settled) timer.refresh();
    });
    raw.once('end', () => {
      sourceEnded = true;
    });
    parser.on('headers', (parsed: Headers) => {
      run.headers = parsed;
    });
    parser.on('headerLines', (lines: HeaderLines) => {
      run.headerLines = lines;
    });
    parser.on('data', (item: AttachmentStream | MessageText) => {
      if (item.type === 'text') {
        run.text = item;
        return;
      }
      const index = run.attachmentCount++;
      options.onAttachment(item, index, control);
    });
    parser.on('error', (error: Error) => {
      settle(() => {
        stopReading();
        finish(describeError(error), error);
      });
    });
    parser.once('end', () => {
      settle(() => finish(null));
    });

    raw.pipe(parser);
  });
}

/**
 * Whether a run found a message at all: headers with at least one name, or some
 * attachment or text. Anything less is not worth showing or indexing.
 */
export function foundMessage(run: MailparserRun): boolean {
  if (run.headers === null) return false;
  const namedHeader = run.headerLines.some((line) => line.key !== '');
  return namedHeader || run.attachmentCount > 0 || hasText(run.text);
}

function hasText(text: MessageText | null): boolean {
  return Boolean(text?.text?.trim() || text?.html?.trim());
}

export function describeError(error: unknown): string | null {
  if (error === null || error === undefined) return null;
  const message = error instanceof Error ? error.message : String(error);
  return `mailparser: ${message}`.slice(0, MAX_ERROR_TEXT);
}

// ---- headers -------------------------------------------------------------

function isAddressObject(value: unknown): value is AddressObject {
  return typeof value === 'object' && value !== null && Array.isArray((value as AddressObject).value);
}

/** The headers ingest's summary and the webmail's rendering show, formatted one way for both. */
export function messageHeadersOf(headers: Headers, headerLines: HeaderLines): MessageHeaders {
  const subject = headers.get('subject');
  return {
    from: formatAddresses(headers.get('from')),
    to: formatAddresses(headers.get('to')),
    cc: formatAddresses(headers.get('cc')),
    replyTo: formatAddresses(headers.get('reply-to')),
    subject: typeof subject === 'string' ? withoutBidiControls(withoutControlsButTabAndLineBreaks(subject)) : '',
    date: dateOf(headerLines),
    messageIdHeader: firstString(headers.get('message-id')),
    inReplyTo: firstString(headers.get('in-reply-to')),
    references: allStrings(headers.get('references')),
  };
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
  const name = withoutBidiControls(entry.name ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  const address = (entry.address ?? '').trim();
  if (!address) return name || null;
  if (!name) return address;
  // Quoted when the name holds specials, so `"a@b" <c@d>` cannot read as a@b.
  const quoted = /[()<>[\]:;@\\,."]/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : name;
  return `${quoted} <${address}>`;
}

/** Longest attachment name kept, in code points. */
const MAX_FILENAME_LENGTH = 200;

/**
 * The sender's name for an attached file, minus what no file name should hold (controls,
 * invisible formatting, path separators); null when nothing is left. One definition for
 * what ingest indexes and what the webmail shows, offers and forwards.
 */
export function attachmentFilename(name: string | undefined): string | null {
  if (name === undefined) return null;
  const cleaned = withoutInvisibleFormatting(withoutControlsButTabAndLineBreaks(name))
    .replace(/[\r\n\t]/g, ' ')
    .replace(/[/\\]/g, '_')
    .replace(/\s+/g, ' ')
    .trim();
  if (cleaned === '' || /^\.+$/.test(cleaned)) return null;
  return Array.from(cleaned).slice(0, MAX_FILENAME_LENGTH).join('');
}

export function firstString(value: HeaderValue | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : null;
}

export function allStrings(value: HeaderValue | undefined): string[] {
  return (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string');
}

/** mailparser turns an unparseable Date into "now"; the raw header line tells the truth. */
export function dateOf(headerLines: HeaderLines): string | null {
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
