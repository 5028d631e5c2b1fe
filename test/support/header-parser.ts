// A MimeParser for use-case tests: reads only the top-level header block (unfolded),
// enough for ingest to index subject, From, Message-ID and our forward stamps.
import type { Readable } from 'node:stream';
import { FORWARD_STAMP_HEADER, type MessageSummary } from '../../lambdas/core/model.ts';
import type { MimeParser } from '../../lambdas/ports/mime-parser.ts';

export const headerBlockParser: MimeParser = {
  async summarize(raw: Readable): Promise<MessageSummary> {
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(Buffer.from(chunk as Buffer));
    const text = Buffer.concat(chunks).toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    const fields = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/);
    const all = (name: string) =>
      fields.filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((line) => line.slice(name.length + 1).trim());
    return {
      from: all('From'),
      to: all('To'),
      cc: [],
      replyTo: [],
      subject: all('Subject')[0] ?? '',
      date: null,
      messageIdHeader: all('Message-ID')[0] ?? null,
      inReplyTo: null,
      references: [],
      snippet: '',
      hasHtml: false,
      attachments: [],
      forwardStamps: all(FORWARD_STAMP_HEADER),
      parseError: null,
    };
  },
};

/** A small RFC 5322 message; CRLF line ends. */
export function sampleMessage(n: number, options: { subject?: string; to?: string; body?: string } = {}): Buffer {
  return Buffer.from(
    [
      'From: Partner <partner@ext.example>',
      `To: ${options.to ?? 'alice@corp.test'}`,
      `Subject: ${options.subject ?? `Message ${n}`}`,
      `Message-ID: <m${n}@ext.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      options.body ?? `Body of message ${n}.\r\n.leading dot\r\n\xe4 8-bit\r\n`,
    ].join('\r\n'),
    'latin1',
  );
}
