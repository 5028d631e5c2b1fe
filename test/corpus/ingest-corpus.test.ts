// The real ingest use case over every message of the third-party corpus
// (../shared/corpus: messages, XSS messages, mbox files taken as one message):
// SES notification → SNS envelope → parse → MailparserMimeParser on the file →
// index items and one forward job. Nothing may crash, every field must be set,
// and a second delivery of the same notification must change nothing.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { FsRawMailStore } from '../../lambdas/adapters/local/fs-raw-mail-store.ts';
import { MailparserMimeParser } from '../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { type IngestDeps, ingestMessage } from '../../lambdas/core/ingest.ts';
import type { ForwardJob } from '../../lambdas/core/model.ts';
import { withoutBidiControls, withoutControlsButTabAndLineBreaks } from '../../lambdas/core/text.ts';
import { buildReceiptNotification, parseIngestRecordBody, wrapInSnsEnvelope } from '../../lambdas/handlers/ses-receipt-event.ts';
import type { ForwardQueue } from '../../lambdas/ports/forward-queue.ts';
import { CORPUS_ROOT, readCorpusManifest } from '../support/corpus.ts';
import { MemoryMessageIndex } from '../support/memory-message-index.ts';

const corpusRoot = CORPUS_ROOT;
const readManifest = () => readCorpusManifest();

class RecordingForwardQueue implements ForwardQueue {
  readonly jobs: { job: ForwardJob; delaySeconds: number }[] = [];
  async enqueue(job: ForwardJob, delaySeconds: number): Promise<void> {
    this.jobs.push({ job: structuredClone(job), delaySeconds });
  }
}

/** Paths of every undefined value inside `value` (DynamoDB refuses them). */
function undefinedPaths(value: unknown, path = '$'): string[] {
  if (value === undefined) return [path];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => undefinedPaths(inner, `${path}.${key}`));
}

const RECEIVED_AT = new Date('2025-03-10T10:00:00.000Z');
// Two envelope shapes: an alias to another mailbox, and an alias to the same
// mailbox as a direct recipient. Every corp.test address is envelope-only (BCC).
const ENVELOPES = [
  {
    recipients: ['alice@corp.test', 'sales@corp.test', 'carol.bcc@corp.test'],
    mailboxes: {
      'alice@corp.test': ['alice@corp.test'],
      'bob@corp.test': ['sales@corp.test'],
      'carol.bcc@corp.test': ['carol.bcc@corp.test'],
    },
  },
  {
    recipients: ['Alice@Corp.test', 'info@corp.test', 'dave.bcc@corp.test'],
    mailboxes: { 'alice@corp.test': ['alice@corp.test', 'info@corp.test'], 'dave.bcc@corp.test': ['dave.bcc@corp.test'] },
  },
] as const;

const rows = readManifest();
const index = new MemoryMessageIndex();
const forwardQueue = new RecordingForwardQueue();
const deps: IngestDeps = {
  index,
  rawStore: new FsRawMailStore(corpusRoot),
  parser: new MailparserMimeParser(),
  forwardQueue,
  clock: { now: () => new Date(RECEIVED_AT.getTime() + 1_000) },
  workerId: 'corpus-worker',
  config: { retentionDays: 30, stackId: 'shadowmail-corpus', leaseMs: 60_000, subaddressSeparator: '+' },
};
const timings: { path: string; ms: number }[] = [];
const parseErrors: { path: string; error: string }[] = [];
let aliasesReady: Promise<void> | null = null;

function itemsOf(sesMessageId: string): unknown {
  return {
    message: index.messages.get(sesMessageId),
    entries: [...index.entries.values()].filter((entry) => entry.sesMessageId === sesMessageId),
    deliveries: [...index.deliveries.values()].filter((state) => state.sesMessageId === sesMessageId),
    jobs: forwardQueue.jobs.filter(({ job }) => job.sesMessageId === sesMessageId),
  };
}

describe('ingest over the corpus', () => {
  afterAll(() => {
    const total = timings.reduce((sum, timing) => sum + timing.ms, 0);
    const slowest = [...timings].sort((a, b) => b.ms - a.ms).slice(0, 3);
    console.info(
      [
        `corpus ingest: ${timings.length} messages in ${(total / 1000).toFixed(2)} s ` +
          `(slowest: ${slowest.map((timing) => `${timing.path} ${timing.ms.toFixed(0)} ms`).join(', ')})`,
        `parse errors (indexed from the notification instead): ${parseErrors.length}`,
        ...parseErrors.map((entry) => `  ${entry.path}: ${entry.error}`),
      ].join('\n'),
    );
  });

  it('finds the corpus messages', () => {
    expect(rows.length).toBeGreaterThan(250);
  });

  it.each(rows.map((row, position) => ({ ...row, position })))('ingests $path', async (row) => {
    // Prepare: one SES notification per corpus file, delivered through an SNS envelope.
    aliasesReady ??= Promise.all([
      index.putAddresses([{ address: 'sales@corp.test', mailbox: 'bob@corp.test' }]),
      index.putAddresses([{ address: 'info@corp.test', mailbox: 'alice@corp.test' }]),
    ]).then(() => undefined);
    await aliasesReady;
    const envelope = ENVELOPES[row.position % ENVELOPES.length]!;
    const sesMessageId = `corpus${createHash('sha256').update(row.path).digest('hex').slice(0, 24)}`;
    const slash = row.path.indexOf('/');
    const notification = buildReceiptNotification({
      sesMessageId,
      receivedAt: RECEIVED_AT,
      envelopeFrom: 'bounces@sender.example',
      envelopeRecipients: [...envelope.recipients],
      bucket: row.path.slice(0, slash),
      key: row.path.slice(slash + 1),
      headers: [],
      commonHeaders: {},
    });
    const body = wrapInSnsEnvelope(notification, `sns-${row.position}`);
    const fileSize = statSync(resolve(corpusRoot, row.path)).size;

    // Act
    const started = performance.now();
    const outcome = await ingestMessage(parseIngestRecordBody(body), deps);
    timings.push({ path: row.path, ms: performance.now() - started });
    const firstItems = structuredClone(itemsOf(sesMessageId));
    const again = await ingestMessage(parseIngestRecordBody(body), deps);

    // Assess: the message record.
    const record = index.messages.get(sesMessageId);
    expect(record).toBeDefined();
    if (!record) return;
    if (record.summary.parseError) parseErrors.push({ path: row.path, error: record.summary.parseError });
    expect(record.size).toBe(fileSize);
    expect(record.size).toBe(row.bytes);
    expect(record.envelopeRecipients).toEqual([...envelope.recipients]);
    expect(typeof record.summary.subject).toBe('string');
    expect(typeof record.summary.snippet).toBe('string');
    expect(record.summary.snippet.length).toBeLessThanOrEqual(200);
    expect(record.loopDetected).toBe(false);
    expect(undefinedPaths(record)).toEqual([]);

    // Assess: one mailbox entry per mailbox, with the recipients that resolved to it.
    expect(outcome.mailboxes.sort()).toEqual(Object.keys(envelope.mailboxes).sort());
    for (const [mailbox, recipients] of Object.entries(envelope.mailboxes)) {
      const entry = index.entries.get(`${mailbox}|${sesMessageId}`);
      expect(entry, mailbox).toBeDefined();
      expect(entry?.recipients).toEqual([...recipients]);
      expect(entry?.size).toBe(fileSize);
      expect(entry?.subject).toBe(record.summary.subject);
      expect(undefinedPaths(entry)).toEqual([]);
    }

    // Assess: a queued delivery state per envelope recipient, and exactly one job.
    const deliveries = [...index.deliveries.values()].filter((state) => state.sesMessageId === sesMessageId);
    expect(deliveries.map((state) => state.recipient.toLowerCase()).sort()).toEqual(
      envelope.recipients.map((recipient) => recipient.toLowerCase()).sort(),
    );
    expect(deliveries.every((state) => state.state === 'queued')).toBe(true);
    const jobs = forwardQueue.jobs.filter(({ job }) => job.sesMessageId === sesMessageId);
    expect(jobs).toEqual([
      { job: { sesMessageId, receivedAt: RECEIVED_AT.toISOString(), attempt: 0, recipients: [...envelope.recipients] }, delaySeconds: 0 },
    ]);
    expect(outcome.forwardEnqueued).toBe(true);

    // Assess: the second delivery of the notification changed nothing and enqueued nothing.
    expect(again.forwardEnqueued).toBe(false);
    expect(itemsOf(sesMessageId)).toEqual(firstItems);

    // Assess: where our parser produced the summary, it agrees with mailparser's simpleParser.
    if (record.summary.parseError === null) {
      const reference = await simpleParser(await readFile(resolve(corpusRoot, row.path)));
      expect(record.summary.subject).toBe(withoutBidiControls(withoutControlsButTabAndLineBreaks(reference.subject ?? '')));
      expect(record.summary.attachments.map((attachment) => attachment.size)).toEqual(
        reference.attachments.map((attachment) => attachment.size),
      );
      expect(record.summary.hasHtml).toBe(typeof reference.html === 'string');
    }
  });

  it('took reasonable time for the whole corpus', () => {
    // Assess: ingest time only (simpleParser comparisons excluded).
    const total = timings.reduce((sum, timing) => sum + timing.ms, 0);
    expect(timings.length).toBe(rows.length);
    expect(total).toBeLessThan(30_000);
    expect(Math.max(...timings.map((timing) => timing.ms))).toBeLessThan(5_000);
  });
});
