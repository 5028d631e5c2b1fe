// Stand-in of the he package (HTML entities, 87 KB of named-reference tables) in the Lambda
// bundles. mailparser calls he.encode() on every address header (the `html` form of From,
// To, …, built eagerly, which the functions never read) and, for an attached message of a
// message with HTML, on its header table — always with he's default options, which
// escape with hexadecimal references and need no tables. That is what this module does,
// byte for byte the same as he 1.2's encode() (test/unit/lambdas/bundle/he.test.ts
// compares them); the named references (`useNamedReferences`, used by textToHtml(), which
// PARSER_OPTIONS switches off) and decoding are left out.
import { leftOut } from './left-out.ts';

const hex = (codePoint: number): string => `&#x${codePoint.toString(16).toUpperCase()};`;
const escapeBmp = (symbol: string): string => hex(symbol.charCodeAt(0));

/** he.encode(text) with its default options. */
export function encode(text: string, options?: Record<string, unknown>): string {
  if (options && Object.values(options).some((value) => value === true)) leftOut('he.encode() with options');
  return (
    String(text)
      // the unsafe symbols, as he escapes them when named references are off
      .replace(/["&'<>`]/g, escapeBmp)
      // astral symbols, from their surrogate pair
      .replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, (pair) =>
        hex((pair.charCodeAt(0) - 0xd800) * 0x400 + pair.charCodeAt(1) - 0xdc00 + 0x10000),
      )
      // what is left that is not printable ASCII (he's regexBmpWhitelist)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it escapes.
      .replace(/[\x01-\t\x0B\f\x0E-\x1F\x7F\x81\x8D\x8F\x90\x9D\xA0-\uFFFF]/g, escapeBmp)
  );
}

const he = {
  encode,
  decode: (): never => leftOut('he.decode()'),
  escape: (): never => leftOut('he.escape()'),
  unescape: (): never => leftOut('he.unescape()'),
};
export default he;
