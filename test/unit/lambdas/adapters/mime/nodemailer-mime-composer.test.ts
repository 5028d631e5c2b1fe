// NodemailerMimeComposer: what it builds is read back with mailparser's simpleParser
// (names, subjects, filenames in UTF-8, attachment bytes, threading headers), the raw
// header block is checked for exactly the fields expected, and header-bound values
// that still hold line breaks are refused by the adapter itself.
import { Readable } from 'node:stream';
import { type AddressObject, simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { NodemailerMimeComposer } from '../../../../../lambdas/adapters/mime/nodemailer-mime-composer.ts';
import { InvalidInputError } from '../../../../../lambdas/core/errors.ts';
import type { MimeMessageSpec } from '../../../../../lambdas/ports/mime-composer.ts';
import { headerNames, topLevelHeaders } from '../../../../support/mime-headers.ts';

function spec(overrides: Partial<MimeMessageSpec> = {}): MimeMessageSpec {
  return {
    from: { name: 'Alice Example', address: 'alice@corp.test' },
    to: [{ name: 'Bob', address: 'bob@partner.test' }],
    cc: [],
    subject: 'Hello',
    text: 'Hi Bob\n',
    messageId: '<m1@corp.test>',
    date: new Date('2030-03-01T12:00:00.000Z'),
    inReplyTo: null,
    references: [],
    attachments: [],
    ...overrides,
  };
}

function addresses(value: AddressObject | AddressObject[] | undefined): { name: string; address: string | undefined }[] {
  return (Array.isArray(value) ? value : value ? [value] : []).flatMap((object) =>
    object.value.map(({ name, address }) => ({ name, address })),
  );
}

const composer = new NodemailerMimeComposer();

describe('NodemailerMimeComposer', () => {
  it('encodes UTF-8 names and subjects so that they parse back unchanged and the header block stays ASCII', async () => {
    // Prepare
    const message = spec({
      from: { name: 'Jürgen Müller', address: 'juergen@corp.test' },
      to: [
        { name: 'Zoë Ångström', address: 'zoe@partner.test' },
        { name: '', address: 'plain@partner.test' },
      ],
      cc: [{ name: '山田 太郎', address: 'yamada@partner.test' }],
      subject: 'Grüße aus Köln – Ärger mit Übergrößen 🚚 and a long tail that has to be folded over several lines',
      text: 'Schöne Grüße\nJürgen\n',
    });
    // Act
    const raw = await composer.compose(message);
    const parsed = await simpleParser(raw);
    // Assess
    expect(parsed.subject).toBe(message.subject);
    expect(addresses(parsed.from)).toEqual([{ name: 'Jürgen Müller', address: 'juergen@corp.test' }]);
    expect(addresses(parsed.to)).toEqual([
      { name: 'Zoë Ångström', address: 'zoe@partner.test' },
      { name: '', address: 'plain@partner.test' },
    ]);
    expect(addresses(parsed.cc)).toEqual([{ name: '山田 太郎', address: 'yamada@partner.test' }]);
    expect(parsed.text).toBe('Schöne Grüße\nJürgen\n');
    const headerBlock = raw.subarray(0, raw.indexOf('\r\n\r\n'));
    expect([...headerBlock].every((byte) => byte < 0x80)).toBe(true);
  });

  it('writes CRLF line endings only, whatever line endings the text had', async () => {
    // Prepare
    const message = spec({ text: 'one\ntwo\r\nthree\rfour\n.\nfive' });
    // Act
    const raw = await composer.compose(message);
    const parsed = await simpleParser(raw);
    // Assess
    expect(/(?<!\r)\n/.test(raw.toString('latin1'))).toBe(false);
    expect(/\r(?!\n)/.test(raw.toString('latin1'))).toBe(false);
    expect(parsed.text?.trimEnd()).toBe('one\ntwo\nthree\nfour\n.\nfive');
  });

  it('writes exactly the expected header fields, with Message-ID, Date, In-Reply-To and References as given', async () => {
    // Prepare
    const message = spec({
      cc: [{ name: '', address: 'carol@partner.test' }],
      inReplyTo: '<parent@partner.test>',
      references: ['<root@partner.test>', '<parent@partner.test>'],
    });
    // Act
    const raw = await composer.compose(message);
    const parsed = await simpleParser(raw);
    // Assess
    expect(headerNames(raw).sort()).toEqual(
      [
        'cc',
        'content-transfer-encoding',
        'content-type',
        'date',
        'from',
        'in-reply-to',
        'message-id',
        'mime-version',
        'references',
        'subject',
        'to',
      ].sort(),
    );
    expect(parsed.messageId).toBe('<m1@corp.test>');
    expect(parsed.inReplyTo).toBe('<parent@partner.test>');
    expect(parsed.references).toEqual(['<root@partner.test>', '<parent@partner.test>']);
    expect(parsed.date?.toISOString()).toBe('2030-03-01T12:00:00.000Z');
  });

  it('attaches Buffers and streams byte for byte, with UTF-8 and quote-holding filenames intact', async () => {
    // Prepare
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));
    const streamed = Buffer.from('streamed content\r\nwith lines\n');
    const message = spec({
      attachments: [
        { filename: 'Bericht "final" – Größe.pdf', contentType: 'application/pdf', content: binary },
        {
          filename: "it's; a=test.txt",
          contentType: 'text/plain',
          content: Readable.from([streamed.subarray(0, 5), streamed.subarray(5)]),
        },
      ],
    });
    // Act
    const raw = await composer.compose(message);
    const parsed = await simpleParser(raw);
    // Assess
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.contentDisposition])).toEqual([
      ['Bericht "final" – Größe.pdf', 'application/pdf', 'attachment'],
      ["it's; a=test.txt", 'text/plain', 'attachment'],
    ]);
    expect(parsed.attachments[0]!.content.equals(binary)).toBe(true);
    expect(parsed.attachments[1]!.content.equals(streamed)).toBe(true);
    expect(headerNames(raw).filter((name) => name === 'content-type')).toHaveLength(1);
  });

  it('rejects when an attachment stream fails', async () => {
    // Prepare
    const failing = new Readable({
      read() {
        this.destroy(new Error('S3 connection reset'));
      },
    });
    const message = spec({ attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: failing }] });
    // Act
    const outcome = composer.compose(message);
    // Assess
    await expect(outcome).rejects.toThrow(/S3 connection reset/);
  });

  it("builds a Bcc field for the sender's copy that parses back to the same mailboxes", async () => {
    // Prepare
    const bcc = [
      { name: 'Dörte, Geheim', address: 'doerte@partner.test' },
      { name: '', address: 'x@partner.test' },
    ];
    // Act
    const field = composer.bccField(bcc);
    const parsed = await simpleParser(Buffer.concat([Buffer.from(field), await composer.compose(spec())]));
    // Assess
    expect(field.endsWith('\r\n')).toBe(true);
    expect(field.slice(0, -2)).not.toMatch(/\r\n(?![ \t])/);
    expect(addresses(parsed.bcc)).toEqual([
      { name: 'Dörte, Geheim', address: 'doerte@partner.test' },
      { name: '', address: 'x@partner.test' },
    ]);
  });

  describe('refuses header-bound values that would break out of their header (even without core validation)', () => {
    const cases: [string, Partial<MimeMessageSpec>][] = [
      ['subject with CRLF', { subject: 'Hi\r\nBcc: evil@attacker.test' }],
      ['subject with a bare LF', { subject: 'Hi\nX-Evil: 1' }],
      ['subject with NUL', { subject: 'Hi\u0000there' }],
      ['a display name with CRLF', { to: [{ name: 'Bob\r\nBcc: evil@attacker.test', address: 'bob@partner.test' }] }],
      ['the From name with CRLF', { from: { name: 'Alice\r\nX-Evil: 1', address: 'alice@corp.test' } }],
      ['an address with CRLF', { to: [{ name: '', address: 'bob@partner.test\r\nBcc: evil@attacker.test' }] }],
      ['an address with a comma', { cc: [{ name: '', address: 'bob@partner.test,evil@attacker.test' }] }],
      ['an address with angle brackets', { to: [{ name: '', address: 'bob@partner.test> <evil@attacker.test' }] }],
      [
        'a filename with CRLF',
        { attachments: [{ filename: 'a.txt"\r\nX-Evil: 1', contentType: 'text/plain', content: Buffer.from('x') }] },
      ],
      [
        'a content type with parameters',
        { attachments: [{ filename: 'a.txt', contentType: 'text/plain; name="x"\r\nX-Evil: 1', content: Buffer.from('x') }] },
      ],
      ['an In-Reply-To with CRLF', { inReplyTo: '<a@b>\r\nBcc: evil@attacker.test' }],
      ['a Reference with a space', { references: ['<a@b> <c@d>'] }],
      ['a Message-ID without brackets', { messageId: 'm1@corp.test' }],
    ];
    it.each(cases)('%s', async (_label, overrides) => {
      // Prepare
      const message = spec(overrides);
      // Act
      const outcome = composer.compose(message);
      // Assess
      await expect(outcome).rejects.toBeInstanceOf(InvalidInputError);
    });

    it('a Bcc name with CRLF', () => {
      // Prepare
      const bcc = [{ name: 'x\r\nTo: evil@attacker.test', address: 'x@partner.test' }];
      // Act
      const attempt = () => composer.bccField(bcc);
      // Assess
      expect(attempt).toThrow(InvalidInputError);
    });
  });

  it('never writes a header for values that only look like headers (quotes, colons, semicolons)', async () => {
    // Prepare
    const message = spec({
      subject: 'Bcc: evil@attacker.test; To: x@y.test',
      to: [{ name: 'evil@attacker.test, "x" <y@z.test>', address: 'bob@partner.test' }],
    });
    // Act
    const raw = await composer.compose(message);
    const parsed = await simpleParser(raw);
    // Assess
    expect(headerNames(raw).filter((name) => ['to', 'bcc', 'cc'].includes(name))).toEqual(['to']);
    expect(addresses(parsed.to)).toEqual([{ name: 'evil@attacker.test, "x" <y@z.test>', address: 'bob@partner.test' }]);
    expect(parsed.subject).toBe('Bcc: evil@attacker.test; To: x@y.test');
    expect(topLevelHeaders(raw).find((h) => h.name === 'Subject')?.value).toBeDefined();
  });
});
