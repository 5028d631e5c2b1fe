// The download name in Content-Disposition: what a browser or a Save dialog shows and
// writes to disk, so nothing invisible may change how it reads (issue 14).
import { describe, expect, it } from 'vitest';
import { contentDispositionAttachment } from '../../../../lambdas/core/content-disposition.ts';

describe('contentDispositionAttachment and invisible formatting', () => {
  it("names the issue's invoice\\u202Efdp.exe by what it is, an .exe, in plain ASCII", () => {
    expect(contentDispositionAttachment('invoice\u202Efdp.exe')).toBe('attachment; filename="invoicefdp.exe"');
  });

  it.each([
    ['U+202A', '\u202a'],
    ['U+202B', '\u202b'],
    ['U+202C', '\u202c'],
    ['U+202D', '\u202d'],
    ['U+202E', '\u202e'],
    ['U+2066', '\u2066'],
    ['U+2067', '\u2067'],
    ['U+2068', '\u2068'],
    ['U+2069', '\u2069'],
    ['U+200B', '\u200b'],
    ['U+200F', '\u200f'],
    ['U+061C', '\u061c'],
    ['U+180E', '\u180e'],
    ['U+FEFF', '\ufeff'],
    ['U+E0041 (tag)', '\u{e0041}'],
  ])('drops %s from both the ASCII stand-in and the UTF-8 name', (_label, char) => {
    expect(contentDispositionAttachment(`Grüße${char}.pdf`)).toBe(`attachment; filename="Gru_e.pdf"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf`);
    expect(contentDispositionAttachment(`report${char}.pdf`)).toBe('attachment; filename="report.pdf"');
  });

  it('a name made only of invisible characters becomes "download"', () => {
    expect(contentDispositionAttachment('\u202e\u200b\ufeff \u2066')).toBe('attachment; filename="download"');
  });
});
