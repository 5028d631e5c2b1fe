// Every message of the third-party corpus (../shared/corpus, kinds message and
// xss-message) relayed by SmtpRelayAdapter, with the forward's trace header on top, to a
// real Postfix over pinned STARTTLS; what lands in the Maildir must equal what was sent.
// Also the published SMTP-smuggling end-of-DATA sequences, embedded in message bodies,
// relayed through a recording TCP proxy: exactly one message lands per send, nothing is
// injected, and the bytes on the wire hold exactly one end of DATA.
//
// The comparison is the one of test/system/lambdas/adapters/smtp/smtp-relay.postfix.test.ts:
//   stripPostfixTrace(maildirFile).message == postfixStoredForm(sent).bytes
// i.e. the relay's line-ending rule (CRLF, bare CR, bare LF → one line ending; Maildir
// stores LF; a final one added) plus Postfix's own header edits, which are listed per
// message below (KNOWN_POSTFIX_EDITS) and asserted, not skipped.
import { readFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpRelayAdapter } from '../../lambdas/adapters/smtp/smtp-relay.ts';
import { forwardStampLine } from '../../lambdas/core/forward-stamp.ts';
import type { RecipientReply } from '../../lambdas/ports/smtp-relay.ts';
import { CORPUS_ROOT, readCorpusManifest } from '../support/corpus.ts';
import { type PostfixEdit, type PostfixInstance, postfixStoredForm, startPostfix, stripPostfixTrace } from '../support/postfix.ts';

const corpusRoot = CORPUS_ROOT;
const RELAYED_KINDS = new Set(['message', 'xss-message']);
const DOMAIN = 'corp.test';
const SENDER = 'sender@partner.test';
const STAMPED_AT = new Date('2026-11-20T10:00:00Z');
const PARALLEL = 8;

/**
 * Messages that Postfix edits, measured, with why. The edits are computed from the bytes
 * by postfixStoredForm; this list pins which messages get them, so a change shows up.
 * - 'header-separator-inserted': the header section meets a line that is not a header
 *   field. Mostly an mbox "From " line, which the trace header put in second place (as
 *   a first line smtpd would have made it an X-Mailbox-Line header); also header names
 *   with blanks or 8-bit bytes, unindented continuation lines and messages without any
 *   header/body separator.
 * - 'blanks-before-colon-removed': `Subject :` (obsolete RFC 822 syntax) becomes `Subject:`.
 */
const KNOWN_POSTFIX_EDITS = new Map<string, PostfixEdit[]>([
  ...[
    'cpython-email/msg_19.txt',
    'cpython-email/msg_25.txt',
    'cpython-email/msg_35.txt',
    'cpython-email/msg_43.txt',
    'enmime/mail/erroneous.raw',
    'flanker/torture.eml',
    'letters/test_chinese_multipart_mixed_gb18030_over_quoted-printable.txt',
    'letters/test_chinese_plaintext_gb18030_over_base64.txt',
    'letters/test_english_multipart_mixed_utf-8_over_7bit.txt',
    'letters/test_english_multipart_signed_utf-8_over_base64.txt',
    'letters/test_english_no_text_content.txt',
    'letters/test_finnish_multipart_related_iso-8859-15_over_base64.txt',
    'letters/test_icelandic_plaintext_iso-8859-1_over_base64.txt',
    'letters/test_japanese_multipart_signed_iso-2022-jp_over_base64.txt',
    'letters/test_japanese_plaintext_euc-jp_over_base64.txt',
    'letters/test_japanese_plaintext_iso-2022-jp_over_7bit.txt',
    'letters/test_korean_plaintext_euc-kr_over_quoted-printable.txt',
    'letters/test_polish_plaintext_iso-8859-2_over_quoted-printable.txt',
    'letters/test_thai_plaintext_tis-620_over_quoted-printable.txt',
    'letters/test_thai_plaintext_windows-874_over_base64.txt',
    'mikel-mail/attachment_emails/attachment_pdf_non_ascii_lf.eml',
    'mikel-mail/mime_emails/raw_email_with_binary_encoded.eml',
    'mikel-mail/mime_emails/raw_email_with_illegal_boundary.eml',
    'mikel-mail/mime_emails/raw_email_with_quoted_illegal_boundary.eml',
    'mikel-mail/plain_emails/raw_email_with_partially_quoted_subject.eml',
    'mikel-mail/rfc2822/example14.eml',
    'mime4j/mimetools-testmsgs/hdr-fakeout.msg',
    'mime4j/mimetools-testmsgs/uu-junk.msg',
    'mime4j/testmsgs/basic-plain-with-bad-header-separator.msg',
    'mime4j/testmsgs/malformedHeader-nocrlfcrlf.msg',
    'mime4j/testmsgs/malformedHeaderStartsBody-noheader.msg',
    'mimekit/messages/feedback-report.txt',
    'mimekit/messages/issue358.txt',
    'mimekit/messages/multipart-digest.txt',
    'nodemailer-mailparser/large_text.eml',
    'php-mime-mail-parser/issue149',
    'php-mime-mail-parser/m0004',
    'xss/h5sc/test.eml',
  ].map((path): [string, PostfixEdit[]] => [path, ['header-separator-inserted']]),
  ['mime4j/testmsgs/obsolete.msg', ['blanks-before-colon-removed', 'header-separator-inserted']],
  ['stalwart-mail-parser/malformed/019.eml', ['blanks-before-colon-removed']],
]);

function readManifest() {
  return readCorpusManifest([...RELAYED_KINDS]).map((row) => ({ ...row, mboxFromLine: row.columns.mbox_from_line === 'y' }));
}

const rows = readManifest();

interface Relayed {
  sent: Buffer;
  replies: RecipientReply[];
  landed: Buffer[];
}

let postfix: PostfixInstance;

beforeAll(async () => {
  const started = Date.now();
  postfix = await startPostfix({ domain: DOMAIN, users: ['corpus', 'smuggle', 'victim'], tls: true });
  console.info(`postfix started in ${Date.now() - started} ms`);
});

afterAll(async () => {
  await postfix?.destroy();
});

describe('forwarding the corpus to Postfix', () => {
  const relayed = new Map<string, Relayed>();

  beforeAll(async () => {
    // Prepare: the same adapter setup as production: STARTTLS required, certificate pinned
    const relay = new SmtpRelayAdapter({
      host: postfix.host,
      port: postfix.port,
      tls: 'starttls-required',
      ca: postfix.ca,
      name: 'shadowmail.test',
    });
    const started = Date.now();

    // Act: PARALLEL messages at a time (sessions reused between them); each message carries its own stamp
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < rows.length) {
          const index = next++;
          const row = rows[index]!;
          const sent = Buffer.concat([
            Buffer.from(forwardStampLine('test', `corpus-${index}`, STAMPED_AT)),
            readFileSync(resolve(corpusRoot, row.path)),
          ]);
          const replies = await relay.relay({ from: SENDER, recipients: [postfix.address('corpus')] }, async () => Readable.from([sent]));
          relayed.set(row.path, { sent, replies, landed: [] });
        }
      }),
    );
    const relayedMs = Date.now() - started;
    await relay.close();
    const accepted = [...relayed.values()].filter((entry) => entry.replies[0]?.code === 250).length;
    const files = await postfix.waitForDelivered('corpus', accepted, 60_000);
    console.info(
      `corpus: ${rows.length} messages relayed in ${relayedMs} ms (${Math.round((rows.length * 1000) / relayedMs)} msg/s), ` +
        `${files.length} in the Maildir after ${Date.now() - started} ms`,
    );

    // Match each delivered file to its message by the stamp's id
    const byId = new Map(
      [...relayed.values()].map((entry) => [/id=(corpus-\d+);/.exec(entry.sent.subarray(0, 200).toString('latin1'))![1]!, entry]),
    );
    for (const file of files) {
      const { message } = stripPostfixTrace(file, postfix.hostname);
      const id = /^X-Shadowmail-Forwarded: test; id=(corpus-\d+);/.exec(message.subarray(0, 200).toString('latin1'))?.[1];
      const entry = id ? byId.get(id) : undefined;
      if (!entry) throw new Error(`a delivered message carries no known stamp: ${message.subarray(0, 120).toString('latin1')}`);
      entry.landed.push(message);
    }
  }, 300_000);

  it('the manifest lists the messages', () => {
    expect(rows.length).toBeGreaterThan(250);
  });

  it('every message with an mbox "From " line is among the known header-separator edits', () => {
    const mbox = rows.filter((row) => row.mboxFromLine).map((row) => row.path);
    expect(mbox.length).toBeGreaterThan(0);
    for (const path of mbox) expect(KNOWN_POSTFIX_EDITS.get(path), path).toContain('header-separator-inserted');
  });

  it.each(rows.map((row) => [row.path]))('%s lands once, as sent', (path) => {
    // Assess
    const entry = relayed.get(path)!;
    expect(entry.replies).toHaveLength(1);
    expect(entry.replies[0]!.code, entry.replies[0]!.response).toBe(250);
    expect(entry.landed).toHaveLength(1);
    const expected = postfixStoredForm(entry.sent);
    expect(expected.edits.sort()).toEqual(KNOWN_POSTFIX_EDITS.get(path) ?? []);
    const landed = entry.landed[0]!;
    if (!landed.equals(expected.bytes)) {
      let at = 0;
      while (at < landed.length && landed[at] === expected.bytes[at]) at++;
      expect.fail(
        `${path}: differs at byte ${at} of ${expected.bytes.length}: expected ${JSON.stringify(expected.bytes.subarray(at, at + 60).toString('latin1'))}, ` +
          `got ${JSON.stringify(landed.subarray(at, at + 60).toString('latin1'))}`,
      );
    }
  });
});

describe('SMTP smuggling sequences from the corpus', () => {
  const eod = JSON.parse(readFileSync(resolve(corpusRoot, 'smtp-smuggling/eod-sequences.json'), 'utf8')) as {
    inbound_eod_sequences: string[];
    outbound_eod_sequences: string[];
  };
  const sequences = [...new Set([...eod.inbound_eod_sequences, ...eod.outbound_eod_sequences])];

  /** A plain TCP proxy in front of Postfix that keeps every byte the client sent, per connection. */
  let proxy: Server;
  let proxyPort: number;
  const wire: Buffer[][] = [];

  beforeAll(async () => {
    proxy = createServer((client: Socket) => {
      const chunks: Buffer[] = [];
      wire.push(chunks);
      const upstream = netConnect({ host: postfix.host, port: postfix.port });
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyPort = (proxy.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('the corpus lists sequences', () => {
    expect(sequences.length).toBeGreaterThanOrEqual(9);
  });

  it.each(sequences.map((sequence, index) => [JSON.stringify(sequence), sequence, index] as const))(
    'end-of-DATA variant %s in the body: one message lands, intact, nothing injected',
    async (_name, sequence, index) => {
      // Prepare: plaintext so the proxy sees the bytes
      const relay = new SmtpRelayAdapter({ host: '127.0.0.1', port: proxyPort, tls: 'none', name: 'shadowmail.test' });
      const injected = `MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<${postfix.address('victim')}>\r\nDATA\r\nSubject: smuggled ${index}\r\n\r\nowned\r\n`;
      const sent = Buffer.from(
        forwardStampLine('test', `eod-${index}`, STAMPED_AT) +
          `From: a@partner.test\r\nTo: smuggle@${DOMAIN}\r\nSubject: eod ${index}\r\n\r\nbefore${sequence}${injected}after${sequence}${injected}end\r\n`,
        'latin1',
      );
      const before = (await postfix.readDelivered('smuggle')).length;
      const connectionsBefore = wire.length;

      // Act
      const replies = await relay.relay({ from: SENDER, recipients: [postfix.address('smuggle')] }, async () => Readable.from([sent]));
      // The session stays open for the next message (reused sessions); end it so the wire shows the whole of it.
      await relay.close();

      // Assess
      expect(replies[0]!.code).toBe(250);
      const landed = await postfix.waitForDelivered('smuggle', before + 1);
      expect(landed).toHaveLength(before + 1);
      expect(stripPostfixTrace(landed.at(-1)!, postfix.hostname).message.equals(postfixStoredForm(sent).bytes)).toBe(true);
      // a smuggled message would have been queued by the same session: give it time to land
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await postfix.readDelivered('smuggle')).toHaveLength(before + 1);
      expect(await postfix.readDelivered('victim')).toHaveLength(0);
      expect(wire.length).toBe(connectionsBefore + 1);
      const session = Buffer.concat(wire.at(-1)!).toString('latin1');
      const data = session.slice(session.indexOf('\r\nDATA\r\n') + 8);
      expect(data.indexOf('\r\n.\r\n')).toBe(data.length - '\r\n.\r\nQUIT\r\n'.length);
      expect(data).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
    },
  );
});
