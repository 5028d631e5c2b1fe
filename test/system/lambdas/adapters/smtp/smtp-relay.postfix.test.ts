// SmtpRelayAdapter against a real Postfix standing in for Exchange: what lands in the
// Maildir is what was sent, per-recipient 4xx/5xx come back as such, a stopped primary is
// code 0 and a restarted one takes the retry.
//
// The comparison (see test/support/postfix.ts):
//   stripPostfixTrace(maildirFile).message  ==  postfixStoredForm(sent).bytes
// stripPostfixTrace removes exactly the four fields Postfix puts on top (Return-Path,
// X-Original-To, Delivered-To from virtual(8), and smtpd's own Received), checked by name
// and by the Received naming this instance. postfixStoredForm is the relay's line-ending
// rule as a Maildir stores it: CRLF, bare CR and bare LF each become LF (Maildir files use
// LF), a final LF is added when missing; plus Postfix's two header edits, which every
// fixture here except the one made to show them avoids, and which the tests assert.
// Needs root and Debian's postfix + openssl.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpRelayAdapter } from '../../../../../lambdas/adapters/smtp/smtp-relay.ts';
import { forwardStampLine } from '../../../../../lambdas/core/forward-stamp.ts';
import { type PostfixInstance, postfixStoredForm, startPostfix, stripPostfixTrace } from '../../../../support/postfix.ts';
import { SMUGGLING_SEQUENCES } from '../../../../support/smtp-smuggling.ts';

const DOMAIN = 'corp.test';
const SENDER = 'sender@partner.test';

let postfix: PostfixInstance;
let relay: SmtpRelayAdapter;
let sequence = 0;

beforeAll(async () => {
  const started = Date.now();
  postfix = await startPostfix({ domain: DOMAIN, users: ['alice', 'bob', 'carol', 'dave', 'erin'], tls: true });
  console.info(`postfix started in ${Date.now() - started} ms on port ${postfix.port}`);
  relay = new SmtpRelayAdapter({
    host: postfix.host,
    port: postfix.port,
    tls: 'starttls-required',
    ca: postfix.ca,
    name: 'shadowmail.test',
    connectionTimeoutMs: 5_000,
    greetingTimeoutMs: 5_000,
    socketTimeoutMs: 30_000,
    totalTimeoutMs: 60_000,
  });
});

afterAll(async () => {
  await postfix?.destroy();
});

/** The message as the forward sends it: one trace header on top of the stored bytes. */
function stamped(body: Buffer | string): Buffer {
  sequence++;
  return Buffer.concat([
    Buffer.from(forwardStampLine('test', `msg-${sequence}`, new Date('2026-11-20T10:00:00Z'))),
    typeof body === 'string' ? Buffer.from(body, 'latin1') : body,
  ]);
}

function open(data: Buffer): () => Promise<Readable> {
  return async () => Readable.from([data]);
}

/** Relays `data` to one recipient, waits for it in the Maildir and returns what Postfix stored after its trace fields. */
async function relayAndFetch(user: string, data: Buffer): Promise<{ code: number; prepended: string[]; message: Buffer }> {
  const before = (await postfix.readDelivered(user)).length;
  const [reply] = await relay.relay({ from: SENDER, recipients: [postfix.address(user)] }, open(data));
  if (reply!.code !== 250) return { code: reply!.code, prepended: [], message: Buffer.alloc(0) };
  const delivered = await postfix.waitForDelivered(user, before + 1, 20_000);
  expect(delivered).toHaveLength(before + 1);
  return { code: reply!.code, ...stripPostfixTrace(delivered.at(-1)!, postfix.hostname) };
}

function header(subject: string, extra = ''): string {
  return `From: Sender <${SENDER}>\r\nTo: Alice <alice@${DOMAIN}>\r\nSubject: ${subject}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@partner.test>\r\nMIME-Version: 1.0\r\n${extra}`;
}

/** A deterministic 10 MB attachment, base64 in 76-character lines. */
function bigAttachmentMessage(): Buffer {
  const payload = randomBytes(10 * 1024 * 1024);
  const base64 = payload.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    header('ten megabytes', 'Content-Type: multipart/mixed; boundary="b1"\r\n') +
      '\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b1\r\n' +
      'Content-Type: application/octet-stream; name="big.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="big.bin"\r\n\r\n' +
      `${base64}\r\n--b1--\r\n`,
    'latin1',
  );
}

const FIXTURES: Array<[name: string, body: () => Buffer | string]> = [
  ['CRLF', () => `${header('crlf')}Content-Type: text/plain\r\n\r\nline one\r\nline two\r\n`],
  ['LF only', () => `${header('lf').replace(/\r\n/g, '\n')}Content-Type: text/plain\n\nline one\nline two\n`],
  ['mixed CRLF, LF and bare CR', () => `${header('mixed')}Content-Type: text/plain\r\n\r\ncrlf\r\nlf\nbare\rcr\r\r\nend\n\r`],
  ['dot lines', () => `${header('dots')}Content-Type: text/plain\r\n\r\n.\r\n..\r\n.leading\r\n. \r\nmid.dle\r\n.\r\n`],
  [
    '8-bit latin-1 and UTF-8',
    () =>
      Buffer.concat([
        Buffer.from(`${header('eight bit')}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`, 'latin1'),
        Buffer.from('Grüße, €, 日本語, \u{1F600}\r\n', 'utf8'),
        Buffer.from([0xe4, 0xf6, 0xfc, 0xff, 0x80, 0x0d, 0x0a]),
      ]),
  ],
  [
    'raw UTF-8 header',
    () =>
      Buffer.concat([Buffer.from('Subject: Grüße aus Köln\r\n', 'utf8'), Buffer.from(`${header('utf8 header')}\r\nbody\r\n`, 'latin1')]),
  ],
  ['NUL bytes', () => `${header('nul')}Content-Type: text/plain\r\n\r\nbefore\x00after\r\n\x00\r\n\x00.\r\n`],
  [
    'long lines',
    () =>
      `${header('long')}Content-Type: text/plain\r\n\r\n${'a'.repeat(998)}\r\n${'b'.repeat(999)}\r\n${'c'.repeat(1000)}\r\n${'d'.repeat(2048)}\r\n${'e'.repeat(2049)}\r\n${'f'.repeat(250_000)}\r\n`,
  ],
  [
    'long folded header',
    () => `${header('long header', `X-Long: ${Array.from({ length: 3000 }, (_, i) => `word${i}`).join('\r\n ')}\r\n`)}\r\nbody\r\n`,
  ],
  ['no final line ending', () => `${header('no eol')}\r\nlast line`],
  ['10 MB attachment', bigAttachmentMessage],
];

describe('SmtpRelayAdapter → Postfix', () => {
  it.each(FIXTURES)('%s: the Maildir holds what was sent', async (_name, body) => {
    // Prepare
    const data = stamped(body());
    const expected = postfixStoredForm(data);

    // Act
    const landed = await relayAndFetch('alice', data);

    // Assess
    expect(landed.code).toBe(250);
    expect(expected.edits).toEqual([]);
    expect(landed.prepended.slice(0, 3)).toEqual([
      `Return-Path: <${SENDER}>\n`,
      `X-Original-To: alice@${DOMAIN}\n`,
      `Delivered-To: alice@${DOMAIN}\n`,
    ]);
    expect(landed.prepended[3]).toContain('with ESMTPS');
    expect(landed.message.length).toBe(expected.bytes.length);
    expect(landed.message.equals(expected.bytes)).toBe(true);
  });

  it('Postfix edits of the header section are the known ones and nothing else', async () => {
    // Prepare: a header field with a blank before the colon, and a header section that
    // runs into body text without an empty line
    const data = stamped(`${header('edits')}Subject :obsolete syntax\r\nthis line is not a header field\r\nbody\r\n`);
    const expected = postfixStoredForm(data);

    // Act
    const landed = await relayAndFetch('alice', data);

    // Assess
    expect(expected.edits.sort()).toEqual(['blanks-before-colon-removed', 'header-separator-inserted']);
    expect(landed.message.toString('latin1')).toContain('\nSubject:obsolete syntax\n\nthis line is not a header field\n');
    expect(landed.message.equals(expected.bytes)).toBe(true);
  });

  it('an mbox "From " line right after the trace header stays a line of its own', async () => {
    // Prepare: smtpd turns a *first* line "From ..." into X-Mailbox-Line; after the trace header it is not first
    const data = stamped(`From sender@partner.test Fri Nov 20 10:00:00 2026\r\n${header('mbox')}\r\nbody\r\n`);

    // Act
    const landed = await relayAndFetch('alice', data);

    // Assess
    expect(landed.message.toString('latin1')).not.toContain('X-Mailbox-Line');
    expect(landed.message.equals(postfixStoredForm(data).bytes)).toBe(true);
  });

  it('SMTP smuggling sequences in the content: exactly one message lands, content intact', async () => {
    // Prepare
    const injected = `MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<erin@${DOMAIN}>\r\nDATA\r\nSubject: smuggled\r\n\r\nowned\r\n`;
    const body = SMUGGLING_SEQUENCES.map((sequence) => `before${sequence}${injected}after\r\n`).join('');
    const data = stamped(`${header('smuggling')}\r\n${body}`);

    // Act
    const landed = await relayAndFetch('bob', data);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    expect(landed.code).toBe(250);
    expect(await postfix.readDelivered('bob')).toHaveLength(1);
    expect(await postfix.readDelivered('erin')).toHaveLength(0);
    expect(landed.message.equals(postfixStoredForm(data).bytes)).toBe(true);
  });

  it('per-recipient 450 / 550 from the primary come back as such; the accepted recipient gets the message', async () => {
    // Prepare
    await postfix.setRecipientAccess({ [`bob@${DOMAIN}`]: '450 4.2.0 try later', [`carol@${DOMAIN}`]: '550 5.1.1 no such user' });
    const data = stamped(`${header('mixed replies')}\r\nhello\r\n`);
    const bobBefore = (await postfix.readDelivered('bob')).length;
    const daveBefore = (await postfix.readDelivered('dave')).length;

    try {
      // Act
      const replies = await relay.relay(
        { from: SENDER, recipients: [`dave@${DOMAIN}`, `bob@${DOMAIN}`, `carol@${DOMAIN}`, `ghost@${DOMAIN}`] },
        open(data),
      );

      // Assess
      expect(replies.map((reply) => [reply.recipient, reply.code])).toEqual([
        [`dave@${DOMAIN}`, 250],
        [`bob@${DOMAIN}`, 450],
        [`carol@${DOMAIN}`, 550],
        [`ghost@${DOMAIN}`, 550],
      ]);
      expect(replies[1]!.response).toMatch(/^450 4\.2\.0 .*try later/);
      expect(replies[2]!.response).toMatch(/^550 5\.1\.1 .*no such user/);
      expect(replies[3]!.response).toMatch(/^550 5\.1\.1 .*User unknown/);
      const dave = await postfix.waitForDelivered('dave', daveBefore + 1);
      expect(stripPostfixTrace(dave.at(-1)!, postfix.hostname).message.equals(postfixStoredForm(data).bytes)).toBe(true);
      expect(await postfix.readDelivered('bob')).toHaveLength(bobBefore);
      expect(await postfix.readDelivered('carol')).toHaveLength(0);
    } finally {
      await postfix.setRecipientAccess({});
    }
  });

  it('a deferred recipient is accepted once the primary takes it again', async () => {
    // Prepare
    await postfix.setRecipientAccess({ [`carol@${DOMAIN}`]: '451 4.3.0 mailbox database offline' });
    const data = stamped(`${header('retry later')}\r\nhello\r\n`);
    const first = await relay.relay({ from: SENDER, recipients: [`carol@${DOMAIN}`] }, open(data));

    // Act
    await postfix.setRecipientAccess({});
    const second = await relay.relay({ from: SENDER, recipients: [`carol@${DOMAIN}`] }, open(data));

    // Assess
    expect(first[0]!.code).toBe(451);
    expect(second[0]!.code).toBe(250);
    const carol = await postfix.waitForDelivered('carol', 1);
    expect(carol).toHaveLength(1);
  });

  it('primary down: code 0 for every recipient; primary back: delivered', async () => {
    // Prepare
    await postfix.stop();
    const data = stamped(`${header('outage')}\r\nhello\r\n`);
    const before = (await postfix.readDelivered('dave')).length;

    try {
      // Act
      const down = await relay.relay({ from: SENDER, recipients: [`dave@${DOMAIN}`, `alice@${DOMAIN}`] }, open(data));
      await postfix.start();
      const back = await relay.relay({ from: SENDER, recipients: [`dave@${DOMAIN}`] }, open(data));

      // Assess
      expect(down.map((reply) => reply.code)).toEqual([0, 0]);
      expect(down[0]!.response).toMatch(/ECONNREFUSED|refused/i);
      expect(back[0]!.code).toBe(250);
      expect(await postfix.waitForDelivered('dave', before + 1)).toHaveLength(before + 1);
    } finally {
      if (!postfix.isRunning()) await postfix.start();
    }
  });

  it('throughput: 200 messages over 8 parallel connections all land intact', async () => {
    // Prepare
    const count = 200;
    const messages = Array.from({ length: count }, (_, i) => stamped(`${header(`bulk ${i}`)}\r\nmessage number ${i}\r\n.\r\n`));
    const byStamp = new Map(messages.map((data) => [data.subarray(0, data.indexOf('\r\n')).toString('latin1'), data]));
    const before = (await postfix.readDelivered('erin')).length;
    const started = Date.now();

    // Act
    let next = 0;
    const codes: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < count) {
          const data = messages[next++]!;
          const [reply] = await relay.relay({ from: SENDER, recipients: [`erin@${DOMAIN}`] }, open(data));
          codes.push(reply!.code);
        }
      }),
    );
    const relayedMs = Date.now() - started;
    const delivered = await postfix.waitForDelivered('erin', before + count, 30_000);
    const deliveredMs = Date.now() - started;
    console.info(
      `postfix: ${count} messages relayed in ${relayedMs} ms (${Math.round((count * 1000) / relayedMs)} msg/s, one STARTTLS connection each, 8 in parallel), all in the Maildir after ${deliveredMs} ms`,
    );

    // Assess
    expect(codes.filter((code) => code === 250)).toHaveLength(count);
    const landed = delivered.slice(before).map((file) => stripPostfixTrace(file, postfix.hostname).message);
    for (const message of landed) {
      const stampLine = message.subarray(0, message.indexOf('\n')).toString('latin1');
      const sent = byStamp.get(stampLine);
      expect(sent, stampLine).toBeDefined();
      expect(message.equals(postfixStoredForm(sent!).bytes)).toBe(true);
      byStamp.delete(stampLine);
    }
    expect(byStamp.size).toBe(0);
    const until = Date.now() + 5_000;
    while ((await postfix.queueSize()) > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await postfix.queueSize()).toBe(0);
  });
});
