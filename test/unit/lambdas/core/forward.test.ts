// The forward use case: per-recipient outcomes, backoff, maximum age, loops, duplicates.
import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseBusyError } from '../../../../lambdas/core/errors.ts';
import { type ForwardDeps, forwardMessage, retryDelaySeconds } from '../../../../lambdas/core/forward.ts';
import { relayGate } from '../../../../lambdas/core/forward-part.ts';
import { ingestMessage } from '../../../../lambdas/core/ingest.ts';
import type { ForwardJob, MessageSummary, ReceivedMail } from '../../../../lambdas/core/model.ts';
import type { MimeParser } from '../../../../lambdas/ports/mime-parser.ts';
import { ManualClock, MemoryRawMailStore, RecordingForwardQueue, ScriptedRelay } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { meterOverlap } from '../../../support/overlapping-calls.ts';
import { receivedMail } from '../../../support/received-mail.ts';

const RAW = 'Subject: hi\r\n\r\n.leading dot\r\nbare\rCR and bare\nLF \xff\r\n';

/** Summaries without a parser: these tests are about forwarding. */
const headerOnlyParser = (stamps: string[] = []): MimeParser => ({
  summarize: async (raw) => {
    for await (const _ of raw) void _;
    const summary: MessageSummary = {
      from: [],
      to: [],
      cc: [],
      replyTo: [],
      subject: 'hi',
      date: null,
      messageIdHeader: null,
      inReplyTo: null,
      references: [],
      snippet: '',
      hasHtml: false,
      attachments: [],
      forwardStamps: stamps,
      parseError: null,
    };
    return summary;
  },
});

describe('forwardMessage', () => {
  let index: MemoryMessageIndex;
  let store: MemoryRawMailStore;
  let queue: RecordingForwardQueue;
  let relay: ScriptedRelay;
  let clock: ManualClock;
  let deps: ForwardDeps;
  let mail: ReceivedMail;

  async function ingest(stamps: string[] = []): Promise<ForwardJob> {
    await ingestMessage(mail, {
      index,
      rawStore: store,
      parser: headerOnlyParser(stamps),
      forwardQueue: queue,
      clock,
      workerId: 'ingest',
      config: { retentionDays: 28, stackId: 'stack-1', leaseMs: 60_000, subaddressSeparator: '+' },
    });
    return queue.sent.shift()!.job;
  }

  beforeEach(() => {
    index = new MemoryMessageIndex();
    store = new MemoryRawMailStore();
    queue = new RecordingForwardQueue();
    relay = new ScriptedRelay();
    clock = new ManualClock('2026-11-20T10:00:01.000Z');
    mail = receivedMail({ envelopeFrom: 'sender@partner.test', envelopeRecipients: ['a@corp.test', 'b@corp.test', 'c@corp.test'] });
    store.put(mail.raw, Buffer.from(RAW, 'latin1'));
    deps = {
      index,
      rawStore: store,
      relay,
      forwardQueue: queue,
      clock,
      workerId: 'forward-1',
      config: { stackId: 'stack-1', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 300_000 },
    };
  });

  it('relays the stored bytes unchanged with the original envelope and one trace header on top', async () => {
    const job = await ingest();

    const outcome = await forwardMessage(job, deps);

    expect(outcome).toMatchObject({ status: 'attempted', delivered: ['a@corp.test', 'b@corp.test', 'c@corp.test'], retryInSeconds: null });
    const [sent] = relay.sent;
    expect(sent?.envelope).toEqual({ from: 'sender@partner.test', recipients: ['a@corp.test', 'b@corp.test', 'c@corp.test'] });
    const text = sent!.data.toString('latin1');
    expect(text).toMatch(/^X-Shadowmail-Forwarded: stack-1; id=ses-0001; .+ GMT\r\n/);
    expect(sent!.data.subarray(sent!.data.indexOf('\r\n') + 2)).toEqual(Buffer.from(RAW, 'latin1'));
    const states = await index.getDeliveryStates(mail.sesMessageId, clock.now());
    expect(states.every((state) => state.state === 'delivered' && state.attemptCount === 1)).toBe(true);
  });

  it('reads the record and the delivery states in one round trip of time (issue 18)', async () => {
    const job = await ingest();
    const overlap = meterOverlap(index, ['getMessage', 'getDeliveryStates']);

    const outcome = await forwardMessage(job, deps);

    expect(overlap.most).toBe(2);
    expect(overlap.calls.map(({ name }) => name).sort()).toEqual(['getDeliveryStates', 'getMessage']);
    expect(outcome).toMatchObject({ status: 'attempted', delivered: ['a@corp.test', 'b@corp.test', 'c@corp.test'] });
  });

  it('records the attempts of several recipients at once, each from the state read before the relay (issue 18)', async () => {
    // Prepare: every attempt write waits a tick, so writes issued together overlap
    const job = await ingest();
    relay.codes.set('c@corp.test', 451);
    const overlap = meterOverlap(index, ['recordDeliveryAttempt']);

    // Act
    await forwardMessage(job, deps);

    // Assess
    expect(overlap.most).toBe(3);
    expect(overlap.calls.map(({ args }) => (args[5] as { recipient?: string } | undefined)?.recipient)).toEqual([
      'a@corp.test',
      'b@corp.test',
      'c@corp.test',
    ]);
    const states = await index.getDeliveryStates(mail.sesMessageId, clock.now());
    expect(states.map((state) => [state.recipient, state.state, state.attemptCount])).toEqual([
      ['a@corp.test', 'delivered', 1],
      ['b@corp.test', 'delivered', 1],
      ['c@corp.test', 'deferred', 1],
    ]);
  });

  it('records 2xx delivered, 5xx failed for good, 4xx deferred and schedules a retry only for the deferred', async () => {
    const job = await ingest();
    relay.codes.set('b@corp.test', 550);
    relay.codes.set('c@corp.test', 451);

    const first = await forwardMessage(job, deps);

    expect(first).toMatchObject({ delivered: ['a@corp.test'], failed: ['b@corp.test'], deferred: ['c@corp.test'], retryInSeconds: 60 });
    expect(queue.sent).toEqual([{ job: { ...job, attempt: 1 }, delaySeconds: 60 }]);
    // The console's backlog: one recipient (c) still waits.
    expect(await index.countPendingRecipients(clock.now())).toBe(1);
    const byRecipient = Object.fromEntries((await index.getDeliveryStates(mail.sesMessageId, clock.now())).map((s) => [s.recipient, s]));
    expect(byRecipient['b@corp.test']).toMatchObject({ state: 'failed', reason: 'permanent failure: 550 scripted reply' });
    expect(byRecipient['c@corp.test']).toMatchObject({ state: 'deferred', lastReply: '451 scripted reply' });

    // Act: the retry reaches only the deferred recipient
    relay.codes.set('c@corp.test', 250);
    clock.advance(60_000);
    const second = await forwardMessage(queue.sent.shift()!.job, deps);

    expect(second).toMatchObject({ delivered: ['c@corp.test'], failed: [], deferred: [] });
    expect(relay.sent[1]?.envelope.recipients).toEqual(['c@corp.test']);
    const c = (await index.getDeliveryStates(mail.sesMessageId, clock.now())).find((s) => s.recipient === 'c@corp.test');
    expect(c?.attempts.map((a) => a.outcome)).toEqual(['deferred', 'delivered']);
  });

  it('records a refusal of *us* as a configuration fault and retries it instead of failing for good: 530 at MAIL FROM, TLS', async () => {
    const job = await ingest();
    relay.codes.set('a@corp.test', 530);
    relay.faults.set('a@corp.test', 'auth');
    relay.codes.set('b@corp.test', 0);
    relay.faults.set('b@corp.test', 'tls');
    relay.codes.set('c@corp.test', 0);
    relay.faults.set('c@corp.test', 'timeout');

    const outcome = await forwardMessage(job, deps);

    expect(outcome).toMatchObject({
      delivered: [],
      failed: [],
      deferred: ['a@corp.test', 'b@corp.test', 'c@corp.test'],
      retryInSeconds: 60,
      configurationFault: 'auth',
    });
    const attempts = Object.fromEntries(
      (await index.getDeliveryStates(mail.sesMessageId, clock.now())).map((s) => [s.recipient, s.attempts]),
    );
    expect(attempts['a@corp.test']).toEqual([expect.objectContaining({ code: 530, outcome: 'deferred', configurationFault: 'auth' })]);
    expect(attempts['b@corp.test']).toEqual([expect.objectContaining({ code: 0, outcome: 'deferred', configurationFault: 'tls' })]);
    // a timeout heals by itself: no configuration fault
    expect(attempts['c@corp.test']![0]).not.toHaveProperty('configurationFault');
  });

  it('reports no configuration fault when the primary only refuses recipients or is away', async () => {
    const job = await ingest();
    relay.codes.set('a@corp.test', 550);
    relay.codes.set('b@corp.test', 451);

    const outcome = await forwardMessage(job, deps);

    expect(outcome).toMatchObject({ failed: ['a@corp.test'], deferred: ['b@corp.test'], configurationFault: null });
  });

  it('says so when a message expires after configuration faults', async () => {
    let job = await ingest();
    for (const recipient of ['a@corp.test', 'b@corp.test', 'c@corp.test']) {
      relay.codes.set(recipient, 0);
      relay.faults.set(recipient, 'auth');
    }
    for (let attempts = 0; ; attempts++) {
      expect(attempts).toBeLessThan(1000);
      const outcome = await forwardMessage(job, deps);
      if (outcome.status !== 'attempted') break;
      const next = queue.sent.shift()!;
      clock.advance(next.delaySeconds * 1000);
      job = next.job;
    }

    const states = await index.getDeliveryStates(mail.sesMessageId, clock.now());
    for (const state of states) {
      expect(state.state).toBe('failed');
      expect(state.reason).toMatch(
        /^expired: not accepted by the primary within the maximum age of 5 days; the last attempt failed on a configuration fault: Exchange refused shadowmail's login .*smart-host secret.*then resend the message$/,
      );
    }
  });

  it('keeps a leading mbox From_ line first and puts the trace header after it', async () => {
    const mbox = 'From sender@partner.test Fri Nov 20 10:00:00 2026\nSubject: hi\n\nbody\n';
    store.put(mail.raw, mbox);
    const job = await ingest();

    await forwardMessage(job, deps);

    const sent = relay.sent[0]!.data.toString('latin1');
    expect(sent).toMatch(
      /^From sender@partner\.test Fri Nov 20 10:00:00 2026\nX-Shadowmail-Forwarded: stack-1; id=ses-0001; [^\r]+\r\nSubject: hi\n\nbody\n$/,
    );
  });

  it('streams a large message through the stamp unchanged', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 'abcdefghij\r\n');
    store.put(mail.raw, big);
    const job = await ingest();

    await forwardMessage(job, deps);

    const data = relay.sent[0]!.data;
    expect(data.subarray(data.indexOf('\r\n') + 2).equals(big)).toBe(true);
  });

  it('backs off with growing delays capped at the queue maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => retryDelaySeconds(n, deps.config))).toEqual([60, 120, 240, 480, 900, 900, 900]);
  });

  it('keeps retrying while the primary is unreachable, then fails for good at the maximum age', async () => {
    let job = await ingest();
    relay.down = true;
    let attempts = 0;
    for (;;) {
      const outcome = await forwardMessage(job, deps);
      attempts += 1;
      if (outcome.status !== 'attempted') {
        expect(outcome).toEqual({ status: 'expired', failed: ['a@corp.test', 'b@corp.test', 'c@corp.test'] });
        break;
      }
      const next = queue.sent.shift()!;
      clock.advance(next.delaySeconds * 1000);
      job = next.job;
      expect(attempts).toBeLessThan(1000);
    }
    const states = await index.getDeliveryStates(mail.sesMessageId, clock.now());
    expect(states.every((s) => s.state === 'failed' && s.reason?.startsWith('expired'))).toBe(true);
    expect(clock.now().getTime() - Date.parse(mail.receivedAt)).toBeGreaterThanOrEqual(5 * 86_400_000);
    expect(clock.now().getTime() - Date.parse(mail.receivedAt)).toBeLessThan(5 * 86_400_000 + 901_000);
    expect(states[0]?.attemptCount).toBe(attempts);
    expect(states[0]?.attempts.at(-2)?.code).toBe(0);
  });

  it('refuses a message that carries this stack’s stamp and records why', async () => {
    const job = await ingest(['stack-1; id=earlier; Fri, 20 Nov 2026 09:00:00 GMT']);

    const outcome = await forwardMessage(job, deps);

    expect(outcome).toEqual({ status: 'loop', failed: ['a@corp.test', 'b@corp.test', 'c@corp.test'] });
    expect(relay.sent).toHaveLength(0);
    const states = await index.getDeliveryStates(mail.sesMessageId, clock.now());
    expect(states.every((s) => s.state === 'failed' && s.reason?.startsWith('mail loop'))).toBe(true);
  });

  it('does not relay a message larger than the primary takes (smartHost.maxMessageBytes), and records why', async () => {
    const job = await ingest();
    const size = Buffer.byteLength(RAW, 'latin1');

    const outcome = await forwardMessage(job, { ...deps, config: { ...deps.config, maxMessageBytes: size - 1 } });

    expect(outcome).toEqual({ status: 'too-large', failed: ['a@corp.test', 'b@corp.test', 'c@corp.test'] });
    expect(relay.sent).toHaveLength(0);
    const states = await index.getDeliveryStates(mail.sesMessageId, clock.now());
    expect(states.map((s) => [s.state, s.reason])).toEqual(
      Array(3).fill([
        'failed',
        `too large for the primary: ${size} bytes, the primary takes at most ${size - 1} (smartHost.maxMessageBytes)`,
      ]),
    );
  });

  it('relays a message exactly as large as the primary takes', async () => {
    const job = await ingest();
    const outcome = await forwardMessage(job, { ...deps, config: { ...deps.config, maxMessageBytes: Buffer.byteLength(RAW, 'latin1') } });
    expect(outcome).toMatchObject({ status: 'attempted', delivered: ['a@corp.test', 'b@corp.test', 'c@corp.test'] });
  });

  it('treats a redelivered job as a duplicate and relays nothing twice', async () => {
    const job = await ingest();
    await forwardMessage(job, deps);

    const again = await forwardMessage(job, { ...deps, workerId: 'forward-2' });

    expect(again).toEqual({ status: 'duplicate' });
    expect(relay.sent).toHaveLength(1);
  });

  it('lets a concurrent worker back off while the first owns the relay', async () => {
    const job = await ingest();
    await index.acquireOnce(relayGate(job), 'forward-other', clock.now(), 300_000);

    await expect(forwardMessage(job, deps)).rejects.toBeInstanceOf(LeaseBusyError);
    expect(relay.sent).toHaveLength(0);
  });

  it('relays and counts each receipt rule’s part of one message on its own', async () => {
    // Prepare: a and b matched receipt rule 1, c rule 2: two notifications of one message, a job each
    mail = receivedMail({ envelopeFrom: 'sender@partner.test', envelopeRecipients: ['a@corp.test', 'b@corp.test'] });
    const first = await ingest();
    mail = receivedMail({ envelopeFrom: 'sender@partner.test', envelopeRecipients: ['c@corp.test'] });
    const second = await ingest();
    relay.codes.set('a@corp.test', 451);

    // Act
    const one = await forwardMessage(first, deps);
    const countAfterOne = await index.countPendingRecipients(clock.now());
    const two = await forwardMessage(second, deps);
    const countAfterTwo = await index.countPendingRecipients(clock.now());
    relay.codes.delete('a@corp.test');
    const retry = queue.sent.shift()!.job;
    clock.advance(60_000);
    const three = await forwardMessage(retry, deps);

    // Assess: each job relays only its part; the backlog is the sum over the parts
    expect(relay.sent.map((sent) => sent.envelope.recipients)).toEqual([['a@corp.test', 'b@corp.test'], ['c@corp.test'], ['a@corp.test']]);
    expect([one, two, three]).toMatchObject([
      { delivered: ['b@corp.test'], deferred: ['a@corp.test'] },
      { delivered: ['c@corp.test'], deferred: [] },
      { delivered: ['a@corp.test'], deferred: [] },
    ]);
    expect(retry).toEqual({ ...first, attempt: 1 });
    expect(countAfterOne).toBe(2); // a deferred, c still queued
    expect(countAfterTwo).toBe(1);
    expect(await index.countPendingRecipients(clock.now())).toBe(0);
    expect(queue.sent).toEqual([]);
  });

  it('takes over after a crashed worker’s lease ran out, delivering only what is still pending', async () => {
    const job = await ingest();
    relay.codes.set('b@corp.test', 451);
    await forwardMessage({ ...job, attempt: 7 }, deps); // an earlier run delivered a and c
    await index.acquireOnce(relayGate(job), 'crashed-worker', clock.now(), 300_000);
    clock.advance(300_001);
    relay.codes.delete('b@corp.test');

    const outcome = await forwardMessage(job, deps);

    expect(outcome).toMatchObject({ delivered: ['b@corp.test'] });
    expect(relay.sent[1]?.envelope.recipients).toEqual(['b@corp.test']);
  });

  it('answers gone for a message whose retention ended', async () => {
    const job = await ingest();
    clock.advance(29 * 86_400_000);

    expect(await forwardMessage(job, deps)).toEqual({ status: 'gone' });
  });
});
