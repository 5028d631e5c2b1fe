// Language choice and translation: German or English by the browser's Accept-Language
// (q-values respected), a t() that fills `{name}` parameters, and date formatting.
import { de } from './de.ts';
import { en, type MessageKey, type Messages } from './en.ts';

export type Lang = 'de' | 'en';
export type { MessageKey };
export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export const LANGUAGES: readonly Lang[] = ['de', 'en'];
export const DEFAULT_LANG: Lang = 'en';
const catalogs: Record<Lang, Messages> = { de, en };

/** The supported language the header prefers most; the default when none matches. */
export function pickLanguage(acceptLanguage: string | undefined | null, fallback: Lang = DEFAULT_LANG): Lang {
  if (!acceptLanguage) return fallback;
  let best: { lang: Lang; q: number; order: number } | null = null;
  const ranges = acceptLanguage.split(',').slice(0, 50);
  ranges.forEach((part, order) => {
    const [range = '', ...params] = part.trim().split(';');
    const tag = range.trim().toLowerCase();
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0 || q > 1) return;
    const primary = tag.split('-')[0] ?? '';
    const lang = tag === '*' ? fallback : (LANGUAGES as readonly string[]).includes(primary) ? (primary as Lang) : null;
    if (!lang) return;
    // Higher q wins; on a tie the earlier range (the browser's order) wins.
    if (!best || q > best.q) best = { lang, q, order };
  });
  return (best as { lang: Lang } | null)?.lang ?? fallback;
}

export function translator(lang: Lang): Translate {
  const catalog = catalogs[lang];
  return (key, params) => {
    const text = catalog[key] ?? en[key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
  };
}

/** A date and time for people: "3 March 2030, 14:05 CET" / "3. März 2030, 14:05 MEZ". */
export function formatDateTime(iso: string, lang: Lang, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
    timeZone,
  }).format(date);
}

/** How long, in the largest unit that keeps it readable: "45 seconds", "12 minutes", "3 hours", "2 days". */
export function formatDuration(seconds: number, lang: Lang): string {
  const s = Math.max(0, Math.round(seconds));
  const [value, unit] =
    s < 90
      ? [s, 'second']
      : s < 90 * 60
        ? [Math.round(s / 60), 'minute']
        : s < 48 * 3600
          ? [Math.round(s / 3600), 'hour']
          : [Math.round(s / 86_400), 'day'];
  return new Intl.NumberFormat(lang === 'de' ? 'de-DE' : 'en-GB', { style: 'unit', unit, unitDisplay: 'long' }).format(value);
}

/** The one way pages show times: a moment in the configured zone in words, and how long ago it was. */
export interface TimeFormat {
  /** "3 March 2030 at 14:05 CET"; '' for none. */
  at(iso: string | null | undefined): string;
  /** "15 minutes ago" / "vor 15 Minuten". */
  ago(iso: string): string;
  /** A length of time ("12 minutes"). */
  duration(seconds: number): string;
}

export function timeFormat(lang: Lang, timeZone: string, now: Date): TimeFormat {
  const duration = (seconds: number) => formatDuration(seconds, lang);
  return {
    at: (iso) => (iso ? formatDateTime(iso, lang, timeZone) : ''),
    ago: (iso) => {
      const seconds = (now.getTime() - new Date(iso).getTime()) / 1000;
      if (seconds < 5) return lang === 'de' ? 'gerade eben' : 'just now';
      const text = duration(seconds);
      return lang === 'de' ? `vor ${text.replace(/(Tag|Monat|Jahr)e$/, '$1en')}` : `${text} ago`;
    },
    duration,
  };
}
