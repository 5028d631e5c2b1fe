// File names made from text someone else wrote (a subject): one path segment that
// Windows Explorer, Outlook and the other systems' unzip tools accept and show as what
// it is. Windows' rules (https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file):
// no < > : " / \ | ? * or controls, no trailing dot or space, no device name (CON,
// PRN, AUX, NUL, COM0–9, LPT0–9, also with superscript digits and before an extension),
// a path of at most 260 UTF-16 units unless long paths are on — so a segment is kept short.
import { headerSafeLine, withoutInvisibleFormatting } from './text.ts';

const WINDOWS_RESERVED_CHARACTERS = /[<>:"/\\|?*]/g;
const DEVICE_NAME = /^(con|prn|aux|nul|conin\$|conout\$|(com|lpt)[0-9¹²³])$/i;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const DOTS_AND_SPACES_AT_ENDS = /^[.\s]+|[.\s]+$/g;

/**
 * One safe path segment of at most `maxUnits` UTF-16 units (cut between characters,
 * never inside a surrogate pair), or `fallback` when nothing readable is left: NFC,
 * without invisible formatting (bidi overrides, zero-width characters), controls and
 * blank runs as one space, the characters Windows reserves as `_`, no dots or spaces
 * at either end (a leading dot hides a file, a trailing one Windows drops), and a
 * device name prefixed with `_`.
 */
export function safeFileNameSegment(text: string, maxUnits: number, fallback: string): string {
  const cleaned = headerSafeLine(withoutInvisibleFormatting(text.replace(LONE_SURROGATE, '\ufffd').normalize('NFC'))).replace(
    WINDOWS_RESERVED_CHARACTERS,
    '_',
  );
  const trimmed = cutToUnits(cleaned, maxUnits).replace(DOTS_AND_SPACES_AT_ENDS, '');
  if (trimmed === '') return fallback;
  // Windows reads "CON.txt" and "con .eml" as the console device too: what is before the first dot counts.
  if (!DEVICE_NAME.test(trimmed.split('.')[0]!.trimEnd())) return trimmed;
  return cutToUnits(`_${trimmed}`, maxUnits).replace(DOTS_AND_SPACES_AT_ENDS, '');
}

/** The longest start of `text` of at most `maxUnits` UTF-16 units that ends between two characters. */
function cutToUnits(text: string, maxUnits: number): string {
  let cut = '';
  for (const character of text) {
    if (cut.length + character.length > maxUnits) break;
    cut += character;
  }
  return cut;
}
