// MailparserMimeParser against hand-written fixtures (test/fixtures/mime): what
// ingest indexes from a message, how broken input degrades, and that errors of
// the source stream reach ingest unchanged so the message is retried, not lost.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  htmlToPlain,
  MailparserMimeParser,
  SNIPPET_LENGTH,
  snippetOfText,
} from '../../../../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { MimeParseError, RetryableError } from '../../../../../lambdas/core/errors.ts';
import type { MessageSummary } from '../../../../../lambdas/core/model.ts';
import { oneLine } from '../../../../../lambdas/core/text.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../../fixtures/mime');
const parser = new MailparserMimeParser({ inactivityTimeoutMs: 10_000 });

function summarizeFixture(name: string): Promise<MessageSummary> {
  return parser.summarize(createReadStream(join(fixtures, name)));
}

/** Settles with whatever summarize() did, so a test can assert on a rejection's exact type. */
async function outcomeOf(promise: Promise<MessageSummary>): Promise<{ summary?: MessageSummary; error?: unknown }> {
  try {
    return { summary: await promise };
  } catch (error) {
    return { error };
  }
}

describe('MailparserMimeParser', () => {
  it('summarizes a plain message with every header the index uses', async () => {
    // Prepare: plain.eml has display names, a quoted name with a comma, Reply-To and folded References.

    // Act
    const summary = await summarizeFixture('plain.eml');

    // Assess
    expect(summary).toEqual({
      from: ['Erika Mustermann <erika@sender.example>'],
      to: ['Max Muster <max@corp.test>', 'team@corp.test'],
      cc: ['"Doe, John" <john.doe@corp.test>'],
      replyTo: ['replies@sender.example'],
      subject: 'Quarterly figures',
      date: '2025-03-04T09:15:00.000Z',
      messageIdHeader: '<plain-1@sender.example>',
      inReplyTo: '<earlier-2@corp.test>',
      references: ['<root-1@corp.test>', '<earlier-2@corp.test>'],
      snippet: 'Hello Max, the quarterly figures are attached to the next mail. Regards, Erika',
      hasHtml: false,
      attachments: [],
      forwardStamps: [],
      parseError: null,
    } satisfies MessageSummary);
  });

  it('measures attachments by their decoded size and prefers the text alternative for the snippet', async () => {
    // Prepare: multipart/mixed with text+html alternative, a 1000-byte PDF and a 589-byte CSV (both base64).

    // Act
    const summary = await summarizeFixture('multipart-attachments.eml');

    // Assess
    expect(summary.attachments).toEqual([
      { filename: 'report.pdf', contentType: 'application/pdf', size: 1000, contentId: null, inline: false },
      { filename: 'items.csv', contentType: 'text/csv', size: 589, contentId: null, inline: false },
    ]);
    expect(summary.hasHtml).toBe(true);
    expect(summary.snippet).toBe('Two reports are attached: a PDF and a CSV.');
    expect(summary.parseError).toBeNull();
  });

  it('reports an inline cid image as an inline attachment and takes the snippet from the HTML', async () => {
    // Prepare: multipart/related, quoted-printable HTML (head, style, title, entity) and a 408-byte PNG.

    // Act
    const summary = await summarizeFixture('inline-cid.eml');

    // Assess
    expect(summary.attachments).toEqual([
      { filename: null, contentType: 'image/png', size: 408, contentId: 'logo@sender.example', inline: true },
    ]);
    expect(summary.hasHtml).toBe(true);
    expect(summary.snippet).toBe('Welcome to the newsletter – enjoy it!');
  });

  it('decodes encoded-word headers, a body charset and an RFC 2231 file name', async () => {
    // Prepare: ISO-8859-1 Q and UTF-8 B encoded words, a latin-1 QP body, filename*=UTF-8''.

    // Act
    const summary = await summarizeFixture('encoded-words.eml');

    // Assess
    expect(summary.from).toEqual(['"Müller, Jörg" <joerg@sender.example>']);
    expect(summary.to).toEqual(['Ängström <aengstroem@corp.test>']);
    expect(summary.subject).toBe('Grüße aus Köln – Teil 2');
    expect(summary.snippet).toBe('Grüße aus Köln.');
    expect(summary.date).toBe('2025-03-07T06:30:00.000Z');
    expect(summary.attachments).toHaveLength(1);
    expect(summary.attachments[0]).toMatchObject({ filename: 'Prüfbericht 2025.txt', size: 5 });
  });

  it('indexes attachment names without invisible formatting, and subject and From without bidi controls', async () => {
    // Prepare: the invoice<U+202E>fdp.exe (RFC 2231), a name of only invisible characters,
    // a subject with an override and an isolate, a display name with an override.
    const raw = Buffer.from(
      [
        'From: =?UTF-8?Q?Bank_=E2=80=AEknaB?= <phish@sender.example>',
        'To: max@corp.test',
        'Subject: =?UTF-8?Q?Rechnung_=E2=80=AEfdp.exe_=E2=81=A6ok=E2=81=A9?=',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'see attachments',
        '--b',
        'Content-Type: application/octet-stream',
        "Content-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe",
        '',
        'x',
        '--b',
        'Content-Type: application/octet-stream',
        "Content-Disposition: attachment; filename*=UTF-8''%E2%80%AE%E2%80%8B%EF%BB%BF",
        '',
        'y',
        '--b--',
        '',
      ].join('\r\n'),
    );

    // Act
    const summary = await parser.summarize(Readable.from([raw]));

    // Assess
    expect(summary.attachments.map((a) => a.filename)).toEqual(['invoicefdp.exe', null]);
    expect(summary.subject).toBe('Rechnung fdp.exe ok');
    expect(summary.from).toEqual(['Bank knaB <phish@sender.example>']);
  });

  it('flattens groups into their members, drops empty groups and keeps an unparseable Date as null', async () => {
    // Prepare: groups.eml has a named group, an empty group in Cc, an obs-phrase name and a bogus Date.

    // Act
    const summary = await summarizeFixture('groups.eml');

    // Assess
    expect(summary.from).toEqual(['"Sandy M." <sandy@sender.example>']);
    expect(summary.to).toEqual(['anna@corp.test', '"Berg, Bernd" <bernd@corp.test>', 'carl@corp.test']);
    expect(summary.cc).toEqual([]);
    expect(summary.date).toBeNull();
  });

  it('gives empty values, never undefined, when the usual headers are missing', async () => {
    // Prepare: only X-Mailer and Content-Type.

    // Act
    const summary = await summarizeFixture('missing-headers.eml');

    // Assess
    expect(summary).toMatchObject({
      from: [],
      to: [],
      cc: [],
      replyTo: [],
      subject: '',
      date: null,
      messageIdHeader: null,
      inReplyTo: null,
      references: [],
      snippet: 'A message without From, To, Subject, Date or Message-ID.',
      parseError: null,
    });
    expect(Object.values(summary)).not.toContain(undefined);
  });

  it('keeps the headers of a message with NUL bytes and strips them from subject and snippet', async () => {
    // Prepare: NUL inside the Subject and the body.

    // Act
    const summary = await summarizeFixture('nul-bytes.eml');

    // Assess
    expect(summary.from).toEqual(['nul@sender.example']);
    expect(summary.subject).toBe('zerobyte');
    expect(summary.messageIdHeader).toBe('<nul-1@sender.example>');
    expect(summary.snippet).toBe('before after end');
  });

  it('reads the headers of a message that has no header/body separator', async () => {
    // Prepare: three header lines, no blank line, no final line break.

    // Act
    const summary = await summarizeFixture('no-separator.eml');

    // Assess
    expect(summary.from).toEqual(['nobody@sender.example']);
    expect(summary.subject).toBe('headers only, no blank line, no body');
    expect(summary.snippet).toBe('');
  });

  it('rejects garbage bytes and empty input with MimeParseError (ingest then indexes what SES knows)', async () => {
    // Prepare: 4 KiB of noise without any header line, and an empty stream.
    const garbage = await readFile(join(fixtures, 'garbage.eml'));

    // Act
    const fromGarbage = await outcomeOf(parser.summarize(Readable.from([garbage])));
    const fromNothing = await outcomeOf(parser.summarize(Readable.from([])));

    // Assess
    expect(fromGarbage.error).toBeInstanceOf(MimeParseError);
    expect(fromNothing.error).toBeInstanceOf(MimeParseError);
  });

  it('collects every X-Shadowmail-Forwarded value for loop detection', async () => {
    // Prepare: forwarded.eml carries two stamps from two stacks.

    // Act
    const summary = await summarizeFixture('forwarded.eml');

    // Assess
    expect(summary.forwardStamps).toEqual([
      'shadowmail-prod; id=0000abc; Mon, 10 Mar 2025 10:00:00 GMT',
      'other-stack; id=0000def; Mon, 10 Mar 2025 09:59:00 GMT',
    ]);
  });

  it('turns an HTML-only message into snippet text without script, comments or markup', async () => {
    // Prepare: html-only.eml has a script holding markup, a comment and named/numeric entities.

    // Act
    const summary = await summarizeFixture('html-only.eml');

    // Assess
    expect(summary.hasHtml).toBe(true);
    expect(summary.snippet).toBe('Café & Bar™ open!');
  });

  it('takes the snippet of an HTML-only message from its visible text, not from attribute values', async () => {
    // Prepare: the leak of issue 16: a '>' inside a quoted attribute ended the tag early.
    const raw = [
      'From: a@sender.example',
      'To: bob@corp.test',
      'Subject: Attr',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<div title="Payroll > do not share"><span data-note="x>y">Hello Bob</span>, see you.</div>',
      '',
    ].join('\r\n');

    // Act
    const summary = await parser.summarize(Readable.from([Buffer.from(raw)]));

    // Assess
    expect(summary.snippet).toBe('Hello Bob, see you.');
  });

  it('rejects with the source stream error itself when the source fails mid-way', async () => {
    // Prepare: half of a real message, then a connection reset like an S3 body stream gives.
    const bytes = await readFile(join(fixtures, 'multipart-attachments.eml'));
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const source = new Readable({ read() {} });
    source.push(bytes.subarray(0, Math.floor(bytes.length / 2)));
    setTimeout(() => source.destroy(reset), 20);

    // Act
    const outcome = await outcomeOf(parser.summarize(source));

    // Assess
    expect(outcome.error).toBe(reset);
    expect(outcome.error).not.toBeInstanceOf(MimeParseError);
  });

  it('gives up with a RetryableError when the source stalls, instead of hanging', async () => {
    // Prepare: a source that sends headers and then nothing, and a short timeout.
    const stalled = new Readable({ read() {} });
    stalled.push('From: a@sender.example\r\nSubject: stalled\r\n\r\nbody');
    const impatient = new MailparserMimeParser({ inactivityTimeoutMs: 200 });

    // Act
    const outcome = await outcomeOf(impatient.summarize(stalled));

    // Assess
    expect(outcome.error).toBeInstanceOf(RetryableError);
    expect(stalled.destroyed).toBe(true);
  });

  it('keeps the headers and reports a parseError when mailparser fails after them', async () => {
    // Prepare: the second part has a header block over mailparser's 1 MB limit.
    const message = [
      'From: big@sender.example',
      'To: max@corp.test',
      'Subject: oversized part header',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'first part',
      '--b',
      'Content-Type: text/plain',
      ...Array.from({ length: 12_000 }, (_, i) => `X-Filler-${i}: ${'x'.repeat(90)}`),
      '',
      'second part',
      '--b--',
      '',
    ].join('\r\n');

    // Act
    const summary = await parser.summarize(Readable.from([Buffer.from(message)]));

    // Assess
    expect(summary.subject).toBe('oversized part header');
    expect(summary.from).toEqual(['big@sender.example']);
    expect(summary.parseError).toMatch(/^mailparser: .*header size/i);
  });

  it('keeps the snippet short and correct when the text body is far larger than what is kept', async () => {
    // Prepare: a 3 MB text body: more than the text budget, which must only cut what is never shown.
    const line = 'All work and no play makes Jack a dull boy.\r\n';
    const message = Buffer.from(`From: jack@sender.example\r\nSubject: long\r\n\r\n${line.repeat(70_000)}`);

    // Act
    const summary = await parser.summarize(Readable.from([message]));

    // Assess
    expect(summary.snippet.length).toBe(SNIPPET_LENGTH);
    expect(summary.snippet.startsWith('All work and no play makes Jack a dull boy. All work')).toBe(true);
    expect(summary.parseError).toBeNull();
  });

  it('reads the snippet from a prefix of the text yet gives what the whole text would', () => {
    // Prepare: bodies whose first words sit behind long runs of blanks and controls, with
    // emoji (surrogate pairs) and runs of spaces at every offset around the prefix's edges.
    const wholeTextSnippet = (text: string) =>
      Array.from(oneLine(text).slice(0, SNIPPET_LENGTH * 2))
        .slice(0, SNIPPET_LENGTH)
        .join('')
        .trim();
    let seed = 18;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pieces = ['word ', '\r\n', '\t', '   ', '😀', 'ß', '\u0000', '\u007f', 'x'];
    const texts = [
      `${'\r\n'.repeat(50_000)}Hello after fifty thousand blank lines`,
      `${' '.repeat(799)}😀${'a'.repeat(1000)}`,
      `${'b'.repeat(799)}😀${'c'.repeat(1000)}`,
      `${'d'.repeat(400)}${' '.repeat(5000)}e`,
      `${'😀'.repeat(150)}${' '.repeat(1000)}${'f'.repeat(100)}`,
      '',
      ' \r\n ',
    ];
    for (let i = 0; i < 300; i++) {
      const length = Math.floor(next() * 3000);
      let text = '';
      while (text.length < length) text += pieces[Math.floor(next() * pieces.length)]!;
      texts.push(text);
    }

    // Act and assess
    for (const text of texts) expect(snippetOfText(text)).toBe(wholeTextSnippet(text));
  });

  it('counts the full size of an attachment even after the text budget is used up', async () => {
    // Prepare: 2 MB of text first (budget exhausted), then a 3 MB base64 attachment.
    const payload = Buffer.alloc(3 * 1024 * 1024, 0x41);
    const base64 = payload.toString('base64').replace(/.{76}/g, '$&\r\n');
    const message = Buffer.from(
      [
        'From: a@sender.example',
        'Content-Type: multipart/mixed; boundary="m"',
        '',
        '--m',
        'Content-Type: text/plain',
        '',
        'z'.repeat(80).concat('\r\n').repeat(25_000),
        '--m',
        'Content-Type: application/octet-stream; name="blob.bin"',
        'Content-Transfer-Encoding: base64',
        '',
        base64,
        '--m--',
        '',
      ].join('\r\n'),
    );

    // Act
    const summary = await parser.summarize(Readable.from([message]));

    // Assess
    expect(summary.attachments).toEqual([
      { filename: 'blob.bin', contentType: 'application/octet-stream', size: payload.length, contentId: null, inline: false },
    ]);
  });
});

describe('htmlToPlain', () => {
  it('keeps only visible text: an attribute holding > or quotes never reaches the snippet', () => {
    // Prepare: attribute values with '>' inside (quoted both ways), an unquoted one, and a '>' in visible text.
    const html =
      '<p title="Confidential > salary list 2026" data-x=\'a > b <i>hidden</i>\'>Visible <img alt="Q3 > secret" src=x>text</p>' +
      '<a href=https://x.example/?a=1>link</a> 3 &gt; 2';

    // Act
    const text = htmlToPlain(html).replace(/\s+/g, ' ').trim();

    // Assess
    expect(text).toBe('Visible text link 3 > 2');
  });

  it('stays linear on hostile markup: unclosed tags, comments and skipped elements', () => {
    // Prepare: inputs that make naive regex strippers backtrack quadratically.
    const hostile = ['<head'.repeat(20_000), '<!--'.repeat(20_000), '<script>'.repeat(20_000), '<a '.repeat(20_000)];

    // Act
    const started = performance.now();
    const results = hostile.map((html) => htmlToPlain(html));
    const elapsed = performance.now() - started;

    // Assess
    expect(results.every((text) => typeof text === 'string')).toBe(true);
    expect(elapsed).toBeLessThan(1_000);
  });
});
