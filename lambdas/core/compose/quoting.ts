// The words of a reply or forward: subjects with their prefix once, the attribution
// line and the forwarded-header block in the user's language, and the quoted text.
import type { RenderedMessage } from '../../ports/message-renderer.ts';
import { headerSafeLine } from '../text.ts';
import { DEFAULT_COMPOSE_LIMITS } from './draft.ts';
import { formatMailbox, headerMailboxes } from './mailboxes.ts';

const REPLY_PREFIX = /^\s*(?:re|aw|antw|sv)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*/i;
const FORWARD_PREFIX = /^\s*(?:fwd?|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*/i;

function stripPrefixes(subject: string, prefix: RegExp): string {
  let rest = subject;
  for (let i = 0; i < 50 && prefix.test(rest); i++) rest = rest.replace(prefix, '');
  return rest.trim();
}

/** "Re: " exactly once, whatever reply prefixes (Re:, RE:, AW:, Re[2]:) were there. */
export function replySubject(subject: string): string {
  return `Re: ${stripPrefixes(headerSafeLine(subject), REPLY_PREFIX)}`.trimEnd();
}

/** "Fwd: " exactly once (Fwd:, FW:, WG: recognized). */
export function forwardSubject(subject: string): string {
  return `Fwd: ${stripPrefixes(headerSafeLine(subject), FORWARD_PREFIX)}`.trimEnd();
}

export interface Phrases {
  wrote(date: string | null, from: string): string;
  forwarded: string;
  subject: string;
  date: string;
  from: string;
  to: string;
  cc: string;
  unknownSender: string;
}

const PHRASES: Record<'en' | 'de', Phrases> = {
  en: {
    wrote: (date, from) => (date ? `On ${date}, ${from} wrote:` : `${from} wrote:`),
    forwarded: '-------- Forwarded Message --------',
    subject: 'Subject',
    date: 'Date',
    from: 'From',
    to: 'To',
    cc: 'Cc',
    unknownSender: 'unknown sender',
  },
  de: {
    wrote: (date, from) => (date ? `Am ${date} schrieb ${from}:` : `${from} schrieb:`),
    forwarded: '-------- Weitergeleitete Nachricht --------',
    subject: 'Betreff',
    date: 'Datum',
    from: 'Von',
    to: 'An',
    cc: 'Kopie',
    unknownSender: 'unbekannter Absender',
  },
};

export interface TextOptions {
  /** Browser language (e.g. "de-DE"); German for "de…", English otherwise. */
  locale?: string;
  /** IANA zone for dates in quoted text (default UTC). */
  timeZone?: string;
}

export function phrasesFor(locale: string | undefined): Phrases {
  return locale?.toLowerCase().startsWith('de') ? PHRASES.de : PHRASES.en;
}

export function formatDate(iso: string | null, options: TextOptions): string | null {
  if (!iso || Number.isNaN(Date.parse(iso))) return null;
  const locale = options.locale?.toLowerCase().startsWith('de') ? 'de-DE' : 'en-GB';
  try {
    return new Intl.DateTimeFormat(locale, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
      timeZone: options.timeZone ?? 'UTC',
    }).format(new Date(iso));
  } catch {
    return iso;
  }
}

/**
 * The most of a received message's text a reply quotes or a forward carries: half the
 * text limit, so the draft can still be sent and its page stays far below the limit
 * of a webmail response (payload-limits.ts) even when every character needs escaping.
 */
export const MAX_QUOTED_CHARS = DEFAULT_COMPOSE_LIMITS.maxTextLength / 2;

/** The text cut at MAX_QUOTED_CHARS (whole code points), with a mark where it was cut. */
export function clipQuoted(text: string): string {
  if (text.length <= MAX_QUOTED_CHARS) return text;
  const cut = /[\uD800-\uDBFF]$/.test(text.slice(0, MAX_QUOTED_CHARS)) ? MAX_QUOTED_CHARS - 1 : MAX_QUOTED_CHARS;
  return `${text.slice(0, cut)}\n[…]\n`;
}

/** "> " before every line; already quoted lines get one more ">". */
export function quoteText(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  return lines.map((line) => (line === '' ? '>' : line.startsWith('>') ? `>${line}` : `> ${line}`)).join('\n');
}

/** The original sender for an attribution line: the first From mailbox, else the raw header made safe. */
export function senderLabel(original: RenderedMessage, phrases: Phrases): string {
  const mailbox = headerMailboxes(original.from)[0];
  if (mailbox) return formatMailbox(mailbox);
  const raw = headerSafeLine(original.from[0] ?? '');
  return raw || phrases.unknownSender;
}
