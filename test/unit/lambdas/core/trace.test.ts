// The trace use cases: the admin's search (criteria normalized, time window, pages
// with delivery states and every attempt), the audit of searches and raw downloads,
// and the first trace the CLI used before paging.
import { describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../../../../lambdas/core/errors.ts';
import { forwardMessage } from '../../../../lambdas/core/forward.ts';
import { ingestMessage } from '../../../../lambdas/core/ingest.ts';
import {
  adminTraceSearch,
  normalizeTraceSearch,
  openRawMessage,
  searchTrace,
  traceLookupsOf,
  traceMessages,
  traceOne,
} from '../../../../lambdas/core/trace.ts';
import { headerBlockParser, sampleMessage } from '../../../support/header-parser.ts';
import { makeRecord } from '../../../support/index-contract/fixtures.ts';
import { ManualClock, MemoryRawMailStore, RecordingForwardQueue, ScriptedRelay } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';
import { receivedMail } from '../../../support/received-mail.ts';

const NOW = '2030-03-01T12:00:00.000Z';

async function world() {
  const clock = new ManualClock(NOW);
  const index = new MemoryMessageIndex();
  const store = new MemoryRawMailStore();
  const queue = new RecordingForwardQueue();
  const relay = new ScriptedRelay();
  const audit = new MemoryAuditLog();
  const receive = async (n: number, recipients: string[], hoursAgo: number, subject = `Message ${n}`) => {
    const mail = receivedMail({
      sesMessageId: `ses-${n}`,
      receivedAt: new Date(clock.now().getTime() - hoursAgo * 3_600_000).toISOString(),
      envelopeFrom: 'partner@ext.example',
      envelopeRecipients: recipients,
    });
    store.put(mail.raw, sampleMessage(n, { subject }));
    await ingestMessage(mail, {
      index,
      rawStore: store,
      parser: headerBlockParser,
      forwardQueue: queue,
      clock,
      workerId: 'i',
      config: { retentionDays: 28, stackId: 'stack-1', leaseMs: 60_000, subaddressSeparator: '+' },
    });
  };
  /** One forward attempt for each message received so far (retries stay queued). */
  const forwardAll = async () => {
    for (const { job } of queue.sent.splice(0)) {
      await forwardMessage(job, {
        index,
        rawStore: store,
        relay,
        forwardQueue: queue,
        clock,
        workerId: 'f',
        config: { stackId: 'stack-1', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 60_000 },
      });
    }
  };
  return { clock, index, store, relay, audit, receive, forwardAll };
}

describe('normalizeTraceSearch', () => {
  const now = new Date(NOW);

  it('puts criteria in comparison form and gives a search by subject alone the last 31 days', () => {
    // Act
    const query = normalizeTraceSearch(
      { recipient: ' <Alice@Corp.Test> ', messageId: '<ABC@Ext.Example>', subject: '  Rechnung   März ' },
      now,
    );
    const subjectOnly = normalizeTraceSearch({ subject: 'x' }, now);
    // Assess
    expect(query).toEqual({
      limit: 50,
      cursor: null,
      recipient: 'alice@corp.test',
      messageIdHeader: 'abc@ext.example',
      subject: 'rechnung märz',
    });
    expect(subjectOnly).toMatchObject({ since: '2030-01-29T12:01:00.000Z', until: '2030-03-01T12:01:00.000Z' });
  });

  it('refuses inverted and over-long ranges, bad times, page sizes and cursors', () => {
    // Act
    const attempts = [
      { since: '2030-03-01T00:00:00Z', until: '2030-02-01T00:00:00Z' },
      { since: '2010-01-01T00:00:00Z', until: '2030-02-01T00:00:00Z' },
      { since: 'yesterday' },
      { recipient: 'a@corp.test', limit: 501 },
      { recipient: 'a@corp.test', cursor: '!!' },
      { recipient: '  ' },
      { subject: 'x'.repeat(300) },
    ].map((input) => {
      try {
        normalizeTraceSearch(input, now);
        return null;
      } catch (error) {
        return error;
      }
    });
    // Assess
    for (const outcome of attempts) expect(outcome).toBeInstanceOf(InvalidInputError);
  });
});

describe('searchTrace', () => {
  it("finds by subject across mailboxes, newest first, with every recipient's state and each attempt", async () => {
    // Prepare
    const w = await world();
    await w.receive(1, ['alice@corp.test', 'bob@corp.test'], 5, 'Invoice March');
    await w.receive(2, ['carol@corp.test'], 3, 'Newsletter');
    await w.receive(3, ['dave@corp.test'], 1, 'RE: invoice march');
    w.relay.codes.set('bob@corp.test', 451);
    await w.forwardAll();
    // Act
    const page = await searchTrace({ subject: 'INVOICE  march' }, { index: w.index, clock: w.clock });
    // Assess
    expect(page.messages.map((traced) => traced.message.sesMessageId)).toEqual(['ses-3', 'ses-1']);
    const first = page.messages[1]!;
    expect(first.deliveries.map((d) => [d.recipient, d.state, d.attempts.map((a) => [a.code, a.outcome])])).toEqual([
      ['alice@corp.test', 'delivered', [[250, 'delivered']]],
      ['bob@corp.test', 'deferred', [[451, 'deferred']]],
    ]);
    expect(first.deliveries[1]?.attempts[0]).toEqual({ at: NOW, code: 451, response: '451 scripted reply', outcome: 'deferred' });
    expect(first.message).toMatchObject({
      envelopeFrom: 'partner@ext.example',
      size: sampleMessage(1, { subject: 'Invoice March' }).length,
      verdicts: { spam: 'PASS' },
    });
  });

  it('pages with a cursor and keeps the criteria of the first page', async () => {
    // Prepare
    const w = await world();
    for (let n = 0; n < 7; n += 1) await w.receive(n, ['alice@corp.test'], 10 - n);
    // Act
    const first = await searchTrace({ recipient: 'alice@corp.test', limit: 3 }, { index: w.index, clock: w.clock });
    const second = await searchTrace(
      { recipient: 'alice@corp.test', limit: 3, cursor: first.nextCursor },
      { index: w.index, clock: w.clock },
    );
    const third = await searchTrace(
      { recipient: 'alice@corp.test', limit: 3, cursor: second.nextCursor },
      { index: w.index, clock: w.clock },
    );
    // Assess
    expect([first, second, third].map((page) => page.messages.map((t) => t.message.sesMessageId))).toEqual([
      ['ses-6', 'ses-5', 'ses-4'],
      ['ses-3', 'ses-2', 'ses-1'],
      ['ses-0'],
    ]);
    expect(third.nextCursor).toBeNull();
  });

  it("audits an admin's search with what was asked and how much was found", async () => {
    // Prepare
    const w = await world();
    await w.receive(1, ['alice@corp.test'], 1);
    // Act
    await adminTraceSearch(
      'admin@corp.test',
      { recipient: 'alice@corp.test', since: '2030-02-01T00:00:00Z' },
      { index: w.index, clock: w.clock, audit: w.audit },
    );
    // Assess
    expect(w.audit.events).toMatchObject([
      {
        actor: 'admin@corp.test',
        action: 'trace.search',
        outcome: 'ok',
        details: { recipient: 'alice@corp.test', since: '2030-02-01T00:00:00Z', results: 1, page: 'first' },
      },
    ]);
  });
});

describe('one message and its raw bytes', () => {
  it('traces one message by id; unknown ids are NotFoundError', async () => {
    // Prepare
    const w = await world();
    await w.receive(1, ['alice@corp.test'], 1);
    // Act
    const traced = await traceOne('ses-1', { index: w.index, clock: w.clock });
    const unknown = await traceOne('ses-404', { index: w.index, clock: w.clock }).catch((error: unknown) => error);
    // Assess
    expect(traced.deliveries.map((d) => d.state)).toEqual(['queued']);
    expect(unknown).toBeInstanceOf(NotFoundError);
  });

  it('hands out the stored .eml unchanged and records the download', async () => {
    // Prepare
    const w = await world();
    await w.receive(1, ['alice@corp.test'], 1);
    // Act
    const download = await openRawMessage('admin@corp.test', 'ses-1', {
      index: w.index,
      clock: w.clock,
      rawStore: w.store,
      audit: w.audit,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of download.body) chunks.push(Buffer.from(chunk as Buffer));
    const missing = await openRawMessage('admin@corp.test', 'ses-2', {
      index: w.index,
      clock: w.clock,
      rawStore: w.store,
      audit: w.audit,
    }).catch((e: unknown) => e);
    // Assess
    expect(Buffer.concat(chunks)).toEqual(sampleMessage(1));
    expect(download).toMatchObject({ filename: 'ses-1.eml', size: sampleMessage(1).length });
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(w.audit.events.map((event) => [event.action, event.target, event.outcome])).toEqual([
      ['message.raw-download', 'ses-1', 'ok'],
      ['message.raw-download', 'ses-2', 'error'],
    ]);
  });
});

describe("traceMessages (the CLI's first trace)", () => {
  it('still needs exactly one criterion and answers newest first', async () => {
    // Prepare
    const w = await world();
    await w.receive(1, ['alice@corp.test'], 2);
    await w.receive(2, ['alice@corp.test'], 1);
    // Act
    const traced = await traceMessages({ recipient: 'ALICE@corp.test' }, w.index, w.clock.now());
    const none = await traceMessages({}, w.index, w.clock.now()).catch((error: unknown) => error);
    // Assess
    expect(traced.map((t) => t.message.sesMessageId)).toEqual(['ses-2', 'ses-1']);
    expect(none).toBeInstanceOf(InvalidInputError);
  });
});

describe('traceLookupsOf (the lookups every index keeps for a record)', () => {
  it('lists recipients, envelope and From senders and the Message-ID in comparison form, each once', () => {
    // Prepare
    const record = makeRecord('m1', {
      envelopeFrom: ' <Bounce@Ext.Example> ',
      envelopeRecipients: ['Alice@Corp.Test', 'alice@corp.test', 'hidden@corp.test'],
      summary: { from: ['"Carol" <Carol@Ext.Example>', 'bounce@ext.example'], messageIdHeader: '<ABC@Ext.Example>' },
    });
    // Act
    const lookups = traceLookupsOf(record);
    // Assess
    expect(lookups).toEqual([
      { kind: 'RCPT', value: 'alice@corp.test' },
      { kind: 'RCPT', value: 'hidden@corp.test' },
      { kind: 'FROM', value: 'bounce@ext.example' },
      { kind: 'FROM', value: 'carol@ext.example' },
      { kind: 'MID', value: 'abc@ext.example' },
    ]);
  });

  it('keeps the null sender and leaves out a missing Message-ID', () => {
    // Act
    const lookups = traceLookupsOf(makeRecord('m2', { envelopeFrom: '', summary: { from: [], messageIdHeader: null } }));
    // Assess
    expect(lookups).toEqual([
      { kind: 'RCPT', value: 'alice@corp.test' },
      { kind: 'FROM', value: '' },
    ]);
  });
});
