// MailparserMessageRenderer on hand-written fixtures (test/fixtures/render): what
// the webmail shows of a message, that attachment numbers and bytes agree between
// render() and openAttachment(), that bodies are cut at the budget, that a 40 MB
// message renders in bounded memory (measured in a child process of its own), and
// how stalled sources, slow readers and readers that go away are handled.
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MailparserMessageRenderer } from '../../../../../lambdas/adapters/mime/mailparser-message-renderer.ts';
import { MimeParseError, RetryableError } from '../../../../../lambdas/core/errors.ts';
import type { RenderedAttachment, RenderedMessage, RenderOptions } from '../../../../../lambdas/ports/message-renderer.ts';
import { writeLargeMessage } from '../../../../support/measure-ingest-rss.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '../../../../fixtures/render');
const projectRoot = resolve(here, '../../../../..');
const renderer = new MailparserMessageRenderer({ inactivityTimeoutMs: 10_000 });
const blocked: RenderOptions = { allowRemote: false, cidUrl: (cid) => `/m/42/cid/${encodeURIComponent(cid)}` };

function fixture(name: string): Readable {
  return createReadStream(join(fixtures, name));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** A source that counts the bytes taken from it. */
function counted(bytes: Buffer, chunkSize = 16 * 1024): { stream: Readable; taken: () => number } {
  let taken = 0;
  const stream = Readable.from(
    (function* pieces() {
      for (let at = 0; at < bytes.length; at += chunkSize) {
        const piece = bytes.subarray(at, at + chunkSize);
        taken += piece.length;
        yield piece;
      }
    })(),
  );
  return { stream, taken: () => taken };
}

function message(headers: string[], body: string): Buffer {
  return Buffer.from([...headers, '', body].join('\r\n'));
}

/** multipart/mixed: a short text, then attachments of the given sizes (base64). */
function withAttachments(sizes: number[]): Buffer {
  const parts = sizes.map((size, index) =>
    [
      '--b',
      `Content-Type: application/octet-stream; name="part-${index}.bin"`,
      'Content-Disposition: attachment',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.alloc(size, index + 1)
        .toString('base64')
        .replace(/.{76}/g, '$&\r\n'),
    ].join('\r\n'),
  );
  return message(
    ['From: a@sender.example', 'To: max@corp.test', 'Subject: parts', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"'],
    ['--b', 'Content-Type: text/plain', '', 'see attachments', ...parts, '--b--', ''].join('\r\n'),
  );
}

describe('MailparserMessageRenderer.render', () => {
  it('renders a text message with decoded headers and an encoded-word subject', async () => {
    // Prepare: text.eml has encoded words in From and Subject, Cc, Reply-To, folded References.

    // Act
    const rendered = await renderer.render(fixture('text.eml'), blocked);

    // Assess
    expect(rendered).toEqual({
      from: ['Jürgen Müller <juergen@sender.example>'],
      to: ['Max Muster <max@corp.test>', '"Doe, Jane" <jane@corp.test>'],
      cc: ['team@corp.test'],
      replyTo: ['replies@sender.example'],
      subject: 'Grüße aus Köln – Termin',
      date: '2025-03-04T09:15:00.000Z',
      messageIdHeader: '<text-1@sender.example>',
      inReplyTo: '<earlier-1@corp.test>',
      references: ['<root-1@corp.test>', '<earlier-1@corp.test>'],
      text: 'Hallo Max,\n\ndie Unterlagen <für> morgen & übermorgen liegen bereit.\nSiehe https://intranet.corp.test/docs?a=1&b=2\n\nGrüße\nJürgen\n',
      html: null,
      remoteContentBlocked: false,
      attachments: [],
      truncated: false,
    } satisfies RenderedMessage);
  });

  it('sanitizes an HTML-only message, blocks its remote content and derives the text', async () => {
    // Prepare: html-only.eml has <script>, onclick, javascript: link, a remote pixel, CSS url() and @import.

    // Act
    const rendered = await renderer.render(fixture('html-only.eml'), blocked);

    // Assess
    const html = rendered.html ?? '';
    expect(html).toContain('<h1>Spring sale</h1>');
    expect(html).toContain('<a href="https://shop.example/sale" target="_blank" rel="noopener noreferrer nofollow">visit the shop</a>');
    expect(html).toContain('<td>Cell one</td>');
    expect(html).toContain('<style>body{color:#222;}.hero{background:none;}</style>');
    for (const gone of ['<script', 'alert', 'onclick', 'javascript', 'tracker.example', '@import', '<title', 'Newsletter title']) {
      expect(html).not.toContain(gone);
    }
    expect(rendered.remoteContentBlocked).toBe(true);
    expect(rendered.text).toBe('Spring sale\n\nEverything & more – visit the shop or this.\n\nCell one\tCell two');
    expect(rendered.truncated).toBe(false);
  });

  it('lets remote images and backgrounds load when remote content is allowed', async () => {
    // Act
    const rendered = await renderer.render(fixture('html-only.eml'), { ...blocked, allowRemote: true });

    // Assess: the pixel and the CSS background stay; script and @import do not.
    expect(rendered.remoteContentBlocked).toBe(false);
    expect(rendered.html).toContain('<img width="1" height="1" alt="" src="https://tracker.example/open.gif" />');
    expect(rendered.html).toContain('.hero{background:url("https://tracker.example/bg.png");}');
    expect(rendered.html).not.toContain('@import');
    expect(rendered.html).not.toContain('<script');
  });

  it('takes the text from the text part and the HTML from the HTML part of an alternative', async () => {
    // Prepare: alternative.eml has an ISO-8859-1 quoted-printable text part and a base64 HTML part.

    // Act
    const rendered = await renderer.render(fixture('alternative.eml'), blocked);

    // Assess
    expect(rendered.text).toBe('Der Text-Teil: Grüße aus München.');
    expect(rendered.html).toBe('<p>Der <b>HTML</b>-Teil: Grüße aus München.</p>');
    expect(rendered.attachments).toEqual([]);
  });

  it('rewrites cid: references to the webmail URL of the inline part and lists the parts', async () => {
    // Prepare: cid-inline.eml references <logo@sender.example> from an <img> and a CSS background.

    // Act
    const rendered = await renderer.render(fixture('cid-inline.eml'), blocked);

    // Assess
    expect(rendered.html).toContain('<img alt="logo" src="/m/42/cid/logo%40sender.example" />');
    expect(rendered.html).toContain('style="background-image:url(&quot;/m/42/cid/logo%40sender.example&quot;)"');
    expect(rendered.remoteContentBlocked).toBe(false);
    expect(rendered.attachments).toEqual([
      { index: 0, filename: 'logo.png', contentType: 'image/png', size: 73, contentId: 'logo@sender.example', inline: true },
      { index: 1, filename: 'figures.csv', contentType: 'text/csv', size: 31, contentId: null, inline: false },
    ] satisfies RenderedAttachment[]);
  });

  it('names attachments from RFC 2231, continuations and encoded words, and never as a path', async () => {
    // Act
    const rendered = await renderer.render(fixture('attachments.eml'), blocked);

    // Assess
    expect(rendered.text).toBe('Four files attached.');
    expect(rendered.attachments.map(({ filename, contentType, size }) => ({ filename, contentType, size }))).toEqual([
      { filename: '€ rates 2025.pdf', contentType: 'application/pdf', size: 1040 },
      { filename: 'Grüße und äöü "quoted".txt', contentType: 'text/plain', size: 19 },
      { filename: 'Straße.zip', contentType: 'application/zip', size: 104 },
      { filename: 'attachment-4', contentType: 'application/octet-stream', size: 30 },
      { filename: '.._.._etc_passwd', contentType: 'application/octet-stream', size: 10 },
    ]);
  });

  it('drops bidi controls and other invisible formatting from attachment names, and bidi controls from subject and From', async () => {
    // Prepare: the invoice<U+202E>fdp.exe as RFC 2231 and as an encoded word, a name of
    // nothing but invisible characters, and a subject and display name with an override.
    const attachment = (disposition: string, type = 'application/octet-stream') =>
      ['--b', `Content-Type: ${type}`, `Content-Disposition: ${disposition}`, '', 'x'].join('\r\n');
    const raw = message(
      [
        'From: =?UTF-8?Q?Bank_=E2=80=AEknaB?= <phish@sender.example>',
        'To: max@corp.test',
        'Subject: =?UTF-8?Q?Rechnung_=E2=80=AEfdp.exe_=E2=81=A6ok=E2=81=A9?=',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
      ],
      [
        '--b',
        'Content-Type: text/plain',
        '',
        'see attachments',
        attachment("attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe"),
        attachment('attachment; filename="=?UTF-8?Q?report=E2=80=8B=E2=81=A7gpj.scr?="'),
        attachment("attachment; filename*=UTF-8''%E2%80%AE%E2%80%8B%EF%BB%BF", 'application/pdf'),
        '--b--',
        '',
      ].join('\r\n'),
    );

    // Act
    const rendered = await renderer.render(Readable.from([raw]), blocked);
    const opened = await renderer.openAttachment(Readable.from([raw]), { index: 0 });
    opened?.content.resume();

    // Assess
    expect(rendered.attachments.map((a) => a.filename)).toEqual(['invoicefdp.exe', 'reportgpj.scr', 'attachment-3.pdf']);
    expect(opened?.attachment.filename).toBe('invoicefdp.exe');
    expect(rendered.subject).toBe('Rechnung fdp.exe ok');
    expect(rendered.from).toEqual(['Bank knaB <phish@sender.example>']);
  });

  it('cuts a 3 MB text body and a 3 MB HTML body at the 2 MB budget and says so', async () => {
    // Prepare
    const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n';
    const bigText = line.repeat(Math.ceil((3 * 1024 * 1024) / line.length));
    const textMessage = message(['From: a@sender.example', 'Subject: big text', 'Content-Type: text/plain'], bigText);
    const htmlMessage = message(
      ['From: a@sender.example', 'Subject: big html', 'Content-Type: text/html'],
      `<div>${bigText.replaceAll('\r\n', '<br>\r\n')}</div>`,
    );

    // Act
    const text = await renderer.render(Readable.from([textMessage]), blocked);
    const html = await renderer.render(Readable.from([htmlMessage]), blocked);

    // Assess
    expect(text.truncated).toBe(true);
    expect(text.text?.length).toBeGreaterThan(1.9 * 1024 * 1024);
    expect(text.text?.length).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(html.truncated).toBe(true);
    expect(html.html?.length).toBeGreaterThan(1.9 * 1024 * 1024);
    expect(html.html?.length).toBeLessThan(2.1 * 1024 * 1024);
    expect(html.html?.endsWith('</div>')).toBe(true);
  });

  it('renders a 1 MB HTML message in well under a second', async () => {
    // Prepare: a newsletter-like table of 1 MB with inline styles, links, images and a <style> block.
    const row =
      '<tr><td style="padding:8px;font-family:Arial,sans-serif;color:#333;background:#fff url(https://t.example/p.gif)" class="c">' +
      '<a href="https://shop.example/item?id=N&amp;ref=mail">Item N &amp; more</a> <img src="https://img.example/N.png" width="40" alt="N">' +
      '<span style="font-weight:bold">Bold</span> text text text</td></tr>\r\n';
    let body = '<html><head><style>.c{color:red} @media (max-width:600px){.c{width:100%!important}}</style></head><body><table>\r\n';
    for (let n = 0; body.length < 1024 * 1024; n++) body += row.replaceAll('N', String(n));
    body += '</table></body></html>';
    const raw = message(['From: a@sender.example', 'Subject: 1 MB', 'Content-Type: text/html; charset=utf-8'], body);
    await renderer.render(Readable.from([raw]), blocked); // warm-up: module-level compilation

    // Act
    const started = performance.now();
    const rendered = await renderer.render(Readable.from([raw]), blocked);
    const milliseconds = performance.now() - started;

    // Assess
    console.info(`1 MB HTML message rendered in ${Math.round(milliseconds)} ms`);
    expect(rendered.remoteContentBlocked).toBe(true);
    expect(rendered.truncated).toBe(false);
    expect(rendered.html).not.toContain('img.example');
    expect(milliseconds).toBeLessThan(1_000);
  });

  it('refuses input without any message in it', async () => {
    // Act
    const outcome = await renderer.render(Readable.from([Buffer.from('')]), blocked).catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(MimeParseError);
  });

  it('reports a source that stops sending as retryable', async () => {
    // Prepare: headers, then nothing more and no end.
    const quick = new MailparserMessageRenderer({ inactivityTimeoutMs: 200 });
    const source = new PassThrough();
    source.write('From: a@sender.example\r\nSubject: stalled\r\nContent-Type: text/plain\r\n\r\nfirst words');

    // Act
    const outcome = await quick.render(source, blocked).catch((error: unknown) => error);

    // Assess
    expect(outcome).toBeInstanceOf(RetryableError);
    expect(source.destroyed).toBe(true);
  });
});

describe('MailparserMessageRenderer.openAttachment', () => {
  it('numbers attachments as render() does and streams each one with its listed size', async () => {
    // Prepare
    const rendered = await renderer.render(fixture('attachments.eml'), blocked);

    // Act
    const opened = await Promise.all(
      rendered.attachments.map(async (listed) => {
        const result = await renderer.openAttachment(fixture('attachments.eml'), { index: listed.index });
        if (result === null) return null;
        const bytes = await readAll(result.content);
        return { attachment: result.attachment, bytes };
      }),
    );

    // Assess: same metadata; the size after streaming is the listed size and the byte count.
    opened.forEach((result, index) => {
      expect(result).not.toBeNull();
      expect(result?.attachment).toEqual(rendered.attachments[index]);
      expect(result?.bytes.length).toBe(rendered.attachments[index]?.size);
    });
    const pdf = Buffer.concat([
      Buffer.from('%PDF-1.4\n'),
      Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256)),
      Buffer.from('\n%%EOF\n'),
    ]);
    expect(opened[0]?.bytes.equals(pdf)).toBe(true);
    expect(opened[1]?.bytes.toString('utf8')).toBe('Grüße und äöü.');
    expect(opened[4]?.bytes.toString('utf8')).toBe('root:x:0:0');
  });

  it('finds an inline image by Content-ID and returns its exact bytes', async () => {
    // Prepare
    const logo = await readFile(join(fixtures, 'logo.png'));

    // Act
    const result = await renderer.openAttachment(fixture('cid-inline.eml'), { contentId: 'logo@sender.example' });
    const bytes = result === null ? null : await readAll(result.content);

    // Assess
    expect(result?.attachment).toMatchObject({ index: 0, filename: 'logo.png', contentType: 'image/png', inline: true });
    expect(bytes?.equals(logo)).toBe(true);
  });

  it('answers null for an index or Content-ID that is not there', async () => {
    // Act
    const outcomes = await Promise.all([
      renderer.openAttachment(fixture('attachments.eml'), { index: 5 }),
      renderer.openAttachment(fixture('attachments.eml'), { index: -1 }),
      renderer.openAttachment(fixture('attachments.eml'), { index: 1.5 }),
      renderer.openAttachment(fixture('cid-inline.eml'), { contentId: 'LOGO@sender.example' }),
      renderer.openAttachment(fixture('text.eml'), { index: 0 }),
    ]);

    // Assess
    expect(outcomes).toEqual([null, null, null, null, null]);
  });

  it('stops reading the message once the wanted attachment is through', async () => {
    // Prepare: a 10 KB part before a 4 MB one.
    const raw = withAttachments([10 * 1024, 4 * 1024 * 1024]);
    const source = counted(raw);

    // Act
    const result = await renderer.openAttachment(source.stream, { index: 0 });
    const bytes = result === null ? Buffer.alloc(0) : await readAll(result.content);
    await sleep(50);

    // Assess: the whole first part, and far less than the message was read.
    expect(bytes.equals(Buffer.alloc(10 * 1024, 1))).toBe(true);
    expect(source.taken()).toBeLessThan(raw.length / 4);
  });

  it('skips earlier attachments without keeping them', async () => {
    // Prepare
    const raw = withAttachments([3 * 1024 * 1024, 1000]);

    // Act
    const result = await renderer.openAttachment(Readable.from([raw]), { index: 1 });
    const bytes = result === null ? Buffer.alloc(0) : await readAll(result.content);

    // Assess
    expect(result?.attachment.filename).toBe('part-1.bin');
    expect(bytes.equals(Buffer.alloc(1000, 2))).toBe(true);
  });

  it('keeps streaming to a slow reader for longer than the inactivity timeout', async () => {
    // Prepare: a reader that takes one chunk every 50 ms of a 1 MB part arriving in
    // 16 KB pieces (over a second in all); the timeout is 300 ms.
    const slow = new MailparserMessageRenderer({ inactivityTimeoutMs: 300 });
    const raw = withAttachments([1024 * 1024]);

    // Act
    const started = performance.now();
    const result = await slow.openAttachment(counted(raw).stream, { index: 0 });
    let total = 0;
    for await (const chunk of result?.content ?? []) {
      total += (chunk as Buffer).length;
      await sleep(50);
    }
    const seconds = (performance.now() - started) / 1000;

    // Assess
    expect(total).toBe(1024 * 1024);
    expect(seconds).toBeGreaterThan(0.6);
  });

  it('stops reading the source when the reader goes away', async () => {
    // Prepare
    const raw = withAttachments([4 * 1024 * 1024]);
    const source = counted(raw);

    // Act: read one chunk, then abandon the download.
    const result = await renderer.openAttachment(source.stream, { index: 0 });
    const iterator = result?.content[Symbol.asyncIterator]();
    await iterator?.next();
    result?.content.destroy();
    await sleep(200);
    const takenAfterClose = source.taken();
    await sleep(200);

    // Assess
    expect(source.stream.destroyed).toBe(true);
    expect(source.taken()).toBe(takenAfterClose);
    expect(takenAfterClose).toBeLessThan(raw.length / 2);
  });
});

// ---- 40 MB in a child process --------------------------------------------

interface RenderMeasurement {
  peakRssMb: number;
  seconds: number;
  textLength: number;
  htmlLength: number;
  attachmentBytes: number;
  truncated: boolean;
  subject: string;
}

/** Renders `file` in a fresh Node process and reports its peak RSS. */
function renderInChild(file: string): Promise<RenderMeasurement> {
  const rendererUrl = pathToFileURL(join(projectRoot, 'lambdas/adapters/mime/mailparser-message-renderer.ts')).href;
  const script = `
    import { createReadStream } from 'node:fs';
    const { MailparserMessageRenderer } = await import(${JSON.stringify(rendererUrl)});
    const started = performance.now();
    const rendered = await new MailparserMessageRenderer().render(createReadStream(${JSON.stringify(file)}), {
      allowRemote: false, cidUrl: (cid) => '/cid/' + cid,
    });
    process.stdout.write(JSON.stringify({
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
      seconds: Math.round(performance.now() - started) / 1000,
      textLength: rendered.text?.length ?? 0,
      htmlLength: rendered.html?.length ?? 0,
      attachmentBytes: rendered.attachments.reduce((sum, a) => sum + a.size, 0),
      truncated: rendered.truncated,
      subject: rendered.subject,
    }) + '\\n');
  `;
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: projectRoot, timeout: 120_000, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`render child failed: ${stderr || error.message}`, { cause: error }));
        else resolvePromise(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as RenderMeasurement);
      },
    );
  });
}

async function writeLargeHtmlMessage(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const write = (text: string): Promise<void> =>
    new Promise((resolveWrite) => {
      if (out.write(text)) resolveWrite();
      else out.once('drain', () => resolveWrite());
    });
  await write(
    'From: load@sender.example\r\nTo: max@corp.test\r\nSubject: large html message\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><table>\r\n',
  );
  const row =
    '<tr><td style="color:#333;padding:4px"><a href="https://example.com/x">link</a> <b>bold</b> text text text text</td></tr>\r\n';
  let written = 0;
  while (written < bytes) {
    const chunk = row.repeat(1000);
    await write(chunk);
    written += chunk.length;
  }
  await new Promise<void>((resolveEnd) => out.end(() => resolveEnd()));
}

describe('MailparserMessageRenderer memory on 40 MB messages', () => {
  const FORTY_MB = 40 * 1024 * 1024;
  const PEAK_RSS_LIMIT_MB = 256;

  it.each(['attachment', 'text', 'html'] as const)('renders a 40 MB %s message under 256 MB peak RSS', async (kind) => {
    // Prepare: the message on disk, written by this process.
    const directory = await mkdtemp(join(tmpdir(), 'shadowmail-render-rss-'));
    try {
      const file = join(directory, `${kind}.eml`);
      if (kind === 'html') await writeLargeHtmlMessage(file, FORTY_MB);
      else await writeLargeMessage(file, kind, FORTY_MB);

      // Act
      const result = await renderInChild(file);

      // Assess: the message was really read (all of the attachment; 2 MB of body), within budget.
      console.info(`40 MB ${kind}: ${JSON.stringify(result)}`);
      expect(result.subject).toBe(`large ${kind} message`);
      if (kind === 'attachment') {
        expect(result.attachmentBytes).toBeGreaterThan(FORTY_MB * 0.7);
        expect(result.truncated).toBe(false);
      } else {
        expect(result.truncated).toBe(true);
        expect(Math.max(result.textLength, result.htmlLength)).toBeGreaterThan(1.5 * 1024 * 1024);
      }
      expect(result.peakRssMb).toBeLessThan(PEAK_RSS_LIMIT_MB);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
