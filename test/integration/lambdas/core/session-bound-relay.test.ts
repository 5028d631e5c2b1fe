// The bound on SMTP sessions to the primary in one process (local mode's forward and
// resend share one SessionBoundRelay): a real SMTP server counts the sessions that are
// open at the same time while many relays are asked for at once.

import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpRelayAdapter } from '../../../../lambdas/adapters/smtp/smtp-relay.ts';
import { SessionBoundRelay } from '../../../../lambdas/core/session-bound-relay.ts';
import type { SmtpRelay } from '../../../../lambdas/ports/smtp-relay.ts';

interface CountingServer {
  port: number;
  maxOpen: number;
  sessions: number;
  delivered: number;
  close(): Promise<void>;
}

/** Answers the end of DATA after `holdMs`, so sessions overlap when the client opens them side by side. */
async function startCountingServer(holdMs: number): Promise<CountingServer> {
  let open = 0;
  const state = { maxOpen: 0, sessions: 0, delivered: 0 };
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    closeTimeout: 100,
    onConnect(_session, callback) {
      open += 1;
      state.sessions += 1;
      state.maxOpen = Math.max(state.maxOpen, open);
      callback();
    },
    onClose() {
      open -= 1;
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        setTimeout(() => {
          state.delivered += 1;
          callback(null, 'Ok: queued');
        }, holdMs);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as CountingServer;
}

const message = () => Promise.resolve(Readable.from([Buffer.from('Subject: bound\r\n\r\nbody\r\n')]));

async function relayMany(relay: SmtpRelay, count: number) {
  return Promise.all(
    Array.from({ length: count }, (_, n) => relay.relay({ from: 'partner@elsewhere.test', recipients: [`user${n}@corp.test`] }, message)),
  );
}

describe('SessionBoundRelay', () => {
  let server: CountingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('never has more sessions open with the primary than its bound, and relays every message', async () => {
    // Prepare
    server = await startCountingServer(150);
    const relay = new SessionBoundRelay(new SmtpRelayAdapter({ host: '127.0.0.1', port: server.port, tls: 'none' }), 3);

    // Act
    const replies = await relayMany(relay, 12);

    // Assess: the bound was reached (the relays did overlap) and never passed
    expect(replies.flat().map((reply) => reply.code)).toEqual(Array(12).fill(250));
    expect(server.delivered).toBe(12);
    expect(server.maxOpen).toBe(3);
  });

  it('the same burst without the bound opens them all at once (what the bound prevents)', async () => {
    // Prepare
    server = await startCountingServer(150);
    const relay = new SmtpRelayAdapter({ host: '127.0.0.1', port: server.port, tls: 'none' });

    // Act
    await relayMany(relay, 12);

    // Assess
    expect(server.maxOpen).toBeGreaterThan(3);
  });

  it('gives a slot back when a relay fails, so the next ones still go out', async () => {
    // Prepare: the first two relays read a store that fails; ten more follow
    server = await startCountingServer(20);
    const relay = new SessionBoundRelay(new SmtpRelayAdapter({ host: '127.0.0.1', port: server.port, tls: 'none' }), 2);
    const broken = () => Promise.reject(new Error('store unavailable'));

    // Act
    const failures = await Promise.allSettled(
      [0, 1].map(() => relay.relay({ from: 'p@elsewhere.test', recipients: ['a@corp.test'] }, broken)),
    );
    const replies = await relayMany(relay, 10);

    // Assess
    expect(failures.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(replies.flat().every((reply) => reply.code === 250)).toBe(true);
    expect(server.maxOpen).toBeLessThanOrEqual(2);
  });

  it('refuses a bound below one', () => {
    const inner: SmtpRelay = { relay: async () => [] };
    expect(() => new SessionBoundRelay(inner, 0)).toThrow(/maxSessions/);
  });
});
