// The built-in primary of local mode: every message it receives becomes one .eml
// file with the exact bytes plus a .json envelope, in arrival order.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SinkEnvelope, type SmtpSink, startSmtpSink } from '../../../../../lambdas/adapters/local/smtp-sink.ts';
import { dotStuff, RawSmtp } from '../../../../support/raw-smtp.ts';

describe('SMTP sink (local primary)', () => {
  let root: string;
  let dir: string;
  let sink: SmtpSink;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'smtp-sink-'));
    dir = join(root, 'primary');
    sink = await startSmtpSink({ port: 0, dir, closeTimeoutMs: 1_000 });
  });

  afterEach(async () => {
    await sink.close();
    await rm(root, { recursive: true, force: true });
  });

  it('keeps each message as <timestamp>-<seq>.eml with the exact bytes and its envelope in <same>.json', async () => {
    // Prepare
    const transport = createTransport({
      host: '127.0.0.1',
      port: sink.port,
      secure: false,
      ignoreTLS: true,
      pool: true,
      maxConnections: 1,
    });
    const messages = [0, 1, 2].map((n) =>
      Buffer.from(`X-Shadowmail-Forwarded: test\r\nSubject: sink ${n}\r\n\r\n.dot line\r\n..two\r\n.\r\nGrüße ${n} – €\r\n`, 'utf8'),
    );
    const envelopes = [
      { from: 'partner@elsewhere.test', to: ['alice@corp.test', 'bob@corp.test'] },
      { from: 'x@y.test', to: ['anyone@anywhere.example'] },
      { from: 'z@y.test', to: ['Carol@corp.test'] },
    ];
    const started = Date.now();

    // Act
    for (let n = 0; n < 3; n++) await transport.sendMail({ envelope: envelopes[n]!, raw: messages[n]! });
    transport.close();

    // Assess
    const files = (await readdir(dir)).sort();
    expect(files.filter((file) => file.startsWith('.'))).toEqual([]);
    const emls = files.filter((file) => file.endsWith('.eml'));
    expect(emls).toHaveLength(3);
    for (let n = 0; n < 3; n++) {
      const base = emls[n]!.slice(0, -'.eml'.length);
      expect(base).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-\d{6}$/);
      const bytes = await readFile(join(dir, emls[n]!));
      expect(bytes.equals(messages[n]!)).toBe(true);
      const envelope = JSON.parse(await readFile(join(dir, `${base}.json`), 'utf8')) as SinkEnvelope;
      expect(envelope.from).toBe(envelopes[n]!.from);
      expect(envelope.recipients).toEqual(envelopes[n]!.to);
      expect(envelope.size).toBe(messages[n]!.length);
      expect(Date.parse(envelope.receivedAt)).toBeGreaterThanOrEqual(started - 1000);
    }
    expect(files.filter((file) => file.endsWith('.json'))).toHaveLength(3);
  });

  it('records the null sender as an empty from and keeps bare CR/LF and 8-bit bytes unchanged', async () => {
    // Prepare
    const { client, greeting } = await RawSmtp.open(sink.port);
    const message = Buffer.concat([
      Buffer.from('Subject: bounce\r\n\r\n', 'latin1'),
      Buffer.from([0xe4, 0xff, 0x0d, 0x61, 0x0a, 0x62, 0x0d, 0x0a]),
    ]);

    // Act
    await client.command('EHLO client.test');
    const mailFrom = await client.command('MAIL FROM:<>');
    await client.command('RCPT TO:<postmaster@corp.test>');
    await client.command('DATA');
    client.write(dotStuff(message));
    const reply = await client.next();
    await client.quit();

    // Assess
    expect(greeting.code).toBe(220);
    expect(mailFrom.code).toBe(250);
    expect(reply.code).toBe(250);
    const [eml] = (await readdir(dir)).filter((file) => file.endsWith('.eml'));
    expect(reply.text).toContain(eml);
    expect((await readFile(join(dir, eml!))).toString('hex')).toBe(message.toString('hex'));
    const envelope = JSON.parse(await readFile(join(dir, eml!.replace(/\.eml$/, '.json')), 'utf8')) as SinkEnvelope;
    expect(envelope).toMatchObject({ from: '', recipients: ['postmaster@corp.test'], size: message.length });
  });
});
