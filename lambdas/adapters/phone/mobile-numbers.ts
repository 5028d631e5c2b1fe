// Mobile numbers as the directory holds them ("0170 1234567", "+49 (170) 123-4567",
// "00491701234567") read into E.164 with libphonenumber-js and its full metadata (the
// default build has no number types). Only a number that can take an SMS is kept:
// MOBILE, or FIXED_LINE_OR_MOBILE where a country's plan does not tell them apart (US,
// Canada). A landline, a toll-free or premium number, an extension or junk is refused
// with a reason that never repeats the number (it ends up in logs and CLI output).
// Lives among the adapters because core imports no packages (test/unit/architecture.test.ts).
import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { InvalidInputError } from '../../core/errors.ts';

export const DEFAULT_PHONE_COUNTRY = 'DE';

export type MobileReading = { mobile: string } | { problem: string };

const SMS_CAPABLE = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);
/** Longer than any written form of a number; a bound on what we hand to the parser. */
const MAX_INPUT_CHARS = 64;

/** The ISO 3166 alpha-2 code numbers without a country code belong to; throws InvalidInputError for one libphonenumber does not know. */
export function phoneCountry(code: string): CountryCode {
  const upper = code.trim().toUpperCase();
  if (!isSupportedCountry(upper))
    throw new InvalidInputError(`not a country code for phone numbers: ${JSON.stringify(code)} (e.g. DE, AT, CH)`);
  return upper;
}

/**
 * The number in E.164 form, or why it cannot take a sign-in code. `raw` is what the
 * directory holds; an empty value is no reading (null): the user simply has no number.
 */
export function readMobileNumber(raw: string, country: CountryCode): MobileReading | null {
  const text = raw.trim();
  if (text === '') return null;
  if (text.length > MAX_INPUT_CHARS) return { problem: 'the mobile number is too long to be one' };
  const parsed = parsePhoneNumberFromString(text, { defaultCountry: country });
  if (!parsed) return { problem: 'the mobile number cannot be read as a phone number' };
  if (parsed.ext) return { problem: 'the mobile number has an extension (an SMS cannot reach one)' };
  if (!parsed.isValid()) return { problem: `the mobile number is not a valid number${parsed.country ? ` of ${parsed.country}` : ''}` };
  const type = parsed.getType();
  if (type === undefined || !SMS_CAPABLE.has(type)) {
    return { problem: `the mobile number is ${describeType(type)}, not a mobile number (an SMS cannot reach it)` };
  }
  return { mobile: parsed.number };
}

function describeType(type: string | undefined): string {
  switch (type) {
    case 'FIXED_LINE':
      return 'a landline';
    case 'TOLL_FREE':
      return 'a toll-free number';
    case 'PREMIUM_RATE':
      return 'a premium-rate number';
    case 'VOIP':
      return 'a VoIP number';
    case undefined:
      return 'of no known type';
    default:
      return `a ${type.toLowerCase().replace(/_/g, '-')} number`;
  }
}
