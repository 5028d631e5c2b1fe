// The he stand-in of the Lambda bundles encodes exactly as he's encode() with its default
// options — what mailparser calls — and refuses everything else.
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import he from '../../../../lambdas/bundle/he.ts';
import { LEFT_OUT } from '../../../../lambdas/bundle/left-out.ts';

const realHe = createRequire(import.meta.url)('he') as { encode(text: string, options?: object): string };

const SAMPLES = [
  '',
  'plain ASCII, digits 0123 and punctuation !#$%()*+,-./:;=?@[\\]^_{|}~',
  `the unsafe ones: " & ' < > \``,
  'controls: \0 \x01 \t \n \v \f \r \x1b \x7f \x80 \x81 \x8d \x9f',
  'Latin-1: café Übersicht ñ ß ¡ ¿ \u00a0 ©',
  'CJK: 季度数字，你好 こんにちは 한국어',
  'astral: 😀 𠀀 🇩🇪',
  'lone surrogates: \ud800 x \udc00 y \ud83d',
  'specials: \u200b \u202e \ufeff \ufffd \uffff',
  '"O\'Brien, Seán" <sean@old.example>',
];

describe('the he stand-in', () => {
  it.each(SAMPLES)('encodes %j as he.encode() does', (text) => {
    expect(he.encode(text)).toBe(realHe.encode(text));
  });

  it('encodes every BMP code unit and a range of astral code points as he.encode() does', () => {
    // Prepare
    const bmp = Array.from({ length: 0x10000 }, (_, i) => String.fromCharCode(i)).join('');
    const astral = Array.from({ length: 2000 }, (_, i) => String.fromCodePoint(0x10000 + i * 523)).join('');

    // Assess
    expect(he.encode(bmp)).toBe(realHe.encode(bmp));
    expect(he.encode(astral)).toBe(realHe.encode(astral));
  });

  it('refuses the options it leaves out, and decoding', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => he.encode('<a>', { useNamedReferences: true })).toThrow(LEFT_OUT);
    expect(() => he.decode()).toThrow(LEFT_OUT);
    expect(he.encode('<a>', { useNamedReferences: false })).toBe(realHe.encode('<a>'));
  });
});
