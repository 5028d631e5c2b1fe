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
