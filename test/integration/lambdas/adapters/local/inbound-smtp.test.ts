// The local SES-inbound stand-in: which mail it takes, which it refuses with which
// reply, and that the spooled bytes are exactly what the sender meant, checked with
// real SMTP clients (nodemailer and a raw socket) against the real listener.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type InboundEnvelope,
  type InboundMessage,
  type InboundSmtpOptions,
  type InboundSmtpServer,
  startInboundSmtp,
} from '../../../../../lambdas/adapters/local/inbound-smtp.ts';
import { KEEP_IN_MEMORY_BYTES } from '../../../../../lambdas/adapters/local/spool-writer.ts';
import { dotStuff, RawSmtp } from '../../../../support/raw-smtp.ts';

type Accepted = InboundEnvelope & {
  /** The message as accept got it: in memory, or what its spool file held. */
  bytes: Buffer;
  /** What the listener handed over in memory (small messages only). */
  held: Buffer | undefined;
  /** The spool directory's files while accept ran. */
  spoolAtAccept: string[];
};

describe('inbound SMTP listener (local SES inbound)', () => {
  let root: string;
  let spoolDir: string;
  let server: InboundSmtpServer | null;
  let accepted: Accepted[];
  const clients: RawSmtp[] = [];

  async function start(overrides: Partial<InboundSmtpOptions> = {}): Promise<InboundSmtpServer> {
    server = await startInboundSmtp({
      port: 0,
      domains: ['corp.test', 'Example.ORG'],
      spoolDir,
      accept: async (message) => {
        accepted.push(await record(message));
      },
      onError: () => undefined,
      closeTimeoutMs: 1_000,
      ...overrides,
    });
    return server;
  }

  async function open(): Promise<RawSmtp> {
    const { client, greeting } = await RawSmtp.open(server!.port);
    expect(greeting.code).toBe(220);
    clients.push(client);
    expect((await client.command('EHLO client.test')).code).toBe(250);
    return client;
  }

  function transport() {
    return createTransport({ host: '127.0.0.1', port: server!.port, secure: false, ignoreTLS: true, name: 'client.test' });
  }

  async function record(message: InboundMessage): Promise<Accepted> {
    const { bytes, spoolFile, ...envelope } = message;
    return { ...envelope, held: bytes, bytes: bytes ?? (await readFile(spoolFile!)), spoolAtAccept: await spoolFiles() };
  }

  async function spoolFiles(): Promise<string[]> {
    return (await readdir(spoolDir)).filter((file) => !file.startsWith('.'));
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'inbound-smtp-'));
    spoolDir = join(root, 'spool');
    accepted = [];
    server = null;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.quit();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('accepts mail for a configured domain, hands the spool file to accept and answers with the queue id', async () => {
    // Prepare
    await start();
    const raw = Buffer.from(
      'From: Partner <partner@elsewhere.test>\r\nTo: alice@corp.test\r\nSubject: hello\r\n\r\n' +
        '.a line that starts with a dot\r\n..two dots\r\n.\r\nGrüße, äöü ß €\r\n',
      'utf8',
    );

    // Act
    const info = await transport().sendMail({
      envelope: { from: 'partner@elsewhere.test', to: ['alice@corp.test', 'bob@corp.test'] },
      raw,
    });

    // Assess
    expect(accepted).toHaveLength(1);
    const message = accepted[0]!;
    expect(info.response).toBe(`250 Ok: queued as ${message.id}`);
    expect(message.id).toMatch(/^[a-z2-7]{40}$/);
    expect(message.envelopeFrom).toBe('partner@elsewhere.test');
    expect(message.envelopeRecipients).toEqual(['alice@corp.test', 'bob@corp.test']);
    // What SPF needs, as SES has it: the client's address and its EHLO name.
    expect(message.client).toEqual({ address: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/), helo: 'client.test' });
    expect(message.bytes.equals(raw)).toBe(true);
    expect(message.held?.equals(raw)).toBe(true);
    expect(message.size).toBe(raw.length);
    expect(Math.abs(message.receivedAt.getTime() - Date.now())).toBeLessThan(10_000);
    expect(await spoolFiles()).toEqual([]); // accept did not move it, so the listener removed it
  });

  it('advertises SIZE and neither AUTH nor STARTTLS', async () => {
    // Prepare
    await start({ maxMessageBytes: 12345 });
    const { client } = await RawSmtp.open(server!.port);
    clients.push(client);

    // Act
    const ehlo = await client.command('EHLO client.test');

    // Assess
    expect(ehlo.code).toBe(250);
    expect(ehlo.text).toContain('SIZE 12345');
    expect(ehlo.text).not.toContain('AUTH');
    expect(ehlo.text).not.toContain('STARTTLS');
    expect((await client.command('STARTTLS')).code).toBeGreaterThanOrEqual(500);
  });

  it('refuses every other domain with 550 5.7.1 and never relays', async () => {
    // Prepare
    await start();
    const client = await open();
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);

    // Act
    const replies = [];
    for (const rcpt of ['x@other.test', 'x@corp.test.evil.test', 'x@sub.corp.test', 'x@[127.0.0.1]', 'postmaster', 'alice@corp.test']) {
      replies.push(await client.command(`RCPT TO:<${rcpt}>`));
    }
    const viaNodemailer = await transport()
      .sendMail({ envelope: { from: 'a@elsewhere.test', to: ['victim@other.test'] }, raw: 'Subject: relay?\r\n\r\nno\r\n' })
      .then(
        () => null,
        (error: { responseCode?: number; response?: string }) => error,
      );

    // Assess
    for (const reply of replies.slice(0, 5)) {
      expect(reply.code).toBe(550);
      expect(reply.text).toMatch(/^550 5\.7\.1 /);
    }
    expect(replies[5]!.code).toBe(250);
    expect(viaNodemailer?.responseCode).toBe(550);
    expect(viaNodemailer?.response).toContain('5.7.1');
    expect(accepted).toHaveLength(0);
  });

  it('refuses a recipient the check does not know with 550 5.1.1 at RCPT TO and takes the message for the others', async () => {
    // Prepare
    const asked: string[] = [];
    await start({
      isKnownRecipient: async (address) => {
        asked.push(address);
        return address.toLowerCase() !== 'alcie@corp.test';
      },
      unknownRecipientDelayMs: 0,
    });
    const client = await open();
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);

    // Act
    const unknown = await client.command('RCPT TO:<alcie@corp.test>');
    const known = await client.command('RCPT TO:<alice@corp.test>');
    const foreign = await client.command('RCPT TO:<x@other.test>');
    expect((await client.command('DATA')).code).toBe(354);
    const done = await client.command('Subject: hi\r\n\r\nhello\r\n.');

    // Assess
    expect(unknown.text).toMatch(/^550 5\.1\.1 /);
    expect(known.code).toBe(250);
    expect(foreign.text).toMatch(/^550 5\.7\.1 /);
    expect(asked).toEqual(['alcie@corp.test', 'alice@corp.test']); // never asked about a foreign domain
    expect(done.code).toBe(250);
    expect(accepted.map((message) => message.envelopeRecipients)).toEqual([['alice@corp.test']]);
  });

  it('holds the 550 5.1.1 for an unknown recipient back by the tarpit delay, a known one not', async () => {
    // Prepare
    await start({ isKnownRecipient: async (address) => address === 'alice@corp.test', unknownRecipientDelayMs: 400 });
    const client = await open();
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);

    // Act
    const timed = async (line: string) => {
      const started = performance.now();
      const reply = await client.command(line);
      return { reply, ms: performance.now() - started };
    };
    const unknown = await timed('RCPT TO:<guess1@corp.test>');
    const known = await timed('RCPT TO:<alice@corp.test>');

    // Assess
    expect(unknown.reply.text).toMatch(/^550 5\.1\.1 /);
    expect(unknown.ms).toBeGreaterThanOrEqual(390);
    expect(known.reply.code).toBe(250);
    expect(known.ms).toBeLessThan(300);
  });

  it('answers 451 4.3.0 at RCPT TO when the recipient check fails, and DATA then has no recipient', async () => {
    // Prepare
    const errors: string[] = [];
    await start({
      isKnownRecipient: async () => {
        throw new Error('directory unreachable');
      },
      onError: (_error, context) => errors.push(context),
    });
    const client = await open();
    expect((await client.command('MAIL FROM:<partner@elsewhere.test>')).code).toBe(250);

    // Act
    const reply = await client.command('RCPT TO:<alice@corp.test>');
    const data = await client.command('DATA');

    // Assess
    expect(reply.text).toMatch(/^451 4\.3\.0 /);
    expect(data.code).toBe(503);
    expect(errors).toEqual(['recipient check']);
    expect(accepted).toHaveLength(0);
  });

  it('compares domains case-insensitively and keeps the recipient as given', async () => {
    // Prepare
    await start();
    const client = await open();
    await client.command('MAIL FROM:<partner@elsewhere.test>');

    // Act
    const upper = await client.command('RCPT TO:<Alice@CORP.TEST>');
    const mixed = await client.command('RCPT TO:<bob@example.org>');
    expect((await client.command('DATA')).code).toBe(354);
    client.write(dotStuff(Buffer.from('Subject: case\r\n\r\nbody\r\n')));
    const done = await client.next();

    // Assess
    expect(upper.code).toBe(250);
    expect(mixed.code).toBe(250);
    expect(done.code).toBe(250);
    expect(accepted[0]!.envelopeRecipients).toEqual(['Alice@CORP.TEST', 'bob@example.org']);
  });

  it('answers 552 5.3.4 for a message over the limit, keeps nothing, and the connection stays usable', async () => {
    // Prepare
    await start({ maxMessageBytes: 1000 });
    const client = await open();
    const big = Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(76).concat('\r\n').repeat(200)}`);

    // Act
    await client.command('MAIL FROM:<partner@elsewhere.test>');
    await client.command('RCPT TO:<alice@corp.test>');
    await client.command('DATA');
    client.write(dotStuff(big));
    const oversize = await client.next();
    await client.command('MAIL FROM:<partner@elsewhere.test>');
    await client.command('RCPT TO:<alice@corp.test>');
    await client.command('DATA');
    client.write(dotStuff(Buffer.from('Subject: small\r\n\r\nok\r\n')));
    const small = await client.next();
    const declared = await client.command('MAIL FROM:<partner@elsewhere.test> SIZE=5000');

    // Assess
    expect(oversize.code).toBe(552);
    expect(oversize.text).toMatch(/^552 5\.3\.4 /);
    expect(small.code).toBe(250);
    expect(accepted.map((message) => message.bytes.toString())).toEqual(['Subject: small\r\n\r\nok\r\n']);
    expect(declared.code).toBe(552);
    expect(await spoolFiles()).toEqual([]);
  });

  it('answers 451 4.3.0 when accept fails, removes the spool file, and a retry goes through', async () => {
    // Prepare
    let failNext = true;
    await start({
      accept: async (message) => {
        if (failNext) {
          failNext = false;
          throw new Error('store unavailable');
        }
        accepted.push(await record(message));
      },
    });
    // held in memory, and spilled to its spool file
    const spilled = `${'x'.repeat(998)}\r\n`.repeat(Math.ceil(KEEP_IN_MEMORY_BYTES / 1000) + 1);
    for (const [index, body] of ['again\r\n', spilled].entries()) {
      failNext = true;
      const mail = { envelope: { from: 'partner@elsewhere.test', to: ['alice@corp.test'] }, raw: `Subject: retry\r\n\r\n${body}` };

      // Act
      const first = await transport()
        .sendMail(mail)
        .then(
          () => null,
          (error: { responseCode?: number; response?: string }) => error,
        );
      const spoolAfterFailure = await spoolFiles();
      const second = await transport().sendMail(mail);

      // Assess
      expect(first?.responseCode).toBe(451);
      expect(first?.response).toContain('4.3.0');
      expect(spoolAfterFailure).toEqual([]);
      expect(second.response).toMatch(/^250 Ok: queued as [a-z2-7]{40}$/);
      expect(accepted).toHaveLength(index + 1);
      expect(accepted[index]?.held === undefined).toBe(body === spilled);
    }
  });

  it('answers 250 only after accept has resolved', async () => {
    // Prepare
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let acceptCalled = false;
    await start({
      accept: async (message) => {
        acceptCalled = true;
        await gate;
        accepted.push(await record(message));
      },
    });
    const client = await open();
    await client.command('MAIL FROM:<partner@elsewhere.test>');
    await client.command('RCPT TO:<alice@corp.test>');
    await client.command('DATA');

    // Act
    client.write(dotStuff(Buffer.from('Subject: wait\r\n\r\nfor it\r\n')));
    const deadline = Date.now() + 5_000;
    while (!acceptCalled && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const repliedEarly = client.hasUnreadReply();
    release();
    const reply = await client.next();

    // Assess
    expect(acceptCalled).toBe(true);
    expect(repliedEarly).toBe(false);
    expect(reply.code).toBe(250);
    expect(accepted).toHaveLength(1);
  });

  it('spools the bytes exactly as sent: dot lines, 8-bit, bare CR and bare LF survive', async () => {
    // Prepare
    await start();
    const client = await open();
    const message = Buffer.concat([
      Buffer.from('Subject: bytes\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n', 'latin1'),
      Buffer.from('.\r\n..\r\n...three\r\n.leading dot\r\n', 'latin1'),
      Buffer.from([0xe4, 0xf6, 0xfc, 0xdf, 0xff, 0x80, 0x00, 0x0d, 0x0a]), // 8-bit and NUL
      Buffer.from('bare CR\rinside a line\r\nbare LF\ninside a line\r\n', 'latin1'),
      Buffer.from('trailing spaces   \r\n\r\n\r\n', 'latin1'),
    ]);

    // Act
    await client.command('MAIL FROM:<partner@elsewhere.test> BODY=8BITMIME');
    await client.command('RCPT TO:<alice@corp.test>');
    await client.command('DATA');
    // In 7-byte pieces: the dot-unstuffing must not depend on how TCP splits the stream.
    const wire = dotStuff(message);
    for (let offset = 0; offset < wire.length; offset += 7) client.write(wire.subarray(offset, offset + 7));
    const reply = await client.next();

    // Assess
    expect(reply.code).toBe(250);
    expect(accepted[0]!.bytes.toString('hex')).toBe(message.toString('hex'));
    expect(accepted[0]!.size).toBe(message.length);
  });

  it('accepts the null sender <>', async () => {
    // Prepare
    await start();
    const client = await open();

    // Act
    const mailFrom = await client.command('MAIL FROM:<>');
    await client.command('RCPT TO:<alice@corp.test>');
    await client.command('DATA');
    client.write(dotStuff(Buffer.from('Subject: Delivery Status Notification\r\n\r\nbounce\r\n')));
    const reply = await client.next();

    // Assess
    expect(mailFrom.code).toBe(250);
    expect(reply.code).toBe(250);
    expect(accepted[0]!.envelopeFrom).toBe('');
  });

  it('takes at most 100 recipients per message (452 4.5.3 beyond), a repeated one is no new recipient', async () => {
    // Prepare
    await start();
    const client = await open();
    await client.command('MAIL FROM:<partner@elsewhere.test>');

    // Act
    const first100 = [];
    for (let n = 0; n < 100; n++) first100.push((await client.command(`RCPT TO:<user${n}@corp.test>`)).code);
    const extra = await client.command('RCPT TO:<user100@corp.test>');
    const repeated = await client.command('RCPT TO:<USER7@corp.test>');
    await client.command('DATA');
    client.write(dotStuff(Buffer.from('Subject: many\r\n\r\nhi\r\n')));
    const reply = await client.next();

    // Assess
    expect(first100.every((code) => code === 250)).toBe(true);
    expect(extra.code).toBe(452);
    expect(extra.text).toMatch(/^452 4\.5\.3 /);
    expect(repeated.code).toBe(250);
    expect(reply.code).toBe(250);
    expect(accepted[0]!.envelopeRecipients).toHaveLength(100);
    expect(accepted[0]!.envelopeRecipients).not.toContain('user100@corp.test');
  });

  it('deletes spool leftovers of an earlier run at start and removes the file when the client disconnects mid-DATA', async () => {
    // Prepare
    await start();
    await server!.close();
    const leftover = join(spoolDir, `${'a'.repeat(40)}.eml`);
    await writeFile(leftover, 'half a message');
    await start();
    const client = await open();
    await client.command('MAIL FROM:<partner@elsewhere.test>');
    await client.command('RCPT TO:<alice@corp.test>');
    await client.command('DATA');

    // Act: more than is held in memory, so the spool file exists while DATA goes on.
    client.write(`Subject: cut\r\n\r\n${'the connection drops before the end\r\n'.repeat(KEEP_IN_MEMORY_BYTES / 32)}`);
    let spoolDuringData: string[] = [];
    for (let tries = 0; tries < 250 && spoolDuringData.length === 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      spoolDuringData = await spoolFiles();
    }
    client.destroy();
    const deadline = Date.now() + 5_000;
    while ((await spoolFiles()).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));

    // Assess
    expect(spoolDuringData).toHaveLength(1);
    expect(spoolDuringData[0]).not.toBe(`${'a'.repeat(40)}.eml`);
    expect(await spoolFiles()).toEqual([]);
    expect(accepted).toHaveLength(0);
  });

  it('holds a small message in memory up to the threshold and spills a larger one to the file, byte for byte either way', async () => {
    // Prepare
    await start();
    const line = `${'0123456789'.repeat(7)}.\r\n`; // 73 bytes, with a dot to unstuff when it starts a line
    const message = (bytes: number): Buffer => {
      const head = 'Subject: sized\r\n\r\n';
      const body = `.${line}`.repeat(Math.ceil(bytes / (line.length + 1)));
      return Buffer.from((head + body).slice(0, bytes - 2).concat('\r\n'));
    };
    const atThreshold = message(KEEP_IN_MEMORY_BYTES);
    const overThreshold = message(KEEP_IN_MEMORY_BYTES + 1);
    const large = message(3 * 1024 * 1024);

    // Act
    for (const raw of [atThreshold, overThreshold, large]) {
      await transport().sendMail({ envelope: { from: 'partner@elsewhere.test', to: ['alice@corp.test'] }, raw });
    }

    // Assess
    expect(accepted.map((taken) => taken.size)).toEqual([atThreshold.length, overThreshold.length, large.length]);
    const sent = [atThreshold, overThreshold, large];
    expect(accepted.map((taken, index) => taken.bytes.equals(sent[index]!))).toEqual([true, true, true]);
    expect(accepted[0]!.held?.equals(atThreshold)).toBe(true);
    expect(accepted[1]!.held).toBeUndefined();
    expect(accepted[2]!.held).toBeUndefined();
    // Held in memory: no spool file was made (accept puts the bytes on disk); spilled: its file.
    expect(accepted.map((taken) => taken.spoolAtAccept.length)).toEqual([0, 1, 1]);
    expect(await spoolFiles()).toEqual([]);
  });

  it('answers 552 for a spilled message over the limit and keeps the spool file at the limit', async () => {
    // Prepare
    const limit = KEEP_IN_MEMORY_BYTES + 64 * 1024;
    let largestSpool = 0;
    await start({ maxMessageBytes: limit });
    const client = await open();
    await client.command('MAIL FROM:<partner@elsewhere.test>');
    await client.command('RCPT TO:<alice@corp.test>');
    await client.command('DATA');

    // Act: four times the limit, then the spool file's size once it stops growing.
    const chunk = `${'y'.repeat(1022)}\r\n`.repeat(64);
    client.write('Subject: too big\r\n\r\n');
    for (let sent = 0; sent < 4 * limit; sent += chunk.length) client.write(chunk);
    let stableSince = Date.now();
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && Date.now() - stableSince < 300; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const file of await spoolFiles()) {
        const size = (await readFile(join(spoolDir, file)).catch(() => Buffer.alloc(0))).length;
        if (size > largestSpool) [largestSpool, stableSince] = [size, Date.now()];
      }
    }
    client.write('\r\n.\r\n');
    const reply = await client.next();

    // Assess
    expect(reply.code).toBe(552);
    expect(largestSpool).toBeGreaterThan(KEEP_IN_MEMORY_BYTES);
    expect(largestSpool).toBeLessThanOrEqual(limit);
    expect(accepted).toHaveLength(0);
    expect(await spoolFiles()).toEqual([]);
  });
});
