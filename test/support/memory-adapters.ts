// In-memory stand-ins for the ports around the core use cases: a raw store, a
// recording queue, a scripted relay, a recording message visibility and a clock
// that tests move by hand.
import { Readable } from 'node:stream';
import { RawMessageMissingError } from '../../lambdas/core/errors.ts';
import type { ForwardJob, RawLocation } from '../../lambdas/core/model.ts';
import type { Clock } from '../../lambdas/ports/clock.ts';
import type { ForwardQueue } from '../../lambdas/ports/forward-queue.ts';
import type { MessageVisibility } from '../../lambdas/ports/message-visibility.ts';
import type { RawMailStore } from '../../lambdas/ports/raw-mail-store.ts';
import type { RecipientReply, RelayEnvelope, SmtpFault, SmtpRelay } from '../../lambdas/ports/smtp-relay.ts';

export class MemoryRawMailStore implements RawMailStore {
  readonly objects = new Map<string, Buffer>();

  put(location: RawLocation, body: Buffer | string): void {
    this.objects.set(`${location.bucket}/${location.key}`, Buffer.from(body));
  }

  private get(location: RawLocation): Buffer {
    const body = this.objects.get(`${location.bucket}/${location.key}`);
    if (!body) throw new RawMessageMissingError(location.key);
    return body;
  }

  async open(location: RawLocation): Promise<Readable> {
    return Readable.from([this.get(location)]);
  }

  async size(location: RawLocation): Promise<number> {
    return this.get(location).length;
  }
}

export class RecordingForwardQueue implements ForwardQueue {
  readonly sent: { job: ForwardJob; delaySeconds: number }[] = [];
  failNext = false;

  async enqueue(job: ForwardJob, delaySeconds: number): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('queue unavailable');
    }
    this.sent.push({ job: structuredClone(job), delaySeconds });
  }
}

/** Remembers every visibility change asked for; `failWith` makes the next ones reject. */
export class RecordingMessageVisibility implements MessageVisibility {
  readonly changes: { receiptHandle: string; seconds: number }[] = [];
  failWith: Error | null = null;

  async retryAfter(receiptHandle: string, seconds: number): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.changes.push({ receiptHandle, seconds });
  }
}

/** Answers each recipient with the code (and fault) the test scripted for it (default 250). */
export class ScriptedRelay implements SmtpRelay {
  readonly codes = new Map<string, number>();
  /** The fault the relay reports with the scripted code (a configuration fault, a timeout, …). */
  readonly faults = new Map<string, SmtpFault>();
  readonly sent: { envelope: RelayEnvelope; data: Buffer }[] = [];
  down = false;

  async relay(envelope: RelayEnvelope, data: () => Promise<Readable>): Promise<RecipientReply[]> {
    if (this.down) {
      return envelope.recipients.map((recipient) => ({ recipient, code: 0, response: 'connect ECONNREFUSED 127.0.0.1:25' }));
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await data()) chunks.push(Buffer.from(chunk as Buffer));
    this.sent.push({ envelope: structuredClone(envelope), data: Buffer.concat(chunks) });
    return envelope.recipients.map((recipient) => {
      const code = this.codes.get(recipient.toLowerCase()) ?? 250;
      const fault = this.faults.get(recipient.toLowerCase());
      return { recipient, code, response: `${code} scripted reply`, ...(fault && { fault }) };
    });
  }
}

/** Holds each relay through `inner` open for `holdMs` and records the most that were open at once. */
export class ConcurrencyProbeRelay implements SmtpRelay {
  private active = 0;
  maxActive = 0;
  relays = 0;

  constructor(
    private readonly inner: SmtpRelay,
    private readonly holdMs = 25,
  ) {}

  async relay(envelope: RelayEnvelope, data: () => Promise<Readable>): Promise<RecipientReply[]> {
    this.active += 1;
    this.relays += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.holdMs));
      return await this.inner.relay(envelope, data);
    } finally {
      this.active -= 1;
    }
  }
}

export class ManualClock implements Clock {
  private current: number;
  constructor(start: string) {
    this.current = Date.parse(start);
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
