// safeFileNameSegment: a subject made into one path segment that Windows Explorer,
// Outlook and unzip accept and that reads as what it is — hostile subjects included.
import { describe, expect, it } from 'vitest';
import { safeFileNameSegment } from '../../../../lambdas/core/file-names.ts';

const name = (text: string, max = 60) => safeFileNameSegment(text, max, 'no subject');

describe('safeFileNameSegment', () => {
  it.each([
    ['path separators and traversal', '../../etc/passwd', '_.._etc_passwd'],
    ['Windows drive and backslashes', 'C:\\Windows\\system32', 'C__Windows_system32'],
    ['every character Windows reserves', 'a<b>c:d"e/f\\g|h?i*j', 'a_b_c_d_e_f_g_h_i_j'],
    ['line breaks, tabs and controls as one space', 'Re:\r\n\tnext\u0000line\u0085end', 'Re_ next line end'],
    ['a leading dot (hidden on Unix) and trailing dots and spaces (dropped by Windows)', '  ..hidden. . ', 'hidden'],
    ['bidi overrides and zero-width characters', 'invoice\u202efdp.exe\u200b\u2066x\u2069', 'invoicefdp.exex'],
    ['decomposed accents composed (NFC)', 'Cafe\u0301', 'Café'],
    ['a lone surrogate', 'broken \ud800 text', 'broken \ufffd text'],
  ])('cleans %s', (_, subject, expected) => {
    // Act
    const cleaned = name(subject);

    // Assess
    expect(cleaned).toBe(expected);
  });

  it.each(['CON', 'con', 'PRN', 'AUX', 'NUL', 'COM1', 'com9', 'LPT1', 'COM¹', 'CON.txt', 'nul .eml', 'CONIN$'])(
    'prefixes the device name %s, which Windows would open as a device',
    (subject) => {
      // Act
      const cleaned = name(subject);

      // Assess
      expect(cleaned).toBe(`_${subject}`);
    },
  );

  it.each(['CONSOLE', 'COM10', 'Contract', 'nullify'])('leaves %s, which is no device name', (subject) => {
    // Act
    const cleaned = name(subject);

    // Assess
    expect(cleaned).toBe(subject);
  });

  it('cuts a long subject to the limit in UTF-16 units, never inside a surrogate pair, and never ends on a dot or space', () => {
    // Prepare
    const long = 'x'.repeat(300);
    const emoji = `${'a'.repeat(59)}😀 tail`;
    const dotAtCut = `${'b'.repeat(58)}. more`;

    // Act
    const cut = [name(long), name(emoji), name(dotAtCut)];

    // Assess
    expect(cut[0]).toBe('x'.repeat(60));
    expect(cut[1]).toBe('a'.repeat(59));
    expect(cut[2]).toBe('b'.repeat(58));
    for (const value of cut) expect(value.length).toBeLessThanOrEqual(60);
  });

  it('answers the fallback when nothing readable is left', () => {
    // Act
    const empty = ['', '   ', '...', '\u202e\u200b', '\r\n'].map((subject) => name(subject));

    // Assess
    expect(empty).toEqual(['no subject', 'no subject', 'no subject', 'no subject', 'no subject']);
  });
});
