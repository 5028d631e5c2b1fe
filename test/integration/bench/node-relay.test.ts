// The bench's yardstick relay (bench/node-relay.ts) as the bench runs it: a child process
// on 127.0.0.1 that answers 250 and relays each message from memory to a primary, here an
// smtp-server sink. What it relays must be what it was given, or its CPU per message
// would be the floor of a different job.
import type { AddressInfo } from 'node:net';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterEach, expect, it } from 'vitest';
import { type NodeRelay, startNodeRelay } from '../../../bench/node-relay.ts';
import { isAlive } from '../../../lambdas/adapters/local/process-alive.ts';

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSink(): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => sink.close(() => resolve())));
  return { port: (sink.server.address() as AddressInfo).port, received };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition() && Date.now() < deadline; )
    await new Promise((resolve) => setTimeout(resolve, 20));
}

it('relays each message byte for byte with its envelope, and stops its child', async () => {
  const sink = await startSink();
  const relay: NodeRelay = await startNodeRelay(sink.port);
  cleanups.push(() => relay.stop());
  expect(isAlive(relay.pid)).toBe(true);

  const client = createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
  const first = Buffer.from('From: a@sender.example\r\nTo: alice@corp.test\r\nSubject: one\r\n\r\n.leading dot\r\nbody\r\n');
  const second = Buffer.from('From: b@sender.example\r\nTo: bob@corp.test\r\nSubject: two\r\n\r\nsecond body\r\n');
  await client.sendMail({ envelope: { from: 'a@sender.example', to: ['alice@corp.test', 'carol@corp.test'] }, raw: first });
  await client.sendMail({ envelope: { from: '', to: ['bob@corp.test'] }, raw: second });
  client.close();

  await until(() => sink.received.length === 2, 10_000);
  const byFrom = new Map(sink.received.map((message) => [message.from, message]));
  expect(byFrom.get('a@sender.example')).toEqual({ from: 'a@sender.example', to: ['alice@corp.test', 'carol@corp.test'], raw: first });
  expect(byFrom.get('')).toEqual({ from: '', to: ['bob@corp.test'], raw: second });
  expect(relay.output()).toBe('');

  await relay.stop();
  expect(isAlive(relay.pid)).toBe(false);
});

it('says why when it cannot relay', async () => {
  // a port nothing listens on: the relay still answers 250 (it keeps nothing) and says so
  const closed = await startNodeRelay(1);
  cleanups.push(() => closed.stop());
  const client = createTransport({ host: '127.0.0.1', port: closed.port, ignoreTLS: true });
  await client.sendMail({ envelope: { from: 'a@sender.example', to: ['alice@corp.test'] }, raw: 'Subject: lost\r\n\r\nx\r\n' });
  client.close();
  await until(() => closed.output().includes('not relayed'), 10_000);
  expect(closed.output()).toMatch(/node relay: not relayed: .*ECONNREFUSED/);
});
