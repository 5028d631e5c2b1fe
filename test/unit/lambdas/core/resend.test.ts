// The resend use cases against memory adapters: single and bulk jobs, recipients,
// counters, retries, cancel, skips, and what redeliveries and crashes at each step
// boundary do (nothing twice, nothing lost).
import type { Readable } from 'node:stream';
import type { Context, SQSEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { METRIC } from '../../../../lambdas/contract/metrics.ts';
import { InvalidInputError, NotFoundError, RetryableError } from '../../../../lambdas/core/errors.ts';
import { forwardMessage } from '../../../../lambdas/core/forward.ts';
import { ingestMessage } from '../../../../lambdas/core/ingest.ts';
import {
  cancelResend,
  getResendJob,
  listResendJobs,
  processResendStep,
  type ResendConfig,
  type ResendStartDeps,
  type ResendStepOutcome,
  type ResendWorkerDeps,
  startResend,
} from '../../../../lambdas/core/resend.ts';
import { createObservability } from '../../../../lambdas/handlers/observability.ts';
import { createResendHandler, parseResendStep } from '../../../../lambdas/handlers/resend.ts';
import type { ResendJob } from '../../../../lambdas/ports/resend-jobs.ts';
import type { RecipientReply, RelayEnvelope, SmtpFault, SmtpRelay } from '../../../../lambdas/ports/smtp-relay.ts';
import { headerBlockParser, sampleMessage } from '../../../support/header-parser.ts';
import {
  ConcurrencyProbeRelay,
  ManualClock,
  MemoryRawMailStore,
  RecordingForwardQueue,
  RecordingMessageVisibility,
} from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemoryAuditLog, MemoryResendJobs, MemoryResendQueue } from '../../../support/memory-resend.ts';
import { receivedMail } from '../../../support/received-mail.ts';

const START = '2030-03-01T12:00:00.000Z';
const ADMIN = 'admin@corp.test';

/** Answers per recipient: a fixed code, or a sequence (e.g. 450 twice, then 250). */
class PrimaryScript implements SmtpRelay {
  readonly codes = new Map<string, number | number[]>();
  /** Recipients whose replies the relay marks with this fault (a refused login, …). */
  readonly faults = new Map<string, SmtpFault>();
  readonly sent: { envelope: RelayEnvelope; data: Buffer }[] = [];
  private readonly calls = new Map<string, number>();

  async relay(envelope: RelayEnvelope, data: () => Promise<Readable>): Promise<RecipientReply[]> {
    const chunks: Buffer[] = [];
    for await (const chunk of await data()) chunks.push(Buffer.from(chunk as Buffer));
    this.sent.push({ envelope: structuredClone(envelope), data: Buffer.concat(chunks) });
    return envelope.recipients.map((recipient) => {
      const key = recipient.toLowerCase();
      const script = this.codes.get(key) ?? 250;
      const call = this.calls.get(key) ?? 0;
      this.calls.set(key, call + 1);
      const code = Array.isArray(script) ? (script[call] ?? script.at(-1) ?? 250) : script;
      const fault = this.faults.get(key);
      return { recipient, code, response: `${code} scripted for ${key}`, ...(fault && { fault }) };
    });
  }

  /** How often each recipient got the message with this SES id. */
  deliveriesOf(sesMessageId: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { envelope, data } of this.sent) {
      if (!data.toString('latin1').includes(`id=${sesMessageId};`)) continue;
      for (const recipient of envelope.recipients) counts.set(recipient, (counts.get(recipient) ?? 0) + 1);
    }
    return counts;
  }
}

class Harness {
  readonly clock = new ManualClock(START);
  readonly index = new MemoryMessageIndex();
  readonly store = new MemoryRawMailStore();
  readonly relay = new PrimaryScript();
  readonly jobs = new MemoryResendJobs();
  readonly audit = new MemoryAuditLog();
  readonly queue = new MemoryResendQueue(() => this.clock.now().getTime());
  readonly forwardQueue = new RecordingForwardQueue();
  readonly config: ResendConfig = {
    stackId: 'stack-1',
    leaseMs: 60_000,
    maxAttempts: 3,
    retryBaseSeconds: 10,
    retryMaxDelaySeconds: 60,
    pageSize: 40,
    jobRetentionDays: 90,
    maxRangeDays: 400,
    maxReceives: 5,
  };
  readonly raw = new Map<string, Buffer>();
  private nextJob = 0;

  startDeps(): ResendStartDeps {
    return {
      index: this.index,
      jobs: this.jobs,
      queue: this.queue,
      audit: this.audit,
      clock: this.clock,
      config: this.config,
      newJobId: () => `job-${++this.nextJob}`,
    };
  }

  workerDeps(overrides: Partial<ResendWorkerDeps> = {}): ResendWorkerDeps {
    return {
      index: this.index,
      rawStore: this.store,
      relay: this.relay,
      jobs: this.jobs,
      queue: this.queue,
      clock: this.clock,
      workerId: 'worker-1',
      config: this.config,
      ...overrides,
    };
  }

  /** Ingests message n as SES would hand it over; returns its SES id. */
  async receive(n: number, options: { recipients?: string[]; minutesAgo?: number; body?: Buffer; from?: string } = {}): Promise<string> {
    const sesMessageId = `ses-${String(n).padStart(4, '0')}`;
    const mail = receivedMail({
      sesMessageId,
      receivedAt: new Date(this.clock.now().getTime() - (options.minutesAgo ?? 60) * 60_000).toISOString(),
      envelopeFrom: options.from ?? 'bounce+1@ext.example',
      envelopeRecipients: options.recipients ?? ['alice@corp.test'],
    });
    const body = options.body ?? sampleMessage(n);
    this.store.put(mail.raw, body);
    this.raw.set(sesMessageId, body);
    await ingestMessage(mail, {
      index: this.index,
      rawStore: this.store,
      parser: headerBlockParser,
      forwardQueue: this.forwardQueue,
      clock: this.clock,
      workerId: 'ingest',
      config: { retentionDays: 28, stackId: 'stack-1', leaseMs: 60_000, subaddressSeparator: '+' },
    });
    return sesMessageId;
  }

  /**
   * Runs due steps until the queue is empty, moving the clock to the next due step
   * when nothing is due. A throwing step goes back on the queue, as SQS would.
   */
  async drain(deps: ResendWorkerDeps = this.workerDeps(), maxSteps = 20_000): Promise<ResendStepOutcome[]> {
    const outcomes: ResendStepOutcome[] = [];
    for (let i = 0; i < maxSteps; i += 1) {
      const entry = this.queue.takeDue();
      if (!entry) {
        const next = this.queue.nextDueAt();
        if (next === null) return outcomes;
        this.clock.advance(Math.max(1, next - this.clock.now().getTime()));
        continue;
      }
      try {
        outcomes.push(await processResendStep(entry.step, deps, entry.receives));
      } catch {
        this.queue.putBack(entry);
      }
    }
    throw new Error(`queue not drained after ${maxSteps} steps`);
  }

  async job(id: string): Promise<ResendJob> {
    return getResendJob(id, { jobs: this.jobs, clock: this.clock });
  }
}

/** The two header lines a resend puts on top, then the stored bytes. */
/** `target` whose `method` throws `message` once — at the first call `when` accepts — and otherwise does what it did: a worker killed there. */
function crashOnce<T extends object, K extends MethodOf<T>>(
  target: T,
  method: K,
  message: string,
  when: (...args: Parameters<Extract<T[K], AnyFunction>>) => boolean = () => true,
): T {
  let crashed = false;
  const original = (target[method] as AnyFunction).bind(target);
  const crashing = Object.create(target) as T;
  crashing[method] = (async (...args: Parameters<Extract<T[K], AnyFunction>>) => {
    if (!crashed && when(...args)) {
      crashed = true;
      throw new Error(message);
    }
    return original(...args);
  }) as T[K];
  return crashing;
}

type AnyFunction = (...args: never[]) => unknown;
type MethodOf<T> = { [P in keyof T]: T[P] extends AnyFunction ? P : never }[keyof T];

function resentForm(jobId: string, sesMessageId: string, at: Date, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      `X-Shadowmail-Resent: ${jobId}; ${at.toUTCString()}\r\nX-Shadowmail-Forwarded: stack-1; id=${sesMessageId}; ${at.toUTCString()}\r\n`,
      'latin1',
    ),
    raw,
  ]);
}

describe('single resend', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });

  it('relays exactly the stored bytes with the original envelope and two header lines on top, and records it', async () => {
    // Prepare
    const id = await h.receive(1, { recipients: ['Alice@Corp.Test', 'bob@corp.test'] });
    // Act
    const job = await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    await h.drain();
    // Assess
    expect(h.relay.sent).toHaveLength(1);
    expect(h.relay.sent[0]?.envelope).toEqual({ from: 'bounce+1@ext.example', recipients: ['Alice@Corp.Test', 'bob@corp.test'] });
    expect(h.relay.sent[0]?.data).toEqual(resentForm(job.id, id, h.clock.now(), h.raw.get(id)!));
    const done = await h.job(job.id);
    expect(done).toMatchObject({ state: 'done', createdBy: ADMIN, enumerated: true });
    expect(done.counters).toEqual({ total: 1, done: 1, skipped: 0, delivered: 2, failed: 0, deferred: 0, cancelled: 0, inDoubt: 0 });
    expect(done.finishedAt).not.toBeNull();
    const states = await h.index.getDeliveryStates(id, h.clock.now());
    expect(states.map((state) => state.attempts.at(-1)?.response)).toEqual([
      `resend ${job.id}: 250 scripted for alice@corp.test`,
      `resend ${job.id}: 250 scripted for bob@corp.test`,
    ]);
    expect(h.audit.events).toMatchObject([
      { actor: ADMIN, action: 'resend.single', target: id, outcome: 'ok', details: { jobId: job.id } },
    ]);
    expect(h.jobs.marks(job.id)).toEqual({ applied: [], started: [] });
  });

  it('retries a refused login like a 4xx and marks the attempts in the trace as a configuration fault', async () => {
    // Prepare
    const id = await h.receive(3, { recipients: ['alice@corp.test'] });
    h.relay.codes.set('alice@corp.test', [535, 250]);
    h.relay.faults.set('alice@corp.test', 'auth');
    // Act
    const job = await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    const outcomes = await h.drain();
    // Assess
    expect(outcomes.filter((o) => o.status === 'sent').map((o) => o.status === 'sent' && [o.deferred, o.configurationFault])).toEqual([
      [['alice@corp.test'], 'auth'],
      [[], null],
    ]);
    const [state] = await h.index.getDeliveryStates(id, h.clock.now());
    expect(state!.attempts.slice(-2)).toEqual([
      expect.objectContaining({ code: 535, outcome: 'deferred', configurationFault: 'auth' }),
      expect.objectContaining({ code: 250, outcome: 'delivered' }),
    ]);
    expect((await h.job(job.id)).counters).toMatchObject({ delivered: 1, failed: 0 });
  });

  it("sends to the chosen recipients only, in the envelope's spelling, whatever case the admin typed", async () => {
    // Prepare
    const id = await h.receive(2, { recipients: ['Alice@Corp.Test', 'bob@corp.test', 'carol@corp.test'] });
    // Act
    await startResend(
      ADMIN,
      { kind: 'message', sesMessageId: id, recipients: ['CAROL@corp.test', 'alice@corp.test', 'carol@CORP.test'] },
      h.startDeps(),
    );
    await h.drain();
    // Assess
    expect(h.relay.sent.map((sent) => sent.envelope.recipients)).toEqual([['carol@corp.test', 'Alice@Corp.Test']]);
  });

  it('refuses a recipient that is not on the envelope, an unknown message and a Sent copy, and audits the refusal', async () => {
    // Prepare
    const id = await h.receive(3, { recipients: ['alice@corp.test'] });
    await h.index.putMessage({ ...(await h.index.getMessage(id, h.clock.now()))!, sesMessageId: 'sent-1' });
    // Act
    const outcomes = await Promise.all(
      [
        startResend(ADMIN, { kind: 'message', sesMessageId: id, recipients: ['mallory@corp.test'] }, h.startDeps()),
        startResend(ADMIN, { kind: 'message', sesMessageId: 'ses-none' }, h.startDeps()),
        startResend(ADMIN, { kind: 'message', sesMessageId: 'sent-1' }, h.startDeps()),
        startResend(ADMIN, { kind: 'message', sesMessageId: id, recipients: [] }, h.startDeps()),
      ].map((promise) =>
        promise.then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    // Assess
    expect(outcomes[0]).toBeInstanceOf(InvalidInputError);
    expect(outcomes[1]).toBeInstanceOf(NotFoundError);
    expect(outcomes[2]).toBeInstanceOf(InvalidInputError);
    expect(outcomes[3]).toBeInstanceOf(InvalidInputError);
    expect(h.jobs.jobs.size).toBe(0);
    expect(h.queue.pending).toEqual([]);
    expect(h.audit.events.map((event) => [event.action, event.outcome])).toEqual(Array(4).fill(['resend.single', 'error']));
  });

  it('resends a message the forward withheld as a mail loop when an admin asks for it by id', async () => {
    // Prepare
    const looped = Buffer.concat([
      Buffer.from('X-Shadowmail-Forwarded: stack-1; id=ses-old; Fri, 01 Mar 2030 10:00:00 GMT\r\n'),
      sampleMessage(4),
    ]);
    const id = await h.receive(4, { body: looped });
    // Act
    await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    await h.drain();
    // Assess
    expect((await h.index.getMessage(id, h.clock.now()))?.loopDetected).toBe(true);
    expect(h.relay.sent).toHaveLength(1);
  });

  it('a resent copy that the primary sends back to us is stored but never forwarded again: the loop ends', async () => {
    // Prepare
    const id = await h.receive(5);
    await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    await h.drain();
    const bounced = h.relay.sent[0]!.data;
    // Act
    const back = await h.receive(6, { body: bounced });
    const forward = await forwardMessage(h.forwardQueue.sent.at(-1)!.job, {
      index: h.index,
      rawStore: h.store,
      relay: h.relay,
      forwardQueue: h.forwardQueue,
      clock: h.clock,
      workerId: 'fw',
      config: { stackId: 'stack-1', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 60_000 },
    });
    // Assess
    expect((await h.index.getMessage(back, h.clock.now()))?.loopDetected).toBe(true);
    expect(forward.status).toBe('loop');
    expect(h.relay.sent).toHaveLength(1);
  });
});

describe('bulk resend', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });

  it('sends every message of one mailbox in the range, oldest first, to the recipients filed there', async () => {
    // Prepare: alice owns sales@ too; bob's mail and mail outside the range stay out
    await h.index.putAddresses([{ address: 'sales@corp.test', mailbox: 'alice@corp.test' }]);
    const inRange = [
      await h.receive(10, { recipients: ['alice@corp.test'], minutesAgo: 50 }),
      await h.receive(11, { recipients: ['Sales@corp.test', 'bob@corp.test'], minutesAgo: 40 }),
      await h.receive(12, { recipients: ['alice@corp.test'], minutesAgo: 30 }),
    ];
    await h.receive(13, { recipients: ['bob@corp.test'], minutesAgo: 45 });
    await h.receive(14, { recipients: ['alice@corp.test'], minutesAgo: 90 });
    await h.receive(15, { recipients: ['alice@corp.test'], minutesAgo: 5 });
    await h.index.updateMailboxEntry('alice@corp.test', inRange[2]!, { folder: 'deleted' });
    const since = new Date(h.clock.now().getTime() - 60 * 60_000);
    const until = new Date(h.clock.now().getTime() - 10 * 60_000);
    // Act
    const job = await startResend(ADMIN, { kind: 'mailbox', mailbox: 'Alice@corp.test', since, until }, h.startDeps());
    await h.drain();
    // Assess
    expect(h.relay.sent.map((sent) => sent.envelope.recipients)).toEqual([['alice@corp.test'], ['Sales@corp.test'], ['alice@corp.test']]);
    expect(h.relay.sent.map((sent) => /id=([^;]+);/.exec(sent.data.toString('latin1'))?.[1])).toEqual(inRange);
    expect((await h.job(job.id)).counters).toEqual({
      total: 3,
      done: 3,
      skipped: 0,
      delivered: 3,
      failed: 0,
      deferred: 0,
      cancelled: 0,
      inDoubt: 0,
    });
    expect(h.audit.events).toMatchObject([
      { action: 'resend.bulk', target: 'Alice@corp.test', details: { scope: 'mailbox', jobId: job.id } },
    ]);
  });

  it('counts 250 messages exactly: 5xx failed at once, 4xx retried with growing delays, then delivered or failed', async () => {
    // Prepare: every message to a@ and one other; b@ refused for good, c@ deferred twice then
    // accepted, d@ deferred for ever (maxAttempts 3)
    const others = ['b@corp.test', 'c@corp.test', 'd@corp.test', 'e@corp.test'];
    for (let n = 0; n < 250; n += 1) await h.receive(n, { recipients: ['a@corp.test', others[n % 4]!], minutesAgo: 300 - n });
    h.relay.codes.set('b@corp.test', 550);
    h.relay.codes.set('c@corp.test', [450, 450, 250]);
    h.relay.codes.set('d@corp.test', 451);
    const started = h.clock.now().getTime();
    // Act
    const job = await startResend(ADMIN, { kind: 'all', since: new Date(started - 86_400_000), until: new Date(started) }, h.startDeps());
    const outcomes = await h.drain();
    // Assess
    const final = await h.job(job.id);
    expect(final.state).toBe('done');
    expect(final.counters).toEqual({
      total: 250,
      done: 250,
      skipped: 0,
      delivered: 250 + 63 + 62,
      failed: 63 + 62,
      deferred: 0,
      cancelled: 0,
      inDoubt: 0,
    });
    // c@ is scripted per recipient address across messages: only its first two relays see 450
    expect(outcomes.filter((outcome) => outcome.status === 'enumerated')).toHaveLength(7);
    const retries = outcomes
      .filter((outcome) => outcome.status === 'sent' && outcome.retryInSeconds !== null)
      .map((outcome) => (outcome as { retryInSeconds: number }).retryInSeconds);
    expect(new Set(retries)).toEqual(new Set([10, 20]));
    for (let n = 0; n < 250; n += 1) {
      const counts = h.relay.deliveriesOf(`ses-${String(n).padStart(4, '0')}`);
      expect(counts.get('a@corp.test'), `message ${n}`).toBe(1);
    }
    expect(h.relay.sent.filter((sent) => sent.envelope.recipients.includes('d@corp.test'))).toHaveLength(62 * 3);
  });

  it('skips expired messages, missing raw objects, mail loops and Sent copies, each with its reason', async () => {
    // Prepare
    const expired = await h.receive(20, { minutesAgo: 50 });
    const rawGone = await h.receive(21, { minutesAgo: 40 });
    await h.receive(22, {
      minutesAgo: 30,
      body: Buffer.concat([Buffer.from('X-Shadowmail-Forwarded: stack-1; id=x; Fri, 01 Mar 2030 10:00:00 GMT\r\n'), sampleMessage(22)]),
    });
    await h.receive(23, { minutesAgo: 20 });
    h.index.messages.get(expired)!.expiresAt = Math.floor(h.clock.now().getTime() / 1000) - 1;
    h.store.objects.delete(`raw-bucket/raw/${rawGone}`);
    // A Sent copy sits in the mailbox but is not received mail
    await h.index.putMailboxEntry({
      ...(await h.index.getMailboxEntry('alice@corp.test', 'ses-0023', h.clock.now()))!,
      sesMessageId: 'sent-9',
      folder: 'inbox',
    });
    await h.index.putMessage({ ...(await h.index.getMessage('ses-0023', h.clock.now()))!, sesMessageId: 'sent-9' });
    const now = h.clock.now().getTime();
    // Act
    const job = await startResend(
      ADMIN,
      { kind: 'mailbox', mailbox: 'alice@corp.test', since: new Date(now - 3_600_000), until: new Date(now) },
      h.startDeps(),
    );
    await h.drain();
    // Assess
    const final = await h.job(job.id);
    expect(final.counters).toMatchObject({ total: 5, done: 5, skipped: 4, delivered: 1 });
    expect(final.skippedBy).toEqual({ expired: 1, 'raw-missing': 1, 'not-received': 1, 'mail-loop': 1, cancelled: 0, error: 0 });
    expect(h.relay.sent).toHaveLength(1);
  });

  it('finishes a job with nothing in its range at once', async () => {
    // Prepare
    await h.receive(30, { minutesAgo: 500 });
    const now = h.clock.now().getTime();
    // Act
    const job = await startResend(ADMIN, { kind: 'all', since: new Date(now - 60_000), until: new Date(now) }, h.startDeps());
    await h.drain();
    // Assess
    expect(await h.job(job.id)).toMatchObject({ state: 'done', counters: { total: 0, done: 0 } });
  });

  it('refuses bad ranges and mailboxes before creating anything', async () => {
    // Act
    const outcomes = await Promise.all(
      [
        startResend(ADMIN, { kind: 'all', since: '2030-03-01T00:00:00Z', until: '2030-03-01T00:00:00Z' }, h.startDeps()),
        startResend(ADMIN, { kind: 'all', since: 'yesterday', until: '2030-03-01T00:00:00Z' }, h.startDeps()),
        startResend(ADMIN, { kind: 'all', since: '2020-01-01T00:00:00Z', until: '2030-03-01T00:00:00Z' }, h.startDeps()),
        startResend(
          ADMIN,
          { kind: 'mailbox', mailbox: 'not an address', since: '2030-02-01T00:00:00Z', until: '2030-03-01T00:00:00Z' },
          h.startDeps(),
        ),
      ].map((promise) =>
        promise.then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    // Assess
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(InvalidInputError);
    expect(h.jobs.jobs.size).toBe(0);
  });

  it('lists jobs newest first', async () => {
    // Prepare
    await h.receive(40);
    const first = await startResend(ADMIN, { kind: 'message', sesMessageId: 'ses-0040' }, h.startDeps());
    h.clock.advance(1000);
    const second = await startResend(
      'cli:root',
      { kind: 'all', since: '2030-02-01T00:00:00Z', until: '2030-03-01T00:00:00Z' },
      h.startDeps(),
    );
    // Act
    const page = await listResendJobs({ limit: 1 }, { jobs: h.jobs, clock: h.clock });
    const rest = await listResendJobs({ limit: 1, cursor: page.nextCursor }, { jobs: h.jobs, clock: h.clock });
    // Assess
    expect(page.jobs.map((job) => job.id)).toEqual([second.id]);
    expect(rest.jobs.map((job) => job.id)).toEqual([first.id]);
    expect(rest.nextCursor).toBeNull();
  });
});

describe('cancel', () => {
  it('stops a running job: queued messages count as skipped, waiting retries as cancelled, and the counts add up', async () => {
    // Prepare
    const h = new Harness();
    for (let n = 0; n < 60; n += 1)
      await h.receive(n, { recipients: ['a@corp.test', n % 2 === 0 ? 'slow@corp.test' : 'b@corp.test'], minutesAgo: 100 - n });
    h.relay.codes.set('slow@corp.test', 450);
    const now = h.clock.now().getTime();
    const job = await startResend(ADMIN, { kind: 'all', since: new Date(now - 3_600_000 * 3), until: new Date(now) }, h.startDeps());
    const deps = h.workerDeps();
    for (let i = 0; i < 11; i += 1) {
      const entry = h.queue.takeDue()!;
      await processResendStep(entry.step, deps, entry.receives);
    }
    // Act
    const cancelled = await cancelResend('cli:root', job.id, { jobs: h.jobs, audit: h.audit, clock: h.clock });
    await h.drain();
    // Assess
    const final = await h.job(job.id);
    expect(cancelled.state).toBe('cancelled');
    expect(final.state).toBe('cancelled');
    expect(final.finishedAt).not.toBeNull();
    expect(final.counters.done).toBe(final.counters.total);
    expect(final.counters.deferred).toBe(0);
    // 10 messages were sent before the cancel (the enumerator's first page took one step)
    expect(final.counters.total).toBe(40);
    expect(final.counters.skipped).toBe(30);
    expect(final.skippedBy.cancelled).toBe(30);
    expect(final.counters.cancelled).toBe(5);
    expect(final.counters.delivered).toBe(10 + 5);
    expect(h.relay.sent).toHaveLength(10);
    expect(h.audit.events.at(-1)).toMatchObject({ action: 'resend.cancel', actor: 'cli:root', target: job.id, outcome: 'ok' });
  });

  it('leaves an ended job as it was and answers NotFoundError for an unknown one', async () => {
    // Prepare
    const h = new Harness();
    const id = await h.receive(1);
    const job = await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    await h.drain();
    // Act
    const after = await cancelResend(ADMIN, job.id, { jobs: h.jobs, audit: h.audit, clock: h.clock });
    const unknown = await cancelResend(ADMIN, 'job-none', { jobs: h.jobs, audit: h.audit, clock: h.clock }).catch(
      (error: unknown) => error,
    );
    // Assess
    expect(after.state).toBe('done');
    expect(unknown).toBeInstanceOf(NotFoundError);
  });
});

describe('redeliveries and crashes', () => {
  it('a step delivered twice (SQS at-least-once) sends and counts once', async () => {
    // Prepare
    const h = new Harness();
    for (let n = 0; n < 30; n += 1) await h.receive(n, { minutesAgo: 100 - n });
    const now = h.clock.now().getTime();
    const job = await startResend(ADMIN, { kind: 'all', since: new Date(now - 86_400_000), until: new Date(now) }, h.startDeps());
    const deps = h.workerDeps();
    // Act: every step runs twice, the copies one after the other
    for (let i = 0; i < 1000; i += 1) {
      const entry = h.queue.takeDue();
      if (!entry) break;
      await processResendStep(entry.step, deps, 1);
      await processResendStep(entry.step, deps, 2);
    }
    // Assess
    expect(h.relay.sent).toHaveLength(30);
    expect((await h.job(job.id)).counters).toMatchObject({ total: 30, done: 30, delivered: 30, inDoubt: 0 });
  });

  it('a second worker meets a step in progress as busy and does not send it', async () => {
    // Prepare
    const h = new Harness();
    const id = await h.receive(1);
    await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    const step = h.queue.takeDue()!.step;
    await h.index.acquireOnce(`resend#job-1#${id}#0`, 'worker-1', h.clock.now(), 60_000);
    // Act
    const other = await processResendStep(step, h.workerDeps({ workerId: 'worker-2' })).catch((error: unknown) => error);
    // Assess
    expect(other).toBeInstanceOf(RetryableError);
    expect(h.relay.sent).toHaveLength(0);
  });

  it('a crash after the counts were written, before the gate closed, sends nothing on the rerun', async () => {
    // Prepare
    const h = new Harness();
    const id = await h.receive(1);
    const job = await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    const entry = h.queue.takeDue()!;
    const crashing = crashOnce(h.index, 'completeOnce', 'killed before completeOnce');
    // Act
    const first = await processResendStep(entry.step, h.workerDeps({ index: crashing })).catch((error: unknown) => error);
    const rerun = await processResendStep(entry.step, h.workerDeps({ index: crashing }), 2);
    // Assess
    expect(first).toBeInstanceOf(Error);
    expect(rerun.status).toBe('duplicate');
    expect(h.relay.sent).toHaveLength(1);
    expect((await h.job(job.id)).counters).toMatchObject({ done: 1, delivered: 1, inDoubt: 0 });
  });

  it('a crash between the relay and the counts sends again and says so (inDoubt), and counts once', async () => {
    // Prepare
    const h = new Harness();
    const id = await h.receive(1);
    const job = await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    const entry = h.queue.takeDue()!;
    const crashing = crashOnce(h.jobs, 'applyTask', 'killed after the relay');
    // Act
    await processResendStep(entry.step, h.workerDeps({ jobs: crashing })).catch(() => undefined);
    const rerun = await processResendStep(entry.step, h.workerDeps({ jobs: crashing }), 2);
    // Assess
    expect(rerun).toMatchObject({ status: 'sent', inDoubt: true });
    expect(h.relay.sent).toHaveLength(2);
    expect((await h.job(job.id)).counters).toMatchObject({ done: 1, delivered: 1, inDoubt: 1 });
  });

  it('a crash after the counts, before the retry was queued: the rerun queues the retry, and the message settles once', async () => {
    // Prepare
    const h = new Harness();
    const id = await h.receive(1, { recipients: ['a@corp.test', 'later@corp.test'] });
    h.relay.codes.set('later@corp.test', [450, 250]);
    const job = await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    const crashingQueue = crashOnce(
      h.queue,
      'enqueue',
      'killed before the retry was queued',
      (steps) => steps[0]?.type === 'message' && steps[0].attempt === 1,
    );
    // Act
    await h.drain(h.workerDeps({ queue: crashingQueue }));
    // Assess
    expect((await h.job(job.id)).counters).toEqual({
      total: 1,
      done: 1,
      skipped: 0,
      delivered: 2,
      failed: 0,
      deferred: 0,
      cancelled: 0,
      inDoubt: 0,
    });
    expect(h.relay.sent.map((sent) => sent.envelope.recipients)).toEqual([['a@corp.test', 'later@corp.test'], ['later@corp.test']]);
    expect((await h.job(job.id)).state).toBe('done');
  });

  it('a relay in doubt that gets another answer on the rerun settles the message once (no retry is left behind)', async () => {
    // Prepare: the first relay is deferred for later@ and the worker dies before counting it
    const h = new Harness();
    const id = await h.receive(1, { recipients: ['a@corp.test', 'later@corp.test'] });
    h.relay.codes.set('later@corp.test', [450, 250]);
    const job = await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    const crashing = crashOnce(h.jobs, 'applyTask', 'killed after the relay');
    // Act
    await h.drain(h.workerDeps({ jobs: crashing }));
    // Assess
    expect((await h.job(job.id)).counters).toEqual({
      total: 1,
      done: 1,
      skipped: 0,
      delivered: 2,
      failed: 0,
      deferred: 0,
      cancelled: 0,
      inDoubt: 1,
    });
    expect(h.relay.sent).toHaveLength(2);
    expect(h.queue.pending).toEqual([]);
  });

  it('an enumerator that dies before its checkpoint queues its page again; the copies are dropped', async () => {
    // Prepare
    const h = new Harness();
    for (let n = 0; n < 50; n += 1) await h.receive(n, { minutesAgo: 100 - n });
    const now = h.clock.now().getTime();
    const job = await startResend(ADMIN, { kind: 'all', since: new Date(now - 86_400_000), until: new Date(now) }, h.startDeps());
    const crashing = crashOnce(h.jobs, 'checkpoint', 'killed before the checkpoint');
    // Act
    await h.drain(h.workerDeps({ jobs: crashing }));
    // Assess
    expect(h.relay.sent).toHaveLength(50);
    expect((await h.job(job.id)).counters).toMatchObject({ total: 50, done: 50, delivered: 50 });
    expect((await h.job(job.id)).state).toBe('done');
  });

  it('an enumerator that dies after its checkpoint, before queueing the next page, goes on when redelivered', async () => {
    // Prepare
    const h = new Harness();
    for (let n = 0; n < 90; n += 1) await h.receive(n, { minutesAgo: 100 - n });
    const now = h.clock.now().getTime();
    const job = await startResend(ADMIN, { kind: 'all', since: new Date(now - 86_400_000), until: new Date(now) }, h.startDeps());
    const crashingQueue = crashOnce(
      h.queue,
      'enqueue',
      'killed before the next page was queued',
      (steps) => steps.length === 1 && steps[0]?.type === 'enumerate',
    );
    // Act
    await h.drain(h.workerDeps({ queue: crashingQueue }));
    // Assess
    expect(h.relay.sent).toHaveLength(90);
    expect((await h.job(job.id)).counters).toMatchObject({ total: 90, done: 90, delivered: 90 });
  });

  it('gives a step up after maxReceives failures: its message counts as skipped (error) and the job ends', async () => {
    // Prepare
    const h = new Harness();
    await h.receive(1, { minutesAgo: 30 });
    await h.receive(2, { minutesAgo: 20 });
    const broken = Object.create(h.store) as MemoryRawMailStore;
    broken.open = async (location) => {
      if (location.key.endsWith('ses-0001')) throw new Error('disk on fire');
      return h.store.open(location);
    };
    const now = h.clock.now().getTime();
    const job = await startResend(ADMIN, { kind: 'all', since: new Date(now - 3_600_000), until: new Date(now) }, h.startDeps());
    // Act
    await h.drain(h.workerDeps({ rawStore: broken }));
    // Assess
    const final = await h.job(job.id);
    expect(final).toMatchObject({ state: 'done', counters: { total: 2, done: 2, skipped: 1, delivered: 1 } });
    expect(final.skippedBy.error).toBe(1);
  });
});

describe('the resend worker handler (SQS batch)', () => {
  const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
  const record = (messageId: string, body: string, receiveCount = 1) =>
    ({ messageId, body, attributes: { ApproximateReceiveCount: String(receiveCount) } }) as unknown as SQSEvent['Records'][number];

  it('parses steps strictly', () => {
    // Act
    const good = parseResendStep('{"type":"message","jobId":"rs-1","sesMessageId":"m1","recipients":null,"attempt":0}');
    const bad = [
      'not json',
      '{"type":"enumerate","jobId":"../x","seq":0}',
      '{"type":"message","jobId":"rs-1","sesMessageId":"m1","attempt":-1,"recipients":null}',
    ].map((body) => {
      try {
        return parseResendStep(body);
      } catch (error) {
        return error;
      }
    });
    // Assess
    expect(good).toEqual({ type: 'message', jobId: 'rs-1', sesMessageId: 'm1', recipients: null, attempt: 0 });
    for (const outcome of bad) expect(outcome).toBeInstanceOf(InvalidInputError);
  });

  it('runs each record, drops what can never be a step, and reports a busy step as a partial failure', async () => {
    // Prepare
    const h = new Harness();
    const id = await h.receive(1);
    const job = await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    const step = h.queue.takeDue()!.step;
    const busy = { type: 'message', jobId: job.id, sesMessageId: 'ses-busy', recipients: null, attempt: 0 } as const;
    await h.index.acquireOnce(`resend#${job.id}#ses-busy#0`, 'someone-else', h.clock.now(), 60_000);
    const observability = createObservability('test-resend');
    observability.logger.setLogLevel('SILENT');
    const handler = createResendHandler({ ...h.workerDeps(), retryVisibility: new RecordingMessageVisibility(), ...observability });
    // Act
    const response = await handler(
      { Records: [record('r1', JSON.stringify(step)), record('r2', 'garbage'), record('r3', JSON.stringify(busy))] },
      context,
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'r3' }] });
    expect(h.relay.sent).toHaveLength(1);
    expect((await h.job(job.id)).state).toBe('done');
  });

  it('relays the steps of a batch one after the other: one SMTP session per invocation', async () => {
    // Prepare: three single-message jobs, their steps in one batch, a primary that holds each session a moment
    const h = new Harness();
    const relay = new ConcurrencyProbeRelay(h.relay);
    const steps = [];
    for (const n of [1, 2, 3]) {
      const id = await h.receive(n);
      await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
      steps.push(h.queue.takeDue()!.step);
    }
    const observability = createObservability('test-resend');
    observability.logger.setLogLevel('SILENT');
    const handler = createResendHandler({
      ...h.workerDeps({ relay }),
      retryVisibility: new RecordingMessageVisibility(),
      ...observability,
    });

    // Act
    const response = await handler({ Records: steps.map((step, i) => record(`r${i}`, JSON.stringify(step))) }, context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(relay.relays).toBe(3);
    expect(relay.maxActive).toBe(1);
  });

  it('counts a resend the smart host refused on its settings as SmartHostConfigurationFaults', async () => {
    // Prepare
    const h = new Harness();
    const id = await h.receive(1, { recipients: ['alice@corp.test'] });
    h.relay.codes.set('alice@corp.test', 0);
    h.relay.faults.set('alice@corp.test', 'tls');
    await startResend(ADMIN, { kind: 'message', sesMessageId: id }, h.startDeps());
    const step = h.queue.takeDue()!.step;
    const observability = createObservability('test-resend');
    observability.logger.setLogLevel('SILENT');
    const addMetric = vi.spyOn(observability.metrics, 'addMetric');
    const handler = createResendHandler({ ...h.workerDeps(), retryVisibility: new RecordingMessageVisibility(), ...observability });
    // Act
    await handler({ Records: [record('r1', JSON.stringify(step))] }, context);
    // Assess
    const recorded = addMetric.mock.calls.map(([name, unit, value]) => ({ name, unit, value }));
    expect(recorded.filter((m) => m.name === METRIC.smartHostConfigurationFaults)).toEqual([
      { name: 'SmartHostConfigurationFaults', unit: 'Count', value: 1 },
    ]);
    expect(recorded.find((m) => m.name === 'ResendDeferred')).toMatchObject({ value: 1 });
  });
});
