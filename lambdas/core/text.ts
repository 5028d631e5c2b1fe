// biome-ignore-all lint/suspicious/noControlCharactersInRegex: this module is where control characters are named; the tree calls it instead of repeating the ranges.
// Control characters in text: which ones a value may hold, and the few ways the tree
// cleans them. The variants differ on purpose (a header takes no line break, a message
// body keeps its lines, a snippet is one line); each is named for what it keeps.
//
// "ASCII controls" are C0 (U+0000–U+001F: tab, LF and CR included) and DEL (U+007F).
// Header-bound text also refuses C1 (U+0080–U+009F) and the Unicode line and paragraph
// separators (U+2028, U+2029), which some clients treat as line breaks.
//
// "Invisible formatting" is what renders as nothing yet changes how text reads: Unicode
// general category Cf (bidi embeddings, overrides and isolates U+202A–U+202E and
// U+2066–U+2069, the marks U+200E/U+200F/U+061C, zero-width U+200B–U+200D, U+2060–U+2064,
// U+FEFF, U+180E, soft hyphen, tags) and the other Default_Ignorable_Code_Point characters
// (Hangul fillers, variation selectors, U+034F). File names lose all of it: an override
// makes invoice<U+202E>fdp.exe read as "invoiceexe.pdf". Subjects and display names lose
// only the explicit bidi controls, the part that can reorder letters: the marks and
// joiners are what right-to-left scripts, Persian and emoji need.

const HEADER_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const HEADER_UNSAFE_OR_BLANK_RUNS = /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const ASCII_CONTROL = /[\u0000-\u001f\u007f]/;
const ASCII_CONTROLS = /[\u0000-\u001f\u007f]/g;
const ASCII_CONTROL_OR_BLANK_RUNS = /[\s\u0000-\u001f\u007f]+/g;
const ASCII_CONTROLS_BUT_TAB_AND_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const LINE_BREAK_OR_NUL = /[\r\n\u0000]/;
const C0_OR_SPACE_AT_ENDS = /^[\u0000-\u0020]+|[\u0000-\u0020]+$/g;
const INVISIBLE_FORMATTING = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

/** True when the value holds anything a header must not: ASCII controls, C1, U+2028/U+2029. */
export function hasControlCharacters(value: string): boolean {
  return HEADER_UNSAFE.test(value);
}

/** True when the value holds an ASCII control (C0, tab and line breaks included, or DEL). */
export function hasAsciiControls(value: string): boolean {
  return ASCII_CONTROL.test(value);
}

/** True when the value holds CR, LF or NUL: what ends a protocol line (SMTP) early. */
export function hasLineBreakOrNul(value: string): boolean {
  return LINE_BREAK_OR_NUL.test(value);
}

/**
 * One header-safe line: every run of whitespace and of the characters hasControlCharacters
 * refuses becomes one space, trimmed. For values from a received message or a token,
 * which are made harmless rather than refused.
 */
export function headerSafeLine(value: string): string {
  return value.replace(HEADER_UNSAFE_OR_BLANK_RUNS, ' ').trim();
}

/** One line for display: every run of whitespace and ASCII controls becomes one space, trimmed. C1 stays. */
export function oneLine(value: string): string {
  return value.replace(ASCII_CONTROL_OR_BLANK_RUNS, ' ').trim();
}

/** The value without any ASCII control (tab and line breaks removed too, not replaced). */
export function withoutAsciiControls(value: string): string {
  return value.replace(ASCII_CONTROLS, '');
}

/** The value without ASCII controls other than tab, LF and CR (NUL, ESC, BEL, VT, FF, DEL removed). */
export function withoutControlsButTabAndLineBreaks(value: string): string {
  return value.replace(ASCII_CONTROLS_BUT_TAB_AND_LINE_BREAKS, '');
}

/** Multi-line plain text: line breaks as LF (CRLF and a lone CR included), no ASCII control but tab and LF. */
export function plainTextLines(value: string): string {
  return withoutControlsButTabAndLineBreaks(value.replace(/\r\n?/g, '\n'));
}

/** Without leading and trailing C0 controls and spaces (the WHATWG URL parser's first step). */
export function trimControlsAndSpaces(value: string): string {
  return value.replace(C0_OR_SPACE_AT_ENDS, '');
}

/** Without invisible formatting (Cf and default-ignorable code points): for file names, which must read as what they are. */
export function withoutInvisibleFormatting(value: string): string {
  return value.replace(INVISIBLE_FORMATTING, '');
}

/** Without the explicit bidi controls (U+202A–U+202E, U+2066–U+2069): for subjects and display names. */
export function withoutBidiControls(value: string): string {
  return value.replace(BIDI_CONTROLS, '');
}
