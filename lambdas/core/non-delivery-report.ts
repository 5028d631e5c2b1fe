// The delivery status notification (RFC 3464) a sender gets when the primary refused a
// recipient for good: multipart/report with a human part in German and English, the
// machine-readable message/delivery-status, and the original headers only
// (text/rfc822-headers, RFC 6522) — never the body, so a report cannot carry spam on.
// Pure: the caller gives the date, the ids and the boundary; the bytes go out from the
// null sender (RFC 5321 §4.5.5), so no report can ever be answered by another.

export interface FailedRecipient {
  recipient: string;
  /** RFC 3463 status, e.g. `5.1.1`. */
  status: string;
  /** The primary's reply (`smtp;` diagnostic), or null when shadowmail itself did not relay. */
  diagnostic: string | null;
  /** One line for people: why the message did not reach this recipient. */
  explanation: string;
}

/** What a report says, whoever writes the bytes (this builder locally, SES's SendBounce in AWS). */
export interface NonDeliveryReport {
  /** Our MTA's host name (Reporting-MTA). */
  reportingMta: string;
  /** The report's From: MAILER-DAEMON at one of our domains. */
  postmaster: string;
  /** The envelope sender of the refused message: the report's only recipient. */
  sender: string;
  sesMessageId: string;
  arrivalDate: Date;
  originalSubject: string;
  recipients: FailedRecipient[];
  /** The refused message's header block as stored (lines, without the blank line that ends it). */
  originalHeaders: string;
}

export interface NonDeliveryReportInput extends NonDeliveryReport {
  date: Date;
  messageId: string;
  boundary: string;
}

const LINE_LIMIT = 900;

/** The status a reply names (`550 5.1.1 …` → 5.1.1), else the reply's class (5.0.0). */
export function statusOfReply(code: number, response: string): string {
  const enhanced = /(?:^|[\s-])([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(response);
  if (enhanced && enhanced[1]!.startsWith(String(Math.floor(code / 100)))) return enhanced[1]!;
  return code >= 400 && code < 600 ? `${Math.floor(code / 100)}.0.0` : '5.0.0';
}

export function buildNonDeliveryReport(input: NonDeliveryReportInput): string {
  for (const address of [input.sender, input.postmaster, ...input.recipients.map((r) => r.recipient)]) {
    if (!/^[^\s<>"]+@[^\s<>"@]+$/.test(address)) throw new Error(`not an address a report can name: ${JSON.stringify(address)}`);
  }
  const b = input.boundary;
  const lines = [
    `From: Mail Delivery System <${input.postmaster}>`,
    `To: <${input.sender}>`,
    `Subject: ${encodedWord(`Unzustellbar / Undeliverable: ${oneLine(input.originalSubject)}`)}`,
    `Date: ${input.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${input.messageId}>`,
    // RFC 3834: an automatic message; well-behaved responders do not answer it.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    '',
    'This is a MIME-encapsulated delivery status notification (RFC 3464).',
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    ...base64Lines(nonDeliveryText(input)),
    '',
    `--${b}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${input.reportingMta}`,
    `X-Shadowmail-Message-ID: ${oneLine(input.sesMessageId)}`,
    `Arrival-Date: ${input.arrivalDate.toUTCString().replace('GMT', '+0000')}`,
    ...input.recipients.flatMap((r) => [
      '',
      `Final-Recipient: rfc822; ${r.recipient}`,
      'Action: failed',
      `Status: ${r.status}`,
      ...(r.diagnostic ? [`Diagnostic-Code: smtp; ${oneLine(r.diagnostic)}`] : []),
    ]),
    '',
    `--${b}`,
    'Content-Type: text/rfc822-headers',
    ...(/\P{ASCII}/u.test(input.originalHeaders) ? ['Content-Transfer-Encoding: 8bit'] : []),
    '',
    ...input.originalHeaders.split(/\r?\n/).filter((line) => !line.startsWith(`--${b}`)),
    '',
    `--${b}--`,
    '',
  ];
  return lines.join('\r\n');
}

/** The part for people, German first, then English. */
export function nonDeliveryText(input: NonDeliveryReport): string {
  const list = (pick: (r: FailedRecipient) => string) => input.recipients.map((r) => `  <${r.recipient}>: ${pick(r)}`).join('\n');
  return [
    'Ihre Nachricht konnte nicht zugestellt werden.',
    '',
    `Betreff: ${oneLine(input.originalSubject)}`,
    'Diese Empfänger wurden endgültig abgelehnt:',
    list((r) => r.explanation),
    '',
    'Bitte prüfen Sie die Adresse und senden Sie die Nachricht gegebenenfalls erneut.',
    '',
    '----',
    '',
    'Your message could not be delivered.',
    '',
    `Subject: ${oneLine(input.originalSubject)}`,
    'These recipients were refused permanently:',
    list((r) => r.explanation),
    '',
    'Please check the address and send the message again if needed.',
    '',
  ].join('\n');
}

/** Header-safe: control characters (CR, LF) become spaces, and the line stays within SMTP's limit. */
function oneLine(text: string): string {
  return text
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, LINE_LIMIT);
}

/** RFC 2047 for a header value that is not plain ASCII. */
function encodedWord(text: string): string {
  if (!/[^\x20-\x7e]/.test(text)) return text;
  const words: string[] = [];
  let chunk = '';
  for (const char of text) {
    if (Buffer.byteLength(chunk + char) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word).toString('base64')}?=`).join('\r\n ');
}

function base64Lines(text: string): string[] {
  const encoded = Buffer.from(text.replace(/\n/g, '\r\n')).toString('base64');
  return encoded.match(/.{1,76}/g) ?? [];
}
