// The control-character rules of core/text.ts, and where the variants differ on purpose:
// which characters count (C1, U+2028/U+2029 or ASCII only), and whether tab, LF and CR
// are kept, removed or turned into spaces. And the invisible formatting characters: every
// one goes from a file name; only the bidi controls go from a subject or display name.
import { describe, expect, it } from 'vitest';
import {
  hasAsciiControls,
  hasControlCharacters,
  hasLineBreakOrNul,
  headerSafeLine,
  oneLine,
  plainTextLines,
  trimControlsAndSpaces,
  withoutAsciiControls,
  withoutBidiControls,
  withoutControlsButTabAndLineBreaks,
  withoutInvisibleFormatting,
} from '../../../../lambdas/core/text.ts';

const NUL = '\u0000';
const ESC = '\u001b';
const DEL = '\u007f';
const C1 = '\u009b'; // CSI, one character
const LINE_SEPARATOR = '\u2028';

describe('what counts as a control character', () => {
  it.each([
    ['NUL', `a${NUL}b`, true, true],
    ['tab', 'a\tb', true, true],
    ['LF', 'a\nb', true, true],
    ['ESC', `a${ESC}b`, true, true],
    ['DEL', `a${DEL}b`, true, true],
    ['C1 (CSI)', `a${C1}b`, true, false],
    ['U+2028', `a${LINE_SEPARATOR}b`, true, false],
    ['plain text with umlauts and a no-break space', 'Grüße\u00a0aus Köln', false, false],
  ])('%s: in a header %s, as an ASCII control %s', (_name, value, header, ascii) => {
    expect(hasControlCharacters(value)).toBe(header);
    expect(hasAsciiControls(value)).toBe(ascii);
  });

  it('finds CR, LF and NUL as what ends a protocol line, and nothing else', () => {
    expect(['a\rb', 'a\nb', `a${NUL}b`].map(hasLineBreakOrNul)).toEqual([true, true, true]);
    expect(['a\tb', `a${ESC}b`, `a${LINE_SEPARATOR}b`, 'a<b>'].map(hasLineBreakOrNul)).toEqual([false, false, false, false]);
  });
});

describe('one line', () => {
  it('headerSafeLine turns runs of blanks and controls, C1 and U+2028 included, into one space', () => {
    expect(headerSafeLine(` a\r\n\t b${NUL}${C1}c${LINE_SEPARATOR}d `)).toBe('a b c d');
    expect(hasControlCharacters(headerSafeLine(`x${C1}${ESC}\ny`))).toBe(false);
  });

  it('oneLine does the same for ASCII controls and whitespace but keeps C1', () => {
    expect(oneLine(` a\r\n\t b${NUL}${ESC}c${LINE_SEPARATOR}d `)).toBe('a b c d');
    expect(oneLine(`a${C1}b`)).toBe(`a${C1}b`);
    expect(headerSafeLine(`a${C1}b`)).toBe('a b');
  });
});

describe('removing controls', () => {
  const sample = `a\tb\r\nc\nd\re${NUL}f${ESC}g\u000bh\u000ci${DEL}j${C1}k`;

  it('withoutAsciiControls removes every ASCII control, tab and line breaks too, and keeps C1', () => {
    expect(withoutAsciiControls(sample)).toBe(`abcdefghij${C1}k`);
  });

  it('withoutControlsButTabAndLineBreaks keeps tab, CR and LF as they are', () => {
    expect(withoutControlsButTabAndLineBreaks(sample)).toBe(`a\tb\r\nc\nd\refghij${C1}k`);
  });

  it('plainTextLines writes every line break as LF and keeps tab', () => {
    expect(plainTextLines(sample)).toBe(`a\tb\nc\nd\nefghij${C1}k`);
  });
});

describe('trimControlsAndSpaces', () => {
  it('trims C0 controls and spaces at both ends only, and leaves DEL and inner ones', () => {
    expect(trimControlsAndSpaces(`${NUL} \t\njavascript:${ESC}x \n${NUL}`)).toBe(`javascript:${ESC}x`);
    expect(trimControlsAndSpaces(`${DEL}x${DEL}`)).toBe(`${DEL}x${DEL}`);
  });
});

/** Code points as the issue names them, each in a printable label for the test name. */
const BIDI_CONTROLS = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
const OTHER_INVISIBLE = [
  0x00ad, // soft hyphen
  0x034f, // combining grapheme joiner
  0x061c, // Arabic letter mark
  0x115f, // Hangul choseong filler
  0x1160, // Hangul jungseong filler
  0x180e, // Mongolian vowel separator
  0x200b, // zero width space
  0x200c, // zero width non-joiner
  0x200d, // zero width joiner
  0x200e, // left-to-right mark
  0x200f, // right-to-left mark
  0x2060, // word joiner
  0x2061, // function application
  0x2064, // invisible plus
  0x206a, // inhibit symmetric swapping (deprecated)
  0x206f, // nominal digit shapes (deprecated)
  0x3164, // Hangul filler
  0xfe0f, // variation selector 16
  0xfeff, // byte order mark / zero width no-break space
  0xffa0, // halfwidth Hangul filler
  0xfff9, // interlinear annotation anchor
  0xfffb, // interlinear annotation terminator
  0x1d173, // musical symbol begin beam
  0xe0001, // language tag
  0xe0041, // tag latin capital letter A
  0xe01ef, // variation selector 256
];
const label = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

describe('invisible formatting characters', () => {
  it("the issue's example: U+202E no longer makes invoice\u202Efdp.exe read as invoiceexe.pdf", () => {
    expect(withoutInvisibleFormatting('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(withoutBidiControls('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
  });

  it.each([...BIDI_CONTROLS, ...OTHER_INVISIBLE].map((code) => [label(code), code]))(
    'withoutInvisibleFormatting removes %s, alone, repeated and between letters',
    (_label, code) => {
      const char = String.fromCodePoint(code);
      expect(withoutInvisibleFormatting(`a${char}b${char}${char}.pdf`)).toBe('ab.pdf');
      expect(withoutInvisibleFormatting(char)).toBe('');
    },
  );

  it.each(BIDI_CONTROLS.map((code) => [label(code), code]))('withoutBidiControls removes %s', (_label, code) => {
    expect(withoutBidiControls(`a${String.fromCodePoint(code)}b`)).toBe('ab');
  });

  it('withoutBidiControls keeps the marks and joiners right-to-left scripts and emoji need', () => {
    const kept = ['\u200e', '\u200f', '\u061c', '\u200c', '\u200d', '\ufe0f', '\u00ad'];
    for (const char of kept) expect(withoutBidiControls(`a${char}b`)).toBe(`a${char}b`);
  });

  it('both keep visible text: accents, Hebrew, Arabic, CJK, emoji, no-break space, line separators and ASCII controls', () => {
    const visible = `Grüße\u00a0שלום مرحبا 報告書 📄 a\u2028b\u2029c${NUL}\t`;
    expect(withoutInvisibleFormatting(visible)).toBe(visible);
    expect(withoutBidiControls(visible)).toBe(visible);
  });
});
