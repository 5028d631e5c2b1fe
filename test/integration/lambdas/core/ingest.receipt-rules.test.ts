// One message, several SES receipt rules (issue 17): a message to alice (rule 1) and bob
// (rule 2) comes as two notifications of the same SES message id, each listing only its
// rule's recipients. The real ingest and forward use cases over the memory index and over the
// DynamoDB adapter on dynalite, relaying through the real SMTP relay into local mode's primary
// sink: every recipient reaches the primary exactly once, whatever the order, concurrency or
// redelivery of the notifications.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbMessageIndex } from '../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import { createMessageTable } from '../../../../lambdas/adapters/aws/message-table.ts';
import { type SinkEnvelope, type SmtpSink, startSmtpSink } from '../../../../lambdas/adapters/local/smtp-sink.ts';
import { MailparserMimeParser } from '../../../../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { SmtpRelayAdapter } from '../../../../lambdas/adapters/smtp/smtp-relay.ts';
import { type ForwardDeps, forwardMessage } from '../../../../lambdas/core/forward.ts';
import { type IngestDeps, type IngestOutcome, ingestMessage } from '../../../../lambdas/core/ingest.ts';
import type { ForwardJob, ReceivedMail } from '../../../../lambdas/core/model.ts';
import type { MessageIndex } from '../../../../lambdas/ports/message-index.ts';
import type { SmtpRelay } from '../../../../lambdas/ports/smtp-relay.ts';
import { type DynamoDbServer, startDynalite } from '../../../support/dynamodb-servers.ts';
import { ManualClock, MemoryRawMailStore, RecordingForwardQueue } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { receivedMail, simpleMessage } from '../../../support/received-mail.ts';

const ID = 'ses-rules-0001';
const ALICE = 'alice@corp.test';
const BOB = 'bob@corp.test';
const CAROL = 'carol@corp.test';

let dynalite: DynamoDbServer;
let tables = 0;
const clients: Array<ReturnType<typeof makeDynamoDbClient>> = [];
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await dynalite?.stop();
});

/** A fresh index per test, so every test has the message to itself. */
const indexes: Array<[string, () => Promise<MessageIndex>]> = [
  ['the memory index', async () => new MemoryMessageIndex()],
  [
    'the DynamoDB adapter on dynalite',
    async () => {
      const client = makeDynamoDbClient(dynalite.endpoint);
      clients.push(client);
      tables += 1;
      const tableName = `rules-${tables}`;
      await createMessageTable(client, tableName);
      return new DynamoDbMessageIndex({ client, tableName });
    },
  ],
];

describe.each(indexes)('ingest and forward of one message that several receipt rules delivered, over %s', (_, openIndex) => {
  let dir: string;
  let sink: SmtpSink;
  let index: MessageIndex;
  let store: MemoryRawMailStore;
  let queue: RecordingForwardQueue;
  let clock: ManualClock;
  let relay: SmtpRelay;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shadowmail-rules-'));
    sink = await startSmtpSink({ host: '127.0.0.1', port: 0, dir: join(dir, 'primary') });
    relay = new SmtpRelayAdapter({ host: '127.0.0.1', port: sink.port, tls: 'none' });
    index = await openIndex();
    store = new MemoryRawMailStore();
    queue = new RecordingForwardQueue();
    clock = new ManualClock('2026-11-20T10:00:05.000Z');
    store.put(notification([ALICE]).raw, simpleMessage());
  });

  afterEach(async () => {
    await relay.close?.(); // its idle session would hold the sink's close until the idle limit
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The notification of the rule that matched `recipients` (same message, same S3 object). */
  const notification = (recipients: string[]): ReceivedMail => receivedMail({ sesMessageId: ID, envelopeRecipients: recipients });

  const ingest = (recipients: string[], workerId = 'ingest-1'): Promise<IngestOutcome> =>
    ingestMessage(notification(recipients), ingestDeps(workerId));

  function ingestDeps(workerId: string): IngestDeps {
    return {
      index,
      rawStore: store,
      parser: new MailparserMimeParser(),
      forwardQueue: queue,
      clock,
      workerId,
      config: { retentionDays: 28, stackId: 'stack-1', leaseMs: 60_000, subaddressSeparator: '+' },
    };
  }

  function forwardDeps(workerId: string, through: SmtpRelay = relay): ForwardDeps {
    return {
      index,
      rawStore: store,
      relay: through,
      forwardQueue: queue,
      clock,
      workerId,
      config: { stackId: 'stack-1', maxAgeMs: 5 * 86_400_000, retryBaseSeconds: 60, retryMaxDelaySeconds: 900, leaseMs: 300_000 },
    };
  }

  /** The queued jobs, taken off the queue. */
  const takeJobs = (): ForwardJob[] => queue.sent.splice(0).map((sent) => sent.job);

  /** Runs every queued job (and what they queue) until the queue is empty; `together` runs each round's jobs at once. */
  async function drain(together = false): Promise<void> {
    for (let round = 0; queue.sent.length > 0; round += 1) {
      if (round > 10) throw new Error('the forward keeps queueing jobs');
      const jobs = takeJobs();
      if (together) await Promise.all(jobs.map((job, i) => forwardMessage(job, forwardDeps(`forward-${i}`))));
      else for (const job of jobs) await forwardMessage(job, forwardDeps('forward-1'));
    }
  }

  /** How often the primary got each recipient, over every message it received. */
  async function deliveredTo(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const names = (await readdir(join(dir, 'primary'))).filter((name) => name.endsWith('.json')).sort();
    for (const name of names) {
      const envelope = JSON.parse(await readFile(join(dir, 'primary', name), 'utf8')) as SinkEnvelope;
      for (const recipient of envelope.recipients) counts[recipient] = (counts[recipient] ?? 0) + 1;
    }
    return counts;
  }

  async function expectEveryRecipientOnce(recipients: string[]): Promise<void> {
    const now = clock.now();
    expect([...((await index.getMessage(ID, now))?.envelopeRecipients ?? [])].sort()).toEqual([...recipients].sort());
    expect(await deliveredTo()).toEqual(Object.fromEntries(recipients.map((recipient) => [recipient, 1])));
    const states = await index.getDeliveryStates(ID, now);
    expect(states.map((state) => [state.recipient, state.state]).sort()).toEqual(recipients.map((r) => [r, 'delivered']).sort());
    for (const recipient of recipients) {
      const inbox = (await index.listMailboxPage(recipient, { folder: 'inbox', limit: 10 }, now)).entries;
      expect(inbox.map((entry) => entry.sesMessageId)).toEqual([ID]);
    }
    expect(await index.countPendingRecipients(now)).toBe(0);
  }

  it.each([
    ['alice first', [[ALICE], [BOB]]],
    ['bob first', [[BOB], [ALICE]]],
  ])('relays to the recipients of both rules, each once (%s)', async (_, [first, second]) => {
    // Act
    const one = await ingest(first!);
    const two = await ingest(second!);
    // Assess: each notification queued a job for its recipients; the backlog counts both
    expect([one.forwardEnqueued, two.forwardEnqueued]).toEqual([true, true]);
    expect(await index.countPendingRecipients(clock.now())).toBe(2);
    await drain();
    await expectEveryRecipientOnce([ALICE, BOB]);
    expect((await index.getMessage(ID, clock.now()))?.envelopeRecipients).toEqual([...first!, ...second!]);
  });

  it('relays to both when the two notifications are ingested at once and their jobs run at once', async () => {
    // Act
    const outcomes = await Promise.all([ingest([ALICE], 'ingest-1'), ingest([BOB], 'ingest-2')]);
    await drain(true);
    // Assess
    expect(outcomes.map((outcome) => outcome.forwardEnqueued)).toEqual([true, true]);
    await expectEveryRecipientOnce([ALICE, BOB]);
  });

  it('relays a recipient both rules matched once, the others once each', async () => {
    // Prepare: bob matched both rules; rule 1's job has run before rule 2's notification comes
    await ingest([ALICE, BOB]);
    await drain();
    // Act
    await ingest([BOB, CAROL]);
    await drain();
    // Assess
    await expectEveryRecipientOnce([ALICE, BOB, CAROL]);
  });

  it('relays a recipient both rules matched once when both notifications and their jobs run at once', async () => {
    // Prepare: bob's address rule and the domain-wide rule both matched (rules that overlap)
    // Act
    await Promise.all([ingest([BOB], 'ingest-1'), ingest([ALICE, BOB, CAROL], 'ingest-2')]);
    // Assess: the backlog counts the union, before and after the jobs ran at once
    expect(await index.countPendingRecipients(clock.now())).toBe(3);
    await drain(true);
    await expectEveryRecipientOnce([ALICE, BOB, CAROL]);
  });

  it('relays the added recipient when the second rule merges while the first job relays the old record', async () => {
    // Prepare: the first job has read the record (alice only) when rule 2's notification merges bob in
    await ingest([ALICE]);
    const [job] = takeJobs();
    const mergingMidway: SmtpRelay = {
      relay: async (envelope, data) => {
        await ingest([BOB], 'ingest-2');
        return relay.relay(envelope, data);
      },
    };
    // Act
    await forwardMessage(job!, forwardDeps('forward-1', mergingMidway));
    await drain();
    // Assess
    await expectEveryRecipientOnce([ALICE, BOB]);
  });

  it('changes nothing and queues nothing for a repeated notification (SNS redelivery), in either order', async () => {
    // Prepare
    await ingest([ALICE]);
    await ingest([BOB]);
    const record = await index.getMessage(ID, clock.now());
    const queued = queue.sent.length;
    // Act
    const again = [await ingest([ALICE], 'ingest-3'), await ingest([BOB], 'ingest-4')];
    // Assess
    expect(again.map((outcome) => outcome.forwardEnqueued)).toEqual([false, false]);
    expect(queue.sent).toHaveLength(queued);
    expect(await index.getMessage(ID, clock.now())).toEqual(record);
    await drain();
    await expectEveryRecipientOnce([ALICE, BOB]);
  });
});
