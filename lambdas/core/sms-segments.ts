// How many SMS parts a text takes: what a text costs (each part is billed) and how long
// it takes to send (throughput is counted in message parts per second). GSM 03.38's
// 7-bit alphabet fits 160 characters in one part and 153 in each part of a longer one
// (the rest carries the header that joins them); one character outside it makes the
// whole text UCS-2: 70 characters in one part, 67 in each of several. The extension
// table's characters (€ [ ] { } …) take two septets. AWS End User Messaging SMS, "SMS
// character limits": https://docs.aws.amazon.com/sms-voice/latest/userguide/sms-limitations-character.html

/** GSM 03.38 default alphabet (one septet each). */
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** GSM 03.38 extension table: an escape septet plus one (two septets each). */
const GSM7_EXTENSION = new Set('\f^{}\\[~]|€');

export const SMS_LIMITS = {
  gsm7: { single: 160, perPart: 153 },
  ucs2: { single: 70, perPart: 67 },
} as const;

export type SmsEncoding = keyof typeof SMS_LIMITS;

export interface SmsSize {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  parts: number;
  /** Characters that forced UCS-2 (none for GSM-7), for a message saying what to change. */
  nonGsm: string[];
}

/** The encoding and number of parts of `text`. A character's units are never split across parts. */
export function smsSize(text: string): SmsSize {
  const chars = [...text];
  const nonGsm = [...new Set(chars.filter((c) => !GSM7_BASIC.has(c) && !GSM7_EXTENSION.has(c)))];
  const encoding: SmsEncoding = nonGsm.length === 0 ? 'gsm7' : 'ucs2';
  const costs = chars.map((c) => (encoding === 'gsm7' ? (GSM7_EXTENSION.has(c) ? 2 : 1) : c.length));
  const units = costs.reduce((sum, cost) => sum + cost, 0);
  const limits = SMS_LIMITS[encoding];
  if (units <= limits.single) return { encoding, units, parts: units === 0 ? 0 : 1, nonGsm };
  let parts = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > limits.perPart) {
      parts += 1;
      used = 0;
    }
    used += cost;
  }
  return { encoding, units, parts, nonGsm };
}
