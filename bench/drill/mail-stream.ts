// The drill's inbound mail: a seeded mix of generated business mail and messages from
// the third-party corpus (../shared/corpus, read in place), each stamped with a drill id
// header, to several recipients with an alias and Bcc (envelope-only) recipients; and a
// sender that behaves like a sending MTA: one connection per try, every try that ends
// without a 250 (refused connection, 4xx, connection lost) is retried with backoff, a
// 5xx is final. Tries that end after the message data went out without a reply are
// counted as ambiguous: the server may have taken the message, and the retry may
// deliver it twice — which the accounting tells apart from a relay duplicate.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { createTransport } from 'nodemailer';
import { PROSE_WORDS, prose } from '../messages.ts';
import { DRILL_HEADER } from './maildir-scan.ts';
import type { SeededRandom } from './seeded-random.ts';

export interface DrillMessage {
  drillId: string;
  /** The Message-ID header's value (without <>), or null for a corpus message without one. */
  messageId: string | null;
  phase: string;
  /** 'generated' or the corpus path. */
  source: string;
  envelopeFrom: string;
  /** Envelope recipients: the visible ones, then the Bcc ones. */
  recipients: string[];
  bcc: string[];
  subject: string;
  raw: Buffer;
}

export interface Addressing {
  domain: string;
  /** Mailboxes at the primary (local parts). */
  mailboxes: string[];
  /** Alias → mailbox (local parts), expanded by the primary, e.g. info → alice. */
  aliases: Record<string, string>;
  /** Mailboxes (local parts) whose owners sometimes write through the MX. */
  colleagues: string[];
}

export interface CorpusPick {
  path: string;
  bytes: number;
}

/** Display name of colleagues' mail: how the webmail users tell it apart in the inbox. */
export const COLLEAGUE_NAME = 'Colleague';

const WORDS = [...PROSE_WORDS, 'Angebot', 'contract'];

export class MessageFactory {
  private count = 0;
  private corpusNext = 0;
  private readonly corpus: CorpusPick[];
  private readonly attachment: string;

  constructor(
    private readonly rng: SeededRandom,
    readonly runId: string,
    private readonly addressing: Addressing,
    corpus: CorpusPick[],
    private readonly corpusRoot: string,
    /** Share of messages taken from the corpus (0..1). */
    private readonly corpusShare: number,
  ) {
    this.corpus = rng.shuffle(corpus);
    const bytes = Buffer.alloc(24 * 1024);
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(rng.next() * 256);
    this.attachment = bytes.toString('base64').replace(/.{76}/g, '$&\r\n');
  }

  get created(): number {
    return this.count;
  }

  next(phase: string): DrillMessage {
    const n = this.count++;
    const drillId = `${this.runId}-${String(n).padStart(5, '0')}`;
    const { visible, bcc } = this.pickRecipients();
    // Mostly partners; sometimes a colleague writing through the MX (from a phone, a
    // scanner, a mailing list), whom the webmail users can answer through the primary.
    const colleague = this.addressing.colleagues.length > 0 && this.rng.chance(0.2) ? this.rng.pick(this.addressing.colleagues) : null;
    const envelopeFrom = colleague ? `${colleague}@${this.addressing.domain}` : `partner${this.rng.int(1, 40)}@elsewhere.test`;
    const fromName = colleague ? `${COLLEAGUE_NAME} ${colleague}` : `Partner ${envelopeFrom.split('@')[0]}`;
    const fromCorpus = this.corpus.length > 0 && this.rng.chance(this.corpusShare);
    if (fromCorpus) {
      const pick = this.corpus[this.corpusNext++ % this.corpus.length]!;
      const original = readFileSync(resolve(this.corpusRoot, pick.path));
      const raw = Buffer.concat([Buffer.from(`${DRILL_HEADER}: ${drillId}\r\n`), original]);
      const head = original.subarray(0, 64 * 1024).toString('latin1');
      const messageId = /^Message-ID:[ \t]*<?([^>\r\n]*)>?/im.exec(head)?.[1]?.trim() || null;
      const subject = /^Subject:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? '';
      return { drillId, messageId, phase, source: pick.path, envelopeFrom, recipients: [...visible, ...bcc], bcc, subject, raw };
    }
    const messageId = `${drillId}@drill.elsewhere.test`;
    const subject = `Drill ${this.runId} ${phase} #${n}`;
    const head = [
      `${DRILL_HEADER}: ${drillId}`,
      `From: ${fromName} <${envelopeFrom}>`,
      `To: ${visible.join(', ')}`,
      `Subject: ${subject}`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${messageId}>`,
      'MIME-Version: 1.0',
    ];
    const text = this.prose(n, this.rng.int(300, 4000), drillId);
    const shape = this.rng.pick(['plain', 'plain', 'html', 'attachment'] as const);
    let body: string[];
    if (shape === 'plain') {
      body = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', text, ''];
    } else if (shape === 'html') {
      const html = `<html><body>${text
        .split('\r\n')
        .map((line) => `<p>${line}</p>`)
        .join('\r\n')}</body></html>`;
      body = [
        'Content-Type: multipart/alternative; boundary="drill-alt"',
        '',
        '--drill-alt',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        text,
        '--drill-alt',
        'Content-Type: text/html; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        html,
        '--drill-alt--',
        '',
      ];
    } else {
      body = [
        'Content-Type: multipart/mixed; boundary="drill-mixed"',
        '',
        '--drill-mixed',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        text,
        '--drill-mixed',
        'Content-Type: application/pdf; name="Rechnung.pdf"',
        'Content-Disposition: attachment; filename="Rechnung.pdf"',
        'Content-Transfer-Encoding: base64',
        '',
        this.attachment,
        '--drill-mixed--',
        '',
      ];
    }
    return {
      drillId,
      messageId,
      phase,
      source: 'generated',
      envelopeFrom,
      recipients: [...visible, ...bcc],
      bcc,
      subject,
      raw: Buffer.from([...head, ...body].join('\r\n')),
    };
  }

  /** 1–3 visible recipients (alice and bob often, the alias sometimes), sometimes 1–2 Bcc recipients not among them. */
  private pickRecipients(): { visible: string[]; bcc: string[] } {
    const { domain, mailboxes, aliases } = this.addressing;
    const address = (local: string) => `${local}@${domain}`;
    const chosen = new Set<string>();
    if (this.rng.chance(0.4)) chosen.add('alice');
    if (this.rng.chance(0.3)) chosen.add('bob');
    const aliasNames = Object.keys(aliases);
    if (aliasNames.length > 0 && this.rng.chance(0.15)) chosen.add(this.rng.pick(aliasNames));
    const want = this.rng.int(1, 3);
    for (const local of this.rng.shuffle(mailboxes)) {
      if (chosen.size >= want) break;
      chosen.add(local);
    }
    const bcc: string[] = [];
    if (this.rng.chance(0.3)) {
      for (const local of this.rng.shuffle(mailboxes)) {
        if (bcc.length >= this.rng.int(1, 2)) break;
        if (!chosen.has(local)) bcc.push(local);
      }
    }
    return { visible: [...chosen].map(address), bcc: bcc.map(address) };
  }

  private prose(seed: number, bytes: number, drillId: string): string {
    return prose(seed, bytes, { words: WORDS, wordsPerLine: 10, first: `Drill message ${drillId}.` });
  }
}

// ---------------------------------------------------------------------------------------

export interface SendRecord {
  message: DrillMessage;
  firstTryAtMs: number;
  acceptedAtMs: number | null;
  /** Queue ids of the 250 replies ("queued as <id>"). */
  queueIds: string[];
  tries: number;
  /** 4xx replies. */
  temporaryRefusals: number;
  /** Tries that failed before the data went out without a reply (refused, reset, timed out). */
  connectionFailures: number;
  /** Tries that ended without a reply after the data went out. */
  ambiguousTries: number;
  /** A 5xx reply: the sender gives up (a real MTA would bounce). */
  permanentRefusal: string | null;
  /** Recipients refused in an otherwise accepted transaction. */
  refusedRecipients: string[];
  lastError: string | null;
}

export interface SenderOptions {
  host: string;
  port: number;
  rng: SeededRandom;
  /** Concurrent deliveries at most; more waits, as an MTA's queue does. */
  maxInFlight: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** An MTA-like client: each submitted message is tried until it is accepted (250) or refused for good (5xx), or until stop(). */
export class RetryingSender {
  readonly records: SendRecord[] = [];
  private readonly active = new Set<Promise<void>>();
  private stopped = false;
  private waiting: (() => void)[] = [];

  constructor(private readonly options: SenderOptions) {}

  inFlight(): number {
    return this.active.size;
  }

  /** Starts delivering `message` in the background; waits first while maxInFlight deliveries run. */
  async submit(message: DrillMessage): Promise<void> {
    while (this.active.size >= this.options.maxInFlight) await new Promise<void>((resolve) => this.waiting.push(resolve));
    const record: SendRecord = {
      message,
      firstTryAtMs: Date.now(),
      acceptedAtMs: null,
      queueIds: [],
      tries: 0,
      temporaryRefusals: 0,
      connectionFailures: 0,
      ambiguousTries: 0,
      permanentRefusal: null,
      refusedRecipients: [],
      lastError: null,
    };
    this.records.push(record);
    const task = this.deliver(record).finally(() => {
      this.active.delete(task);
      this.waiting.shift()?.();
    });
    this.active.add(task);
  }

  /** Waits until every delivery has ended, or `timeoutMs`; then stops retrying. Returns the records still unaccepted. */
  async finish(timeoutMs: number): Promise<SendRecord[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.active.size > 0 && Date.now() < deadline) await Promise.race([...this.active, sleep(500)]);
    this.stopped = true;
    await Promise.race([Promise.allSettled([...this.active]), sleep(30_000)]);
    return this.records.filter((record) => record.acceptedAtMs === null && record.permanentRefusal === null);
  }

  private async deliver(record: SendRecord): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      record.tries += 1;
      const outcome = await this.tryOnce(record);
      if (outcome === 'done') return;
      const backoff = Math.min(this.options.retryBaseMs * 2 ** Math.min(record.tries - 1, 10), this.options.retryMaxMs);
      await sleep(backoff * this.options.rng.between(0.75, 1.25));
    }
  }

  private async tryOnce(record: SendRecord): Promise<'done' | 'retry'> {
    const { message } = record;
    const transport = createTransport({
      host: this.options.host,
      port: this.options.port,
      secure: false,
      ignoreTLS: true,
      name: 'mx.elsewhere.test',
      connectionTimeout: 3_000,
      greetingTimeout: 5_000,
      socketTimeout: 20_000,
    });
    let dataOut = false;
    const raw = new PassThrough();
    raw.once('end', () => (dataOut = true));
    raw.end(message.raw);
    try {
      const info = await transport.sendMail({ envelope: { from: message.envelopeFrom, to: message.recipients }, raw });
      // without the id the accounting cannot match the copies; shadowmail always gives it
      const queueId = /queued as (\S+)/.exec(info.response)?.[1] ?? `no-queue-id-in:${info.response}`;
      record.queueIds.push(queueId);
      record.acceptedAtMs = Date.now();
      record.refusedRecipients = ((info.rejected ?? []) as Array<string | { address: string }>).map((a) =>
        typeof a === 'string' ? a : a.address,
      );
      return 'done';
    } catch (error) {
      const e = error as { responseCode?: number; message?: string };
      record.lastError = (e.message ?? String(error)).slice(0, 300);
      if (e.responseCode !== undefined && e.responseCode >= 500) {
        record.permanentRefusal = record.lastError;
        return 'done';
      }
      if (e.responseCode !== undefined && e.responseCode >= 400) record.temporaryRefusals += 1;
      else if (dataOut) record.ambiguousTries += 1;
      else record.connectionFailures += 1;
      return 'retry';
    } finally {
      transport.close();
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
