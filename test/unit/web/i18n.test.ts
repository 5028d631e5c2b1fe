// Language choice by Accept-Language (q-values, regions, wildcard), the catalogs, and
// t()'s parameters.
import { describe, expect, it } from 'vitest';
import { de } from '../../../web/i18n/de.ts';
import { en } from '../../../web/i18n/en.ts';
import { formatDateTime, formatDuration, pickLanguage, timeFormat, translator } from '../../../web/i18n/index.ts';

describe('pickLanguage', () => {
  it.each([
    [undefined, 'en'],
    ['', 'en'],
    ['de', 'de'],
    ['de-AT', 'de'],
    ['DE-de', 'de'],
    ['en-US,en;q=0.9', 'en'],
    ['fr-FR,fr;q=0.9,de;q=0.8,en;q=0.7', 'de'],
    ['en;q=0.5,de;q=0.8', 'de'],
    ['de;q=0.5,en;q=0.5', 'de'],
    ['fr,it', 'en'],
    ['de;q=0', 'en'],
    ['*', 'en'],
    ['de;q=abc,en;q=0.1', 'en'],
    ['x'.repeat(5000), 'en'],
  ])('%s → %s', (header, expected) => {
    // Prepare + Act
    const lang = pickLanguage(header);
    // Assess
    expect(lang).toBe(expected);
  });
});

describe('catalogs and t()', () => {
  it('have the same keys in German and English, none empty', () => {
    // Prepare + Act
    const missing = Object.keys(en).filter((key) => !(key in de));
    const extra = Object.keys(de).filter((key) => !(key in en));
    const empty = [...Object.entries(en), ...Object.entries(de)].filter(([, text]) => text.trim() === '');
    // Assess
    expect({ missing, extra, empty }).toEqual({ missing: [], extra: [], empty: [] });
  });

  it('fills parameters and leaves unknown ones visible', () => {
    // Prepare
    const t = translator('de');
    // Act
    const filled = t('layout.signedInAs', { name: 'Alice' });
    const unfilled = t('layout.signedInAs');
    // Assess
    expect(filled).toBe('Angemeldet als Alice');
    expect(unfilled).toBe('Angemeldet als {name}');
  });

  it('formats dates in the language and time zone asked for', () => {
    // Prepare
    const when = '2030-07-01T08:30:00.000Z';
    // Act
    const german = formatDateTime(when, 'de', 'Europe/Berlin');
    const english = formatDateTime(when, 'en', 'UTC');
    // Assess
    expect(german).toBe('1. Juli 2030 um 10:30 MESZ');
    expect(english).toBe('1 July 2030 at 08:30 UTC');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, 'en', '0 seconds'],
    [59, 'en', '59 seconds'],
    [90, 'en', '2 minutes'],
    [3_599, 'en', '60 minutes'],
    [5_400, 'en', '2 hours'],
    [172_800, 'en', '2 days'],
    [1, 'de', '1 Sekunde'],
    [600, 'de', '10 Minuten'],
    [7_200, 'de', '2 Stunden'],
    [259_200, 'de', '3 Tage'],
  ] as const)('%i s in %s → %s', (seconds, lang, expected) => {
    // Prepare + Act
    const text = formatDuration(seconds, lang);
    // Assess
    expect(text).toBe(expected);
  });
});

describe('timeFormat', () => {
  it('formats a moment in the configured zone and how long ago it was, never the raw stamp', () => {
    // Prepare
    const times = timeFormat('en', 'Europe/Berlin', new Date('2030-03-03T13:05:00.000Z'));
    // Act
    const at = times.at('2030-03-03T12:50:00.000Z');
    const ago = times.ago('2030-03-03T12:50:00.000Z');
    // Assess
    expect(at).toBe('3 March 2030 at 13:50 CET');
    expect(ago).toBe('15 minutes ago');
    expect(times.at(null)).toBe('');
    expect(times.ago('2030-03-03T13:05:00.000Z')).toBe('just now');
    expect(timeFormat('de', 'Europe/Berlin', new Date('2030-03-06T13:05:00.000Z')).ago('2030-03-03T13:05:00.000Z')).toBe('vor 3 Tagen');
  });
});
