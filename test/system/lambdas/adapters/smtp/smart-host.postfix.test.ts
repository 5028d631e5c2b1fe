// The way into the primary against a real Postfix standing in for Exchange: one that
// offers STARTTLS, and one that also asks for SMTP AUTH (Cyrus sasldb) after STARTTLS and
// answers MAIL FROM of a client that did not log in with 530 5.7.1, as an authenticated
// Exchange connector does (and as the Client Frontend connector on 587 does to everyone).
// 1. The forward use case with the real relay: 530 and a refused login (535) are recorded
//    as configuration faults and retried; the right password delivers.
// 2. A rotated secret: the deployed wiring (awsForwardDeps) with the secret in a Secrets
//    Manager stand-in uses the new password without a restart once the old one was refused.
// 3. The probe (SmtpProbeAdapter) with the same settings: plaintext, STARTTLS, login
//    required and missing (530 at MAIL), wrong password (535 at AUTH), the right one, a
//    certificate for another name, an unknown mailbox, nothing listening (unreachable), a
//    server that never greets (timeout within its limit). Never DATA.
// Needs root and Debian's postfix, openssl and sasl2-bin.
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpProbeAdapter } from '../../../../../lambdas/adapters/smtp/smtp-probe.ts';
import { SmtpRelayAdapter, type SmtpRelayOptions } from '../../../../../lambdas/adapters/smtp/smtp-relay.ts';
import { ENV } from '../../../../../lambdas/contract/environment.ts';
import { type ForwardDeps, forwardMessage } from '../../../../../lambdas/core/forward.ts';
import type { ProbeResult } from '../../../../../lambdas/ports/smtp-probe.ts';
import { awsForwardDeps } from '../../../../../lambdas/wiring/aws-relay.ts';
import { makeRecord, makeState } from '../../../../support/index-contract/fixtures.ts';
import { ManualClock, MemoryRawMailStore, RecordingForwardQueue } from '../../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../../support/memory-message-index.ts';
import { type PostfixInstance, startPostfix } from '../../../../support/postfix.ts';
import { STARTTLS_STEPS } from '../../../../support/probe-steps.ts';
import { startFakeSecretsManager } from '../../../../support/secrets-manager-fake.ts';
import { freePort } from '../../../../support/wait.ts';

const DOMAIN = 'corp.test';
const RELAY_USER = 'svc-relay@corp.test';
const RELAY_PASSWORD = 'Sommer 2030! äöü';

let open: PostfixInstance;
let guarded: PostfixInstance;

beforeAll(async () => {
  [open, guarded] = await Promise.all([
    startPostfix({ domain: DOMAIN, users: ['alice', 'bob'], tls: true }),
    startPostfix({ domain: DOMAIN, users: ['alice', 'bob'], tls: true, sasl: { users: { [RELAY_USER]: RELAY_PASSWORD }, required: true } }),
  ]);
});

afterAll(async () => {
  await Promise.all([open?.destroy(), guarded?.destroy()]);
});

/** The relay's settings for an instance: STARTTLS required against its pinned certificate. */
function settings(postfix: PostfixInstance, extra: Partial<SmtpRelayOptions> = {}): SmtpRelayOptions {
  return { host: postfix.host, port: postfix.port, tls: 'starttls-required', ca: postfix.ca, name: 'shadowmail.test', ...extra };
}

const SHORT = { connectionTimeoutMs: 5_000, greetingTimeoutMs: 5_000, socketTimeoutMs: 10_000, totalTimeoutMs: 20_000 };

describe('the forward through a connector that asks for a login', () => {
  async function forwardOnce(relay: SmtpRelayAdapter, recipient: string) {
    const clock = new ManualClock('2030-03-01T12:00:00.000Z');
    const index = new MemoryMessageIndex();
    const store = new MemoryRawMailStore();
    const id = `ses-${recipient.split('@')[0]}-${Math.random().toString(36).slice(2, 8)}`;
    const record = makeRecord(id, {
      receivedAt: '2030-03-01T11:59:00.000Z',
      envelopeFrom: 'partner@partner.test',
      envelopeRecipients: [recipient],
      expiresAt: Math.floor(clock.now().getTime() / 1000) + 86_400,
      raw: { bucket: 'raw', key: id },
    });
    await index.putMessage(record);
    await index.createDeliveryState(makeState(id, recipient, { receivedAt: record.receivedAt, expiresAt: record.expiresAt }));
    store.put(record.raw, `From: partner@partner.test\r\nTo: ${recipient}\r\nSubject: ${id}\r\n\r\nhello\r\n`);
    const deps: ForwardDeps = {
      index,
      rawStore: store,
      relay,
      forwardQueue: new RecordingForwardQueue(),
      clock,
      workerId: 'forward-1',
      config: { stackId: 'shadow-test', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 60_000 },
    };
    const outcome = await forwardMessage({ sesMessageId: id, receivedAt: record.receivedAt, attempt: 0 }, deps);
    const [state] = await index.getDeliveryStates(id, clock.now());
    return { outcome, state: state! };
  }

  it('records 530 at MAIL FROM (no login given) as a configuration fault and keeps the message for a retry', async () => {
    // Act
    const { outcome, state } = await forwardOnce(new SmtpRelayAdapter({ ...settings(guarded), ...SHORT }), guarded.address('alice'));

    // Assess
    expect(outcome).toMatchObject({
      status: 'attempted',
      deferred: [guarded.address('alice')],
      configurationFault: 'auth',
      retryInSeconds: 60,
    });
    expect(state.state).toBe('deferred');
    expect(state.attempts[0]).toMatchObject({ code: 530, outcome: 'deferred', configurationFault: 'auth' });
    expect(state.attempts[0]!.response).toMatch(/^530 5\.7\.1 .*Client was not authenticated/);
    expect(await guarded.readDelivered('alice')).toHaveLength(0);
  });

  it('records a refused login (535) as a configuration fault and keeps the message for a retry', async () => {
    // Act
    const relay = new SmtpRelayAdapter({ ...settings(guarded, { auth: { user: RELAY_USER, pass: 'Winter 2029' } }), ...SHORT });
    const { outcome, state } = await forwardOnce(relay, guarded.address('alice'));

    // Assess
    expect(outcome).toMatchObject({ status: 'attempted', deferred: [guarded.address('alice')], configurationFault: 'auth' });
    expect(state.attempts[0]).toMatchObject({ code: 0, outcome: 'deferred', configurationFault: 'auth' });
    expect(state.attempts[0]!.response).toMatch(/authentication .* failed.*535/i);
  });

  it.each(['PLAIN', 'LOGIN'] as const)('delivers with the right password (AUTH %s after STARTTLS)', async (method) => {
    // Prepare
    const before = (await guarded.readDelivered('bob')).length;
    const relay = new SmtpRelayAdapter({ ...settings(guarded, { auth: { user: RELAY_USER, pass: RELAY_PASSWORD, method } }), ...SHORT });

    // Act
    const { outcome, state } = await forwardOnce(relay, guarded.address('bob'));

    // Assess
    expect(outcome).toMatchObject({ status: 'attempted', delivered: [guarded.address('bob')], configurationFault: null });
    expect(state.attempts[0]).not.toHaveProperty('configurationFault');
    await guarded.waitForDelivered('bob', before + 1);
  });
});

describe('a rotated smart-host secret, in the deployed wiring', () => {
  it('is used without a restart: the refused old password makes the next session read the secret again', async () => {
    // Prepare: a connector without TLS (rotation is not about TLS), the secret still holding the old password
    const plainGuarded = await startPostfix({
      domain: DOMAIN,
      users: ['carol'],
      sasl: { users: { [RELAY_USER]: RELAY_PASSWORD }, required: true },
    });
    const secrets = await startFakeSecretsManager();
    const secretArn = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:shadowmail/smarthost-AbCdEf';
    secrets.secrets.set(secretArn, JSON.stringify({ username: RELAY_USER, password: 'Winter 2029' }));
    const saved = { ...process.env };
    Object.assign(process.env, secrets.env());
    try {
      const { relay } = await awsForwardDeps({
        [ENV.tableName]: 'shadowmail-table',
        [ENV.forwardQueueUrl]: 'https://sqs.eu-central-1.amazonaws.com/123456789012/shadowmail-forward',
        [ENV.sourceQueueUrl]: 'https://sqs.eu-central-1.amazonaws.com/123456789012/shadowmail-forward',
        [ENV.smartHost]: plainGuarded.host,
        [ENV.smartHostPort]: String(plainGuarded.port),
        [ENV.smartHostTls]: 'none',
        [ENV.smartHostAuthSecretArn]: secretArn,
      });
      const message = () => Promise.resolve(Readable.from([Buffer.from('Subject: rotated\r\n\r\nhello\r\n')]));
      const envelope = { from: 'partner@partner.test', recipients: [plainGuarded.address('carol')] };

      // Act: the old password is refused; the admin puts the new one; the next attempt delivers
      const [before] = await relay.relay(envelope, message);
      secrets.secrets.set(secretArn, JSON.stringify({ username: RELAY_USER, password: RELAY_PASSWORD }));
      const [after] = await relay.relay(envelope, message);

      // Assess
      expect(before).toMatchObject({ code: 0, fault: 'auth' });
      expect(after).toMatchObject({ code: 250 });
      expect(secrets.reads).toEqual([secretArn, secretArn]);
      await plainGuarded.waitForDelivered('carol', 1);
    } finally {
      process.env = saved;
      await secrets.close();
      await plainGuarded.destroy();
    }
  });
});

describe('the probe', () => {
  const request = (recipient: string) => ({ from: 'postmaster@corp.test', recipient });
  const stepNames = (result: ProbeResult) =>
    result.steps.map((step) => `${step.step}:${step.ok ? (step.code ?? 'ok') : `FAIL ${step.code ?? ''}`.trim()}`);

  it('walks a plaintext session to RCPT, then RSET and QUIT, and never sends DATA', async () => {
    // Prepare
    const before = await open.log();

    // Act
    const result = await new SmtpProbeAdapter(settings(open, { tls: 'none' })).probe(request(open.address('alice')));

    // Assess
    expect(result).toMatchObject({ host: open.host, port: open.port, ok: true, fault: null });
    expect(stepNames(result)).toEqual(['connect:ok', 'greeting:220', 'ehlo:250', 'mail:250', 'rcpt:250', 'rset:250', 'quit:221']);
    expect(result.summary).toMatch(/accepted shadowmail's session .*RCPT TO <alice@corp\.test>.*the forward can deliver/);
    for (const step of result.steps) expect(step.ms).toBeGreaterThanOrEqual(0);
    // Postfix counts the commands of each session when it ends (logged just after QUIT)
    let log = '';
    for (
      const until = Date.now() + 5_000;
      !/ disconnect from /.test(log) && Date.now() < until;
      await new Promise((resolve) => setTimeout(resolve, 25))
    ) {
      log = (await open.log()).slice(before.length);
    }
    const disconnect = log.split('\n').filter((line) => / disconnect from /.test(line));
    expect(disconnect).toEqual([expect.stringMatching(/ ehlo=1 mail=1 rcpt=1 rset=1 quit=1 commands=5$/)]);
    expect(log).not.toMatch(/data=|cleanup/);
    await expect(open.queueSize()).resolves.toBe(0);
  });

  it('upgrades with STARTTLS, checks the certificate, and says EHLO again', async () => {
    // Act
    const result = await new SmtpProbeAdapter(settings(open)).probe(request(open.address('bob')));

    // Assess
    expect(result.ok).toBe(true);
    expect(stepNames(result)).toEqual([...STARTTLS_STEPS, 'mail:250', 'rcpt:250', 'rset:250', 'quit:221']);
    expect(result.steps.find((step) => step.step === 'starttls')!.reply).toMatch(
      /TLSv1\.[23], certificate .*verified for 127\.0\.0\.1|verified for/,
    );
    expect(result.summary).toMatch(/\(TLS, MAIL FROM, RCPT TO/);
  });

  it('reports a login that is required and missing: 530 at MAIL FROM, an auth fault', async () => {
    // Act
    const result = await new SmtpProbeAdapter(settings(guarded)).probe(request(guarded.address('alice')));

    // Assess
    expect(result).toMatchObject({ ok: false, fault: 'auth' });
    expect(stepNames(result)).toEqual([...STARTTLS_STEPS, 'mail:FAIL 530', 'rset:250', 'quit:221']);
    expect(result.summary).toMatch(/wants a login \(530 .* at MAIL FROM\).*smartHost\.authSecretArn/);
  });

  it('reports a wrong password: 535 at AUTH, an auth fault, and asks the credential source to read the secret again', async () => {
    // Prepare
    let refusals = 0;
    const credentials = { current: async () => ({ user: RELAY_USER, pass: 'Winter 2029' }), refused: () => void refusals++ };

    // Act
    const result = await new SmtpProbeAdapter(settings(guarded, { credentials })).probe(request(guarded.address('alice')));

    // Assess
    expect(result).toMatchObject({ ok: false, fault: 'auth' });
    expect(stepNames(result)).toEqual(['connect:ok', 'greeting:220', 'ehlo:250', 'starttls:220', 'ehlo:250', 'auth:FAIL 535', 'quit:221']);
    expect(result.summary).toMatch(/refused shadowmail's login \(535 .*\): wrong user name or password in the smart-host secret/);
    expect(JSON.stringify(result)).not.toContain('Winter 2029');
    expect(refusals).toBe(1);
  });

  it('logs in with the right password and reaches RCPT', async () => {
    // Act
    const result = await new SmtpProbeAdapter(settings(guarded, { auth: { user: RELAY_USER, pass: RELAY_PASSWORD } })).probe(
      request(guarded.address('bob')),
    );

    // Assess
    expect(result).toMatchObject({ ok: true, fault: null });
    expect(stepNames(result)).toEqual([...STARTTLS_STEPS, 'auth:235', 'mail:250', 'rcpt:250', 'rset:250', 'quit:221']);
    expect(result.summary).toMatch(/\(TLS, the login, MAIL FROM, RCPT TO/);
    expect(JSON.stringify(result)).not.toContain(RELAY_PASSWORD);
  });

  it('reports a certificate for another name as a tls fault and sends nothing after it', async () => {
    // Act
    const result = await new SmtpProbeAdapter(settings(open, { servername: 'exchange.corp.example' })).probe(
      request(open.address('alice')),
    );

    // Assess
    expect(result).toMatchObject({ ok: false, fault: 'tls' });
    expect(stepNames(result)).toEqual(['connect:ok', 'greeting:220', 'ehlo:250', 'starttls:FAIL']);
    expect(result.steps.at(-1)!.reply).toMatch(/not valid for this name/);
    expect(result.summary).toMatch(/TLS with .* failed .*names exchange\.corp\.example/);
  });

  it('reports a recipient Exchange does not know as refused at RCPT', async () => {
    // Act
    const result = await new SmtpProbeAdapter(settings(open)).probe(request(`nobody@${DOMAIN}`));

    // Assess
    expect(result).toMatchObject({ ok: false, fault: 'refused' });
    expect(result.steps.find((step) => step.step === 'rcpt')).toMatchObject({ ok: false, code: 550 });
    expect(result.summary).toMatch(/refused the recipient <nobody@corp\.test> \(550 .*\): probe an existing mailbox/);
  });

  it('reports nothing listening as unreachable', async () => {
    // Prepare
    const port = await freePort();

    // Act
    const result = await new SmtpProbeAdapter({ host: '127.0.0.1', port, tls: 'starttls-required' }).probe(request(`alice@${DOMAIN}`));

    // Assess
    expect(result).toMatchObject({ ok: false, fault: 'unreachable', port });
    expect(stepNames(result)).toEqual(['connect:FAIL']);
    expect(result.steps[0]!.reply).toMatch(/ECONNREFUSED/);
    expect(result.summary).toMatch(/refused the connection .*nothing listens there/);
  });

  it("names AWS's port 25 block and the request that lifts it when port 25 cannot be reached", async () => {
    // Act: a loopback address nothing listens on port 25 of (as on the test machines: no MTA runs)
    const result = await new SmtpProbeAdapter({ host: '127.0.0.3', port: 25 }).probe(request(`alice@${DOMAIN}`));

    // Assess
    expect(result).toMatchObject({ ok: false, fault: 'unreachable', port: 25 });
    expect(stepNames(result)).toEqual(['connect:FAIL']);
    expect(result.summary).toMatch(
      /AWS blocks outbound port 25 .*removes the restriction for the NAT gateway's Elastic IP .*docs\/deploy\.md 6\.4/,
    );
  });

  it('reports a connection closed before the greeting as unreachable: something in between took it', async () => {
    // Prepare: a listener that drops every connection at once, as a firewall or proxy may
    const dropper: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    try {
      // Act
      const result = await new SmtpProbeAdapter({ host: '127.0.0.1', port: (dropper.address() as { port: number }).port }).probe(
        request(`alice@${DOMAIN}`),
      );

      // Assess
      expect(result).toMatchObject({ ok: false, fault: 'unreachable' });
      expect(stepNames(result)).toEqual(['connect:ok', 'greeting:FAIL']);
      expect(result.steps[1]!.reply).toMatch(/closed before the greeting/);
      expect(result.summary).toMatch(/closed the connection before the SMTP greeting .*firewall or proxy/);
    } finally {
      await new Promise<void>((resolve) => dropper.close(() => resolve()));
    }
  });

  it('reports a server that takes the connection and never greets as a timeout within the greeting limit', async () => {
    // Prepare
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const greetingMs = 400;

    try {
      // Act
      const result = await new SmtpProbeAdapter({ host: '127.0.0.1', port }, { greetingMs }).probe(request(`alice@${DOMAIN}`));

      // Assess
      expect(result).toMatchObject({ ok: false, fault: 'timeout' });
      expect(stepNames(result)).toEqual(['connect:ok', 'greeting:FAIL']);
      const greeting = result.steps[1]!;
      expect(greeting.reply).toBe(`no answer within ${greetingMs} ms`);
      expect(greeting.ms).toBeGreaterThanOrEqual(greetingMs - 5);
      expect(greeting.ms).toBeLessThan(greetingMs + 1_000);
      expect(result.summary).toMatch(/took the connection but did not answer with a greeting/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
