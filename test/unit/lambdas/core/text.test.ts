// The control-character rules of core/text.ts, and where the variants differ on purpose:
// which characters count (C1, U+2028/U+2029 or ASCII only), and whether tab, LF and CR
// are kept, removed or turned into spaces.
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
  withoutControlsButTabAndLineBreaks,
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
