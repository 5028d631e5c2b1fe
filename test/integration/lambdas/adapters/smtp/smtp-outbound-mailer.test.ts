// SmtpOutboundMailer against real SMTP servers on 127.0.0.1: the local-mode primary sink
// (the composed bytes must arrive exactly, with the envelope including Bcc) and a plain
// smtp-server that refuses recipients, for how refusals and outages are reported.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { type SinkEnvelope, type SmtpSink, startSmtpSink } from '../../../../../lambdas/adapters/local/smtp-sink.ts';
import { NodemailerMimeComposer } from '../../../../../lambdas/adapters/mime/nodemailer-mime-composer.ts';
import { SmtpOutboundMailer } from '../../../../../lambdas/adapters/smtp/smtp-outbound-mailer.ts';
import { InvalidInputError, RetryableError } from '../../../../../lambdas/core/errors.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sink(): Promise<{ sink: SmtpSink; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-outbound-'));
  const started = await startSmtpSink({ host: '127.0.0.1', port: 0, dir, closeTimeoutMs: 500 });
  cleanups.push(
    () => rm(dir, { recursive: true, force: true }),
    () => started.close(),
  );
  return { sink: started, dir };
}

async function kept(dir: string): Promise<{ eml: Buffer; envelope: SinkEnvelope }[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.eml')).sort();
  return Promise.all(
    names.map(async (name) => ({
      eml: await readFile(join(dir, name)),
      envelope: JSON.parse(await readFile(join(dir, name.replace(/\.eml$/, '.json')), 'utf8')) as SinkEnvelope,
    })),
  );
}

function mailer(port: number, extra: Partial<ConstructorParameters<typeof SmtpOutboundMailer>[0]> = {}): SmtpOutboundMailer {
  const created = new SmtpOutboundMailer({
    host: '127.0.0.1',
    port,
    tls: 'none',
    connectionTimeoutMs: 5_000,
    greetingTimeoutMs: 5_000,
    socketTimeoutMs: 10_000,
    ...extra,
  });
  cleanups.push(() => created.close());
  return created;
}

/** An smtp-server that refuses the given recipients with 550 and takes the rest. */
async function refusingServer(refused: string[]): Promise<{ port: number; received: { to: string[]; data: Buffer }[] }> {
  const received: { to: string[]; data: Buffer }[] = [];
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    closeTimeout: 100,
    onRcptTo(address, _session, callback) {
      callback(refused.includes(address.address) ? Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks) });
        callback(null, 'queued as R1');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, received };
}

describe('SmtpOutboundMailer', () => {
  it('delivers a composed message to the local sink byte for byte, with the envelope including Bcc', async () => {
    // Prepare
    const { sink: target, dir } = await sink();
    const raw = await new NodemailerMimeComposer().compose({
      from: { name: 'Jürgen Müller', address: 'juergen@corp.test' },
      to: [{ name: 'Bob', address: 'bob@partner.test' }],
      cc: [{ name: '', address: 'carol@partner.test' }],
      subject: 'Grüße',
      // Lines starting with a dot exercise dot-stuffing on the way and its removal at the sink.
      text: 'Hello\n.\n..two dots\n.hidden\nend\n',
      messageId: '<m1@corp.test>',
      date: new Date('2030-03-01T12:00:00.000Z'),
      inReplyTo: null,
      references: [],
      attachments: [
        {
          filename: 'bin.dat',
          contentType: 'application/octet-stream',
          content: Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256)),
        },
      ],
    });
    const envelope = { from: 'juergen@corp.test', recipients: ['bob@partner.test', 'carol@partner.test', 'secret-bcc@partner.test'] };
    // Act
    const result = await mailer(target.port).send(envelope, raw);
    // Assess
    const messages = await kept(dir);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.eml.equals(raw)).toBe(true);
    expect(messages[0]!.envelope.from).toBe('juergen@corp.test');
    expect(messages[0]!.envelope.recipients).toEqual(['bob@partner.test', 'carol@partner.test', 'secret-bcc@partner.test']);
    expect(messages[0]!.eml.toString('latin1')).not.toMatch(/^bcc:/im);
    expect(result.providerMessageId).toMatch(/^250 .*kept as .*\.eml/);
  });

  it('reports a server refusing every recipient as invalid input', async () => {
    // Prepare
    const server = await refusingServer(['nobody@partner.test']);
    // Act
    const outcome = mailer(server.port).send(
      { from: 'alice@corp.test', recipients: ['nobody@partner.test'] },
      Buffer.from('Subject: x\r\n\r\nx\r\n'),
    );
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(InvalidInputError);
    await expect(outcome).rejects.toThrow(/550/);
    expect(server.received).toHaveLength(0);
  });

  it('delivers to the accepted recipients and reports the refused ones', async () => {
    // Prepare
    const server = await refusingServer(['nobody@partner.test']);
    const reported: { recipient: string; response: string }[][] = [];
    const target = mailer(server.port, { onRejected: (rejected) => reported.push(rejected) });
    // Act
    await target.send(
      { from: 'alice@corp.test', recipients: ['bob@partner.test', 'nobody@partner.test'] },
      Buffer.from('Subject: x\r\n\r\nx\r\n'),
    );
    // Assess
    expect(server.received.map((m) => m.to)).toEqual([['bob@partner.test']]);
    expect(reported).toHaveLength(1);
    expect(reported[0]!.map((r) => r.recipient)).toEqual(['nobody@partner.test']);
    expect(reported[0]![0]!.response).toMatch(/550/);
  });

  it('reports an unreachable server as retryable', async () => {
    // Prepare: a port that was just free and has nobody listening
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    // Act
    const outcome = mailer(port).send(
      { from: 'alice@corp.test', recipients: ['bob@partner.test'] },
      Buffer.from('Subject: x\r\n\r\nx\r\n'),
    );
    // Assess
    await expect(outcome).rejects.toBeInstanceOf(RetryableError);
  });

  it('refuses to be configured with credentials over plain SMTP', () => {
    // Prepare
    const options = { host: '127.0.0.1', port: 2525, tls: 'none' as const, auth: { user: 'u', pass: 'p' } };
    // Act
    const attempt = () => new SmtpOutboundMailer(options);
    // Assess
    expect(attempt).toThrow(InvalidInputError);
  });
});
