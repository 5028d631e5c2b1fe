// The DynamoDB message index against real DynamoDB-compatible servers on
// 127.0.0.1: AWS's DynamoDB Local, dynalite in memory, and dynalite persisted to
// a directory (local mode's setup). Each runs the shared contract with tiny
// query pages (so every read crosses page boundaries) plus the checks that only
// make sense for DynamoDB: 1 MB pages, oversized items, TTL, restarts, the bound
// on one mailbox page call, server-side filtering, entries written before pointers.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DescribeTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoDbClient } from '../../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { MAX_REPLY_BYTES } from '../../../../../lambdas/adapters/aws/dynamodb-delivery-log.ts';
import { DynamoDbDirectoryStore } from '../../../../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { DynamoDbMessageIndex } from '../../../../../lambdas/adapters/aws/dynamodb-message-index.ts';
import type { PageBudget } from '../../../../../lambdas/adapters/aws/dynamodb-toolkit.ts';
import { createMessageTable } from '../../../../../lambdas/adapters/aws/message-table.ts';
import { messageTableKeys } from '../../../../../lambdas/contract/message-table.ts';
import type { MailboxEntry } from '../../../../../lambdas/core/model.ts';
import { dayOf } from '../../../../../lambdas/core/trace.ts';
import { type DynamoDbServer, startDynalite, startDynamoDbLocal } from '../../../../support/dynamodb-servers.ts';
import {
  allPages,
  attachments,
  type IndexUnderTest,
  makeEntry,
  makeRecord,
  makeState,
  minutesAgo,
  NOW,
} from '../../../../support/index-contract/fixtures.ts';
import { describeMessageIndexContract } from '../../../../support/message-index-contract.ts';

interface TableUnderTest extends IndexUnderTest {
  index: DynamoDbMessageIndex;
  addresses: DynamoDbDirectoryStore;
  client: DynamoDBClient;
  tableName: string;
  cleanup(): Promise<void>;
}

async function freshTable(endpoint: string, queryPageSize?: number, pageBudget?: PageBudget): Promise<TableUnderTest> {
  const client = makeDynamoDbClient(endpoint);
  const tableName = `messages-${randomUUID()}`;
  await createMessageTable(client, tableName);
  return {
    client,
    tableName,
    index: new DynamoDbMessageIndex({
      client,
      tableName,
      ...(queryPageSize !== undefined && { queryPageSize }),
      ...(pageBudget !== undefined && { pageBudget }),
    }),
    addresses: new DynamoDbDirectoryStore({ client, tableName }),
    cleanup: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

interface QueryCounter {
  /** Query requests sent. */
  count: number;
  /** Items the server evaluated (ScannedCount) and returned after its filter (Count). */
  scanned: number;
  returned: number;
  reset(): void;
}

/** Counts the Query requests a client sends and what they read, to prove a read crossed pages or stayed bounded. */
function countQueries(client: DynamoDBClient): QueryCounter {
  const counter: QueryCounter = {
    count: 0,
    scanned: 0,
    returned: 0,
    reset() {
      counter.count = 0;
      counter.scanned = 0;
      counter.returned = 0;
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'QueryCommand') {
        const output = result.output as { ScannedCount?: number; Count?: number };
        counter.count += 1;
        counter.scanned += output.ScannedCount ?? 0;
        counter.returned += output.Count ?? 0;
      }
      return result;
    },
    { step: 'initialize', name: 'countQueries' },
  );
  return counter;
}

/** The names of the commands a client sends from now on, in order. */
function recordCommands(client: DynamoDBClient): string[] {
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return sent;
}

function describeDynamoDbSpecifics(endpoint: () => string): void {
  it('reads a mailbox larger than one 1 MB DynamoDB page', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      for (let i = 0; i < 30; i += 1) {
        const snippet = randomBytes(30_000).toString('base64');
        await table.index.putMailboxEntry(
          makeEntry('alice@corp.test', `big${String(i).padStart(2, '0')}`, { receivedAt: minutesAgo(100 - i), snippet }),
        );
      }
      const queries = countQueries(table.client);
      // Act
      const { entries } = await table.index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 30 }, NOW);
      // Assess
      expect(entries.map((entry) => entry.sesMessageId)).toEqual(
        Array.from({ length: 30 }, (_, i) => `big${String(29 - i).padStart(2, '0')}`),
      );
      expect(queries.count).toBeGreaterThan(1);
    } finally {
      await table.cleanup();
    }
  });

  it('answers the first page of an unfiltered folder with one Query that knows whether more follow', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      for (let i = 0; i < 30; i += 1) {
        await table.index.putMailboxEntry(
          makeEntry('alice@corp.test', `f${String(i).padStart(2, '0')}`, { receivedAt: minutesAgo(100 - i) }),
        );
      }
      const queries = countQueries(table.client);
      // Act
      const first = await table.index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10 }, NOW);
      const firstQueries = queries.count;
      const whole = await table.index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 30 }, NOW);
      // Assess
      expect(first.entries).toHaveLength(10);
      expect(first.nextCursor).not.toBeNull();
      expect(firstQueries).toBe(1);
      expect(whole.entries).toHaveLength(30);
      expect(whole.nextCursor).toBeNull();
      expect(queries.count).toBe(2);
    } finally {
      await table.cleanup();
    }
  });

  it('filters a search on the server: only matching items travel', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      for (let i = 0; i < 40; i += 1) {
        const subject = i % 10 === 3 ? `Invoice ${i}` : `Newsletter ${i}`;
        await table.index.putMailboxEntry(
          makeEntry('alice@corp.test', `s${String(i).padStart(2, '0')}`, { receivedAt: minutesAgo(100 - i), subject }),
        );
      }
      const queries = countQueries(table.client);
      // Act
      const page = await table.index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10, search: 'INVOICE' }, NOW);
      // Assess
      expect(page.entries.map((entry) => entry.sesMessageId)).toEqual(['s33', 's23', 's13', 's03']);
      expect(page.nextCursor).toBeNull();
      expect(queries.scanned).toBe(40);
      expect(queries.returned).toBe(4);
    } finally {
      await table.cleanup();
    }
  });

  it('bounds one page call by its budget and continues with a cursor, even from an empty page', async () => {
    // Prepare: 50 entries, the only matches are the two oldest
    const budget = { items: 10, requests: 3 };
    const table = await freshTable(endpoint(), undefined, budget);
    try {
      for (let i = 0; i < 50; i += 1) {
        const from = i < 2 ? ['Needle <needle@ext.example>'] : [`Hay ${i} <hay${i}@ext.example>`];
        await table.index.putMailboxEntry(
          makeEntry('alice@corp.test', `h${String(i).padStart(2, '0')}`, { receivedAt: minutesAgo(100 - i), from }),
        );
      }
      const queries = countQueries(table.client);
      // Act
      const first = await table.index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 5, search: 'needle' }, NOW);
      const firstCall = { count: queries.count, scanned: queries.scanned };
      const pages = await allPages(table.index, 'alice@corp.test', { folder: 'inbox', limit: 5, search: 'needle' }, NOW, 20);
      // Assess
      expect(first.entries).toEqual([]);
      expect(first.nextCursor).not.toBeNull();
      expect(firstCall.count).toBeLessThanOrEqual(budget.requests);
      expect(firstCall.scanned).toBeLessThanOrEqual(budget.items + 1);
      expect(pages.flatMap((page) => page.entries.map((entry) => entry.sesMessageId))).toEqual(['h01', 'h00']);
      expect(pages.length).toBeGreaterThanOrEqual(5);
    } finally {
      await table.cleanup();
    }
  });

  it('finds, filters and updates entries written before pointers and search attributes existed', async () => {
    // Prepare: the shape putMailboxEntry wrote for issue 2 (no pointer, no visibility, no searchText)
    const table = await freshTable(endpoint());
    const doc = DynamoDBDocumentClient.from(table.client);
    try {
      const legacy = (id: string, minutes: number, more: Partial<MailboxEntry> = {}) => {
        const entry = makeEntry('alice@corp.test', id, { receivedAt: minutesAgo(minutes), ...more });
        return doc.send(
          new PutCommand({
            TableName: table.tableName,
            Item: {
              ...messageTableKeys.mailboxEntry('alice@corp.test', entry.receivedAt, id),
              type: 'entry',
              expiresAt: entry.expiresAt,
              folder: entry.folder,
              read: entry.read,
              data: entry,
            },
          }),
        );
      };
      await table.index.putMessage(makeRecord('old-1', { receivedAt: minutesAgo(5) }));
      await legacy('old-1', 5, { subject: 'Old Invoice' });
      await legacy('old-2', 4, { subject: 'Old Invoice, quarantined', visibility: 'quarantined' });
      await legacy('old-3', 3, { subject: 'Newsletter' });
      await legacy('old-norecord', 2);
      // Act
      const found = await table.index.getMailboxEntry('alice@corp.test', 'old-1', NOW);
      await table.index.updateMailboxEntry('alice@corp.test', 'old-1', { read: true });
      const searched = await table.index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10, search: 'invoice' }, NOW);
      const withoutRecord = await table.index.getMailboxEntry('alice@corp.test', 'old-norecord', NOW);
      // Assess
      expect(found?.sesMessageId).toBe('old-1');
      expect(searched.entries.map((entry) => [entry.sesMessageId, entry.read])).toEqual([['old-1', true]]);
      expect(withoutRecord).toBeNull();
    } finally {
      await table.cleanup();
    }
  });

  it('finds an entry whose pointer was lost (crash between the two writes) and restores the pointer on re-ingest', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    const doc = DynamoDBDocumentClient.from(table.client);
    try {
      const entry = makeEntry('alice@corp.test', 'm-crash', { receivedAt: minutesAgo(5) });
      await table.index.putMessage(makeRecord('m-crash', { receivedAt: entry.receivedAt }));
      await table.index.putMailboxEntry(entry);
      const pointer = messageTableKeys.mailboxEntryPointer('alice@corp.test', 'm-crash');
      await doc.send(new DeleteCommand({ TableName: table.tableName, Key: pointer }));
      // Act
      const viaRecord = await table.index.getMailboxEntry('alice@corp.test', 'm-crash', NOW);
      await table.index.putMailboxEntry(entry);
      await table.index.updateMailboxEntry('alice@corp.test', 'm-crash', { folder: 'deleted' });
      await doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: messageTableKeys.message('m-crash'),
          UpdateExpression: 'SET #data.#receivedAt = :other',
          ExpressionAttributeNames: { '#data': 'data', '#receivedAt': 'receivedAt' },
          ExpressionAttributeValues: { ':other': minutesAgo(999) },
        }),
      );
      const viaPointer = await table.index.getMailboxEntry('alice@corp.test', 'm-crash', NOW);
      // Assess
      expect(viaRecord).toEqual(entry);
      expect(viaPointer).toEqual({ ...entry, folder: 'deleted' });
    } finally {
      await table.cleanup();
    }
  });

  it('shrinks a summary too large even when compressed instead of refusing the message', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      const many = attachments(20_000, () => `${randomBytes(24).toString('hex')}.bin`);
      const record = makeRecord('m-huge', { summary: { attachments: many } });
      const entry = makeEntry('alice@corp.test', 'm-huge', { attachments: many });
      // Act
      await table.index.putMessage(record);
      await table.index.putMailboxEntry(entry);
      // Assess
      const stored = await table.index.getMessage('m-huge', NOW);
      const storedAttachments = stored?.summary.attachments ?? [];
      expect(storedAttachments.length).toBeGreaterThan(0);
      expect(storedAttachments.length).toBeLessThan(many.length);
      expect(storedAttachments).toEqual(many.slice(0, storedAttachments.length));
      expect({ ...stored, summary: { ...stored?.summary, attachments: [] } }).toEqual({
        ...record,
        summary: { ...record.summary, attachments: [] },
      });
      const [listed] = (await table.index.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 1 }, NOW)).entries;
      expect(listed?.attachments.length).toBeGreaterThan(0);
      expect(listed?.attachments).toEqual(many.slice(0, listed?.attachments.length));
      expect((await table.index.findMessages({ recipient: 'alice@corp.test' }, NOW)).map((m) => m.sesMessageId)).toEqual(['m-huge']);
    } finally {
      await table.cleanup();
    }
  });

  it('writes the day lookup of states created at once one time, and again on a later create', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      const sent = recordCommands(table.client);
      const recipients = ['alice@corp.test', 'bob@corp.test', 'carol@corp.test'];
      const day = messageTableKeys.lookup('m1', 'DAY', dayOf(makeState('m1', 'x').receivedAt));
      // Act
      const created = await Promise.all(recipients.map((recipient) => table.index.createDeliveryState(makeState('m1', recipient))));
      const together = sent.splice(0);
      const doc = DynamoDBDocumentClient.from(table.client);
      const lookup = await doc.send(new GetCommand({ TableName: table.tableName, Key: day }));
      await doc.send(new DeleteCommand({ TableName: table.tableName, Key: day }));
      sent.splice(0);
      await table.index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      // Assess: three states and one lookup; the re-ingest's create repairs a lost lookup
      expect(created).toEqual([true, true, true]);
      expect(together).toEqual(['PutItemCommand', 'PutItemCommand', 'PutItemCommand', 'PutItemCommand']);
      expect(lookup.Item).toMatchObject({ type: 'lookup' });
      expect(sent).toEqual(['PutItemCommand', 'PutItemCommand']);
      expect((await doc.send(new GetCommand({ TableName: table.tableName, Key: day }))).Item).toMatchObject({ type: 'lookup' });
    } finally {
      await table.cleanup();
    }
  });

  it('records an attempt from the state the caller read with one UpdateItem and no read; a stale one is re-read', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      await table.index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      const [read] = await table.index.getDeliveryStates('m1', NOW);
      const sent = recordCommands(table.client);
      const at = (n: number) => ({
        at: new Date(NOW.getTime() + n).toISOString(),
        code: 451,
        response: `451 try ${n}`,
        outcome: 'deferred' as const,
      });
      // Act
      await table.index.recordDeliveryAttempt('m1', 'alice@corp.test', at(1), 'deferred', null, read);
      const fresh = sent.splice(0);
      await table.index.recordDeliveryAttempt('m1', 'alice@corp.test', at(2), 'deferred', null, read);
      // Assess
      expect(fresh).toEqual(['UpdateItemCommand']);
      expect(sent).toEqual(['UpdateItemCommand', 'GetItemCommand', 'UpdateItemCommand']);
      const [state] = await table.index.getDeliveryStates('m1', NOW);
      expect(state?.attempts.map((attempt) => attempt.response)).toEqual(['451 try 1', '451 try 2']);
    } finally {
      await table.cleanup();
    }
  });

  it('cuts long SMTP replies so 50 stored attempts stay within one item', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      await table.index.createDeliveryState(makeState('m1', 'alice@corp.test'));
      const longReply = `451 4.7.0 ${'ä'.repeat(50_000)}`;
      // Act
      for (let n = 0; n < 55; n += 1) {
        await table.index.recordDeliveryAttempt(
          'm1',
          'alice@corp.test',
          { at: new Date(NOW.getTime() + n).toISOString(), code: 451, response: longReply, outcome: 'deferred' },
          'deferred',
          longReply,
        );
      }
      // Assess
      const [state] = await table.index.getDeliveryStates('m1', NOW);
      expect(state?.attemptCount).toBe(55);
      expect(state?.attempts).toHaveLength(50);
      expect(Buffer.byteLength(state?.lastReply ?? '')).toBeLessThanOrEqual(MAX_REPLY_BYTES);
      expect(Buffer.byteLength(state?.lastReply ?? '')).toBeGreaterThan(MAX_REPLY_BYTES - 4);
      expect(longReply.startsWith(state?.attempts[0]?.response ?? 'x')).toBe(true);
      expect(longReply.startsWith(state?.reason ?? 'x')).toBe(true);
    } finally {
      await table.cleanup();
    }
  });

  it('lets exactly one of two workers with their own clients acquire a gate', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    const otherClient = makeDynamoDbClient(endpoint());
    const other = new DynamoDbMessageIndex({ client: otherClient, tableName: table.tableName });
    try {
      // Act
      const races = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          Promise.all([
            table.index.acquireOnce(`gate${i}`, 'worker-a', NOW, 60_000),
            other.acquireOnce(`gate${i}`, 'worker-b', NOW, 60_000),
          ]),
        ),
      );
      // Assess
      for (const results of races) expect([...results].sort()).toEqual(['acquired', 'busy']);
    } finally {
      otherClient.destroy();
      await table.cleanup();
    }
  });

  it('creates the table idempotently', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      await table.addresses.putAddresses([{ address: 'sales@corp.test', mailbox: 'alice@corp.test' }]);
      // Act
      await createMessageTable(table.client, table.tableName);
      // Assess
      expect(await table.index.mailboxFor('sales@corp.test')).toBe('alice@corp.test');
    } finally {
      await table.cleanup();
    }
  });
}

describe('DynamoDbMessageIndex on DynamoDB Local', () => {
  let server: DynamoDbServer | undefined;
  const endpoint = () => server?.endpoint ?? 'http://127.0.0.1:1';

  beforeAll(async () => {
    server = await startDynamoDbLocal();
    console.info(`DynamoDB Local ready in ${Math.round(server.startupMs)} ms`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeMessageIndexContract('DynamoDB Local, 3 items per query page', () => freshTable(endpoint(), 3));
  describeDynamoDbSpecifics(endpoint);

  it('enables TTL on expiresAt where the server supports it', async () => {
    // Prepare
    const table = await freshTable(endpoint());
    try {
      // Act
      const ttl = await table.client.send(new DescribeTimeToLiveCommand({ TableName: table.tableName }));
      // Assess
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
    } finally {
      await table.cleanup();
    }
  });
});

describe('DynamoDbMessageIndex on dynalite in memory', () => {
  let server: DynamoDbServer | undefined;
  const endpoint = () => server?.endpoint ?? 'http://127.0.0.1:1';

  beforeAll(async () => {
    server = await startDynalite();
    console.info(`dynalite (memory) ready in ${Math.round(server.startupMs)} ms`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeMessageIndexContract('dynalite in memory, 3 items per query page', () => freshTable(endpoint(), 3));
  describeDynamoDbSpecifics(endpoint);
});

describe('DynamoDbMessageIndex on dynalite persisted to a directory', () => {
  let directory = '';
  let server: DynamoDbServer | undefined;
  const endpoint = () => server?.endpoint ?? 'http://127.0.0.1:1';

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'shadowmail-dynalite-'));
    server = await startDynalite({ path: join(directory, 'db') });
    console.info(`dynalite (path) ready in ${Math.round(server.startupMs)} ms`);
  });
  afterAll(async () => {
    await server?.stop();
    await rm(directory, { recursive: true, force: true });
  });

  describeMessageIndexContract('dynalite on disk, 3 items per query page', () => freshTable(endpoint(), 3));

  it('keeps messages, entries, states, addresses and gates across a restart on the same path', async () => {
    // Prepare
    const path = join(directory, 'restart');
    const first = await startDynalite({ path });
    const firstClient = makeDynamoDbClient(first.endpoint);
    await createMessageTable(firstClient, 'messages');
    const before = new DynamoDbMessageIndex({ client: firstClient, tableName: 'messages' });
    const record = makeRecord('m-persist', { summary: { attachments: attachments(300) } });
    await before.putMessage(record);
    await before.putMailboxEntry(makeEntry('alice@corp.test', 'm-persist'));
    await before.createDeliveryState(makeState('m-persist', 'alice@corp.test'));
    await new DynamoDbDirectoryStore({ client: firstClient, tableName: 'messages' }).putAddresses([
      { address: 'sales@corp.test', mailbox: 'alice@corp.test' },
    ]);
    await before.acquireOnce('enqueue#m-persist', 'worker-a', NOW, 60_000);
    await before.completeOnce('enqueue#m-persist', 'worker-a');
    firstClient.destroy();
    await first.stop();

    // Act
    const second = await startDynalite({ path });
    const secondClient = makeDynamoDbClient(second.endpoint);
    try {
      await createMessageTable(secondClient, 'messages');
      const after = new DynamoDbMessageIndex({ client: secondClient, tableName: 'messages' });

      // Assess
      expect(await after.getMessage('m-persist', NOW)).toEqual(record);
      expect(
        (await after.listMailboxPage('alice@corp.test', { folder: 'inbox', limit: 10 }, NOW)).entries.map((entry) => entry.sesMessageId),
      ).toEqual(['m-persist']);
      expect(await after.getDeliveryStates('m-persist', NOW)).toEqual([makeState('m-persist', 'alice@corp.test')]);
      expect(await after.mailboxFor('sales@corp.test')).toBe('alice@corp.test');
      expect(await after.acquireOnce('enqueue#m-persist', 'worker-b', NOW, 60_000)).toBe('done');
      expect((await after.findMessages({ messageIdHeader: 'm-persist@ext.example' }, NOW)).map((m) => m.sesMessageId)).toEqual([
        'm-persist',
      ]);
    } finally {
      secondClient.destroy();
      await second.stop();
    }
  });
});
