// What a failover notice says, by SMS and by mail: where the webmail is and how to sign in
// when failover goes on, "use Outlook again" when it goes off. The configuration names no
// language, so every notice is German and English, like the webmail's two languages
// (web/i18n). SMS texts keep to GSM-7 (one part = 160 characters, two = 306) so a notice
// is one or two parts; the admin's own message goes along only when it still fits.
import { smsSize } from './sms-segments.ts';

export type NoticeDirection = 'on' | 'off';

/** A notice SMS never takes more parts than this (each part is billed and throttled). */
export const MAX_NOTICE_SMS_PARTS = 2;

/** The button on the sign-in page staff are told to choose (web/i18n, the localidp and cognito sign-in pages). */
export const CODE_SIGN_IN_LABEL = { de: 'Mit Code per SMS anmelden', en: 'Sign in with a code by text message' } as const;

export interface NoticeTextInput {
  direction: NoticeDirection;
  /** The webmail's address as staff type it: https://mail.corp.example/ */
  webmailUrl: string;
  /** The admin's failover message (the status page's), may be empty. */
  message: string;
}

export interface SmsNoticeText {
  text: string;
  parts: number;
  encoding: 'gsm7' | 'ucs2';
  /** Whether the admin's message fitted into the SMS (it is always in the mail and on the status page). */
  includesMessage: boolean;
}

export interface MailNoticeText {
  subject: string;
  text: string;
}

export function smsNoticeText(input: NoticeTextInput): SmsNoticeText {
  const base =
    input.direction === 'on'
      ? [
          input.webmailUrl,
          `E-Mail-Störung: Ihre Mail ist im Webmail oben. '${CODE_SIGN_IN_LABEL.de}' wählen, Arbeitsadresse eingeben.`,
          `Mail outage: your mail is in the webmail above. Choose '${CODE_SIGN_IN_LABEL.en}', enter your work address.`,
        ].join('\n')
      : [
          'E-Mail wieder normal: bitte wieder Outlook nutzen. Im Webmail gesendete Mails liegen dort unter Gesendet.',
          'Mail is back: use Outlook again. Mail you sent in the webmail is in its Sent folder.',
        ].join('\n');
  const message = oneLine(input.message);
  if (input.direction === 'on' && message !== '') {
    const withMessage = `${base}\n${message}`;
    const size = smsSize(withMessage);
    if (size.parts <= MAX_NOTICE_SMS_PARTS) return { text: withMessage, parts: size.parts, encoding: size.encoding, includesMessage: true };
  }
  const size = smsSize(base);
  return { text: base, parts: size.parts, encoding: size.encoding, includesMessage: false };
}

export function mailNoticeText(input: NoticeTextInput): MailNoticeText {
  const message = input.message.trim();
  if (input.direction === 'on') {
    return {
      subject: 'E-Mail-Störung: Webmail geöffnet / Mail outage: webmail open',
      text: [
        'Unser E-Mail-System (Exchange/Outlook) ist gestört. Ihre Mail können Sie bis dahin im Webmail lesen und beantworten:',
        '',
        `    ${input.webmailUrl}`,
        '',
        `Zum Anmelden "${CODE_SIGN_IN_LABEL.de}" wählen und Ihre Arbeitsadresse eingeben; der Code kommt per SMS an die Handynummer, die die Firma von Ihnen hat.`,
        ...(message ? ['', 'Nachricht der IT:', message] : []),
        '',
        '----',
        '',
        'Our mail system (Exchange/Outlook) is down. Until it is back, read and answer your mail in the webmail:',
        '',
        `    ${input.webmailUrl}`,
        '',
        `To sign in, choose "${CODE_SIGN_IN_LABEL.en}" and enter your work address; the code comes by text message to the mobile number the company has for you.`,
        ...(message ? ['', 'Message from IT:', message] : []),
        '',
        '-- ',
        'Diese Nachricht geht an Ihre private Adresse, weil die Firmenadresse gerade nicht erreichbar ist.',
        'This message goes to your private address because the company address cannot be reached right now.',
        '',
      ].join('\n'),
    };
  }
  return {
    subject: 'E-Mail wieder normal / Mail is back',
    text: [
      'Unser E-Mail-System ist wieder da: bitte wieder Outlook nutzen.',
      'Was Sie im Webmail gesendet haben, liegt dort im Ordner "Gesendet".',
      '',
      '----',
      '',
      'Our mail system is back: please use Outlook again.',
      'Mail you sent in the webmail is in its "Sent" folder.',
      '',
    ].join('\n'),
  };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
