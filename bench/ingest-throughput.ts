// Ingest throughput over the third-party corpus (../shared/corpus): the real
// ingest use case — notification parse, MailparserMimeParser over the raw file,
// index writes, one forward job — one message at a time, as local mode's ingest
// consumer runs it. With the in-memory index it shows the CPU cost of ingest;
// with the DynamoDB adapter over embedded dynalite, what local mode achieved before
// issue 18; with the SQLite index, what local mode achieves now.
import { createHash } from 'node:crypto';
import { FsRawMailStore } from '../lambdas/adapters/local/fs-raw-mail-store.ts';
import { MailparserMimeParser } from '../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { type IngestDeps, ingestMessage } from '../lambdas/core/ingest.ts';
import { buildReceiptNotification, parseIngestRecordBody, wrapInSnsEnvelope } from '../lambdas/handlers/ses-receipt-event.ts';
import { systemClock } from '../lambdas/ports/clock.ts';
import type { DirectoryStore } from '../lambdas/ports/directory.ts';
import type { ForwardQueue } from '../lambdas/ports/forward-queue.ts';
import { type CorpusRow, MESSAGE_KINDS, readCorpusManifest } from '../test/support/corpus.ts';
import { type Distribution, distribution, MIB, median, round } from './stats.ts';

export type { CorpusRow };

export function readCorpus(corpusRoot: string): CorpusRow[] {
  return readCorpusManifest(MESSAGE_KINDS, corpusRoot);
}

class CountingForwardQueue implements ForwardQueue {
  jobs = 0;
  async enqueue(): Promise<void> {
    this.jobs += 1;
  }
}

// Three envelope recipients, two of them aliases, as in the corpus test: every
// message makes several mailbox entries and delivery states, like real mail.
const RECIPIENTS = [
  ['alice@corp.test', 'sales@corp.test', 'carol@corp.test'],
  ['Alice@Corp.test', 'info@corp.test', 'dave@corp.test'],
] as const;

export interface IngestThroughput {
  index: string;
  corpusMessages: number;
  corpusMiB: number;
  measuredPasses: number;
  /** Median over the measured passes. */
  messagesPerSecond: number;
  mibPerSecond: number;
  perPass: { messagesPerSecond: number; mibPerSecond: number; seconds: number }[];
  /** Time of one ingest, over all measured messages, ms. */
  perMessageMs: Distribution;
  slowest: { path: string; ms: number }[];
  parseErrors: number;
  forwardJobs: number;
}

export interface IngestRunOptions {
  label: string;
  corpusRoot: string;
  rows: CorpusRow[];
  index: IngestDeps['index'];
  /** Where the directory's address map is written (the same store as the index). */
  addresses: Pick<DirectoryStore, 'putAddresses'>;
  /** Messages ingested before measuring (JIT, caches, first table writes). */
  warmupMessages: number;
  /** Runs after each message inside its timing: local mode's fsync before the queue entry goes (one per message here, per batch there). */
  afterEach?: () => void | Promise<void>;
  passes: number;
}

export async function measureIngest(options: IngestRunOptions): Promise<IngestThroughput> {
  const { rows, index } = options;
  const forwardQueue = new CountingForwardQueue();
  const deps: IngestDeps = {
    index,
    rawStore: new FsRawMailStore(options.corpusRoot),
    parser: new MailparserMimeParser(),
    forwardQueue,
    clock: systemClock,
    workerId: 'bench',
    config: { retentionDays: 28, stackId: 'shadowmail-bench', leaseMs: 60_000, subaddressSeparator: '+' },
  };
  await options.addresses.putAddresses([
    { address: 'sales@corp.test', mailbox: 'bob@corp.test' },
    { address: 'info@corp.test', mailbox: 'alice@corp.test' },
  ]);

  // Every pass ingests under new SES ids, so no pass meets the idempotency short cuts.
  const bodyFor = (pass: string, row: CorpusRow, position: number): string => {
    const sesMessageId = `${pass}${createHash('sha256').update(row.path).digest('hex').slice(0, 24)}`;
    const slash = row.path.indexOf('/');
    const notification = buildReceiptNotification({
      sesMessageId,
      receivedAt: new Date(),
      envelopeFrom: 'bounces@sender.example',
      envelopeRecipients: [...RECIPIENTS[position % RECIPIENTS.length]!],
      bucket: row.path.slice(0, slash),
      key: row.path.slice(slash + 1),
      headers: [],
      commonHeaders: {},
    });
    return wrapInSnsEnvelope(notification, sesMessageId);
  };

  for (let position = 0; position < Math.min(options.warmupMessages, rows.length * 3); position++) {
    const row = rows[position % rows.length]!;
    await ingestMessage(parseIngestRecordBody(bodyFor(`warm${Math.floor(position / rows.length)}x`, row, position)), deps);
  }

  const perPass: IngestThroughput['perPass'] = [];
  const timings: { path: string; ms: number }[] = [];
  let parseErrors = 0;
  const corpusBytes = rows.reduce((sum, row) => sum + row.bytes, 0);
  for (let pass = 0; pass < options.passes; pass++) {
    const bodies = rows.map((row, position) => bodyFor(`p${pass}x`, row, position));
    let passMs = 0;
    for (const [position, row] of rows.entries()) {
      const started = performance.now();
      const outcome = await ingestMessage(parseIngestRecordBody(bodies[position]!), deps);
      await options.afterEach?.();
      const ms = performance.now() - started;
      passMs += ms;
      timings.push({ path: row.path, ms });
      if (pass === 0 && !outcome.parsed) parseErrors += 1;
    }
    perPass.push({
      messagesPerSecond: round(rows.length / (passMs / 1000), 1),
      mibPerSecond: round(corpusBytes / MIB / (passMs / 1000), 2),
      seconds: round(passMs / 1000, 2),
    });
  }
  return {
    index: options.label,
    corpusMessages: rows.length,
    corpusMiB: round(corpusBytes / MIB, 2),
    measuredPasses: options.passes,
    messagesPerSecond: round(median(perPass.map((pass) => pass.messagesPerSecond)), 1),
    mibPerSecond: round(median(perPass.map((pass) => pass.mibPerSecond)), 2),
    perPass,
    perMessageMs: distribution(
      timings.map((timing) => timing.ms),
      2,
    ),
    slowest: [...timings]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3)
      .map((timing) => ({ path: timing.path, ms: round(timing.ms, 1) })),
    parseErrors,
    forwardJobs: forwardQueue.jobs,
  };
}
