// The mail the relay benchmarks send: a fixed rotation of ordinary business-mail
// shapes (short text, text+HTML newsletter-ish, text with a PDF-sized attachment),
// each with a unique Message-ID by which the delivered copy is recognised.
import { randomBytes } from 'node:crypto';

export type MessageShape = 'plain' | 'html' | 'attachment';

/** Two short mails, two HTML mails, one with a ~150 KB attachment: mean ≈ 45 KB. */
export const ROTATION: MessageShape[] = ['plain', 'html', 'plain', 'html', 'attachment'];

export const BENCH_FROM = 'partner@sender.example';
export const BENCH_TO = 'alice@corp.test';

/** Words of ordinary business mail, German and English; the drill adds its own. */
export const PROSE_WORDS = [
  'invoice',
  'Lieferung',
  'meeting',
  'quarter',
  'Straße',
  'server',
  'report',
  'update',
  'Grüße',
  'budget',
  'order',
  'delivery',
];

/** Lines of words, at least `bytes` long, the same for the same seed. */
export function prose(
  seed: number,
  bytes: number,
  options: { words?: readonly string[]; wordsPerLine?: number; first?: string } = {},
): string {
  const words = options.words ?? PROSE_WORDS;
  const lines = options.first === undefined ? [] : [options.first];
  let size = options.first?.length ?? 0;
  for (let line = 0; size < bytes; line++) {
    const text = Array.from({ length: options.wordsPerLine ?? 11 }, (_, i) => words[(seed + line * 7 + i * 3) % words.length]).join(' ');
    lines.push(text);
    size += Buffer.byteLength(text) + 2;
  }
  return lines.join('\r\n');
}

// One attachment body for all messages: generating 150 KB of randomness per
// message would cost the load generator time it needs for keeping its rate.
const ATTACHMENT_B64 = randomBytes(150 * 1024)
  .toString('base64')
  .replace(/.{76}/g, '$&\r\n');

export function messageId(run: string, seq: number): string {
  return `bench-${run}-${seq}@sender.example`;
}

export function benchMessage(run: string, seq: number): { raw: Buffer; messageId: string; shape: MessageShape } {
  const shape = ROTATION[seq % ROTATION.length]!;
  const id = messageId(run, seq);
  const head = [
    'From: Partner Sales <partner@sender.example>',
    'To: Alice Example <alice@corp.test>',
    `Subject: ${run} #${seq}: Lieferung und Rechnung`,
    'Date: Tue, 04 Mar 2025 10:15:00 +0000',
    `Message-ID: <${id}>`,
    'MIME-Version: 1.0',
  ];
  let body: string[];
  if (shape === 'plain') {
    body = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', prose(seq, 2_000), ''];
  } else if (shape === 'html') {
    const text = prose(seq, 4_000);
    const html = `<html><head><style>p{font-family:sans-serif}</style></head><body>${text
      .split('\r\n')
      .map((line) => `<p>${line}</p>`)
      .join('\r\n')}</body></html>`;
    body = [
      'Content-Type: multipart/alternative; boundary="alt-boundary"',
      '',
      '--alt-boundary',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      text,
      '--alt-boundary',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      html,
      '--alt-boundary--',
      '',
    ];
  } else {
    body = [
      'Content-Type: multipart/mixed; boundary="mixed-boundary"',
      '',
      '--mixed-boundary',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      prose(seq, 1_000),
      '--mixed-boundary',
      'Content-Type: application/pdf; name="Rechnung.pdf"',
      'Content-Disposition: attachment; filename="Rechnung.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      ATTACHMENT_B64,
      '--mixed-boundary--',
      '',
    ];
  }
  return { raw: Buffer.from([...head, ...body].join('\r\n')), messageId: id, shape };
}

/** The Message-ID in the first header block of a delivered file (trace fields may precede it). */
export function findMessageId(head: Buffer): string | null {
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const headers = end >= 0 ? text.slice(0, end) : text;
  return /^Message-ID:[ \t]*<([^>\r\n]+)>/im.exec(headers)?.[1] ?? null;
}
