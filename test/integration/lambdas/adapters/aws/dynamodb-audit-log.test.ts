// The audit log: one contract run against the in-memory reference, dynalite and
// AWS's DynamoDB Local on 127.0.0.1 — append-only (never overwritten, no update or
// delete anywhere), paged newest first across day partitions with filters, and no
// TTL attribute on the items, so the table's TTL never removes them.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAuditLog } from '../../../../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { makeDynamoDbClient } from '../../../../../lambdas/adapters/aws/dynamodb-client.ts';
import { createMessageTable } from '../../../../../lambdas/adapters/aws/message-table.ts';
import { MESSAGE_TABLE } from '../../../../../lambdas/contract/message-table.ts';
import { InvalidInputError } from '../../../../../lambdas/core/errors.ts';
import type { AuditAction, AuditEvent, AuditFilter, AuditLog, AuditPage } from '../../../../../lambdas/ports/audit-log.ts';
import { type DynamoDbServer, startDynalite, startDynamoDbLocal } from '../../../../support/dynamodb-servers.ts';
import { MemoryAuditLog } from '../../../../support/memory-resend.ts';

const NOW = Date.parse('2030-03-01T12:00:00.000Z');

function event(n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    at: new Date(NOW - n * 3_600_000).toISOString(),
    actor: 'admin@corp.test',
    action: 'trace.search',
    target: null,
    outcome: 'ok',
    details: {},
    ...overrides,
  };
}

const window = (more: Partial<AuditFilter> = {}): AuditFilter => ({
  since: new Date(NOW - 30 * 86_400_000).toISOString(),
  until: new Date(NOW + 60_000).toISOString(),
  limit: 100,
  ...more,
});

async function allPages(log: AuditLog, filter: AuditFilter, maxPages = 500): Promise<AuditPage[]> {
  const pages: AuditPage[] = [];
  let cursor: string | null = null;
  do {
    if (pages.length >= maxPages) throw new Error(`still a cursor after ${maxPages} pages`);
    const page = await log.list({ ...filter, cursor });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return pages;
}

const ids = (pages: AuditPage[]) => pages.flatMap((page) => page.events.map((e) => Number(e.id.slice(-12))));

interface LogUnderTest {
  log: AuditLog;
  cleanup?(): Promise<void>;
}

function describeAuditLogContract(name: string, make: () => Promise<LogUnderTest>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let log: AuditLog;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const made = await make();
      log = made.log;
      cleanup = made.cleanup?.bind(made);
    });
    afterEach(async () => {
      await cleanup?.();
    });

    it('keeps an event exactly as appended', async () => {
      // Prepare
      const stored = event(1, {
        actor: 'cli:root',
        action: 'resend.bulk',
        target: 'alice@corp.test',
        outcome: 'error',
        details: { since: '2030-02-01T00:00:00Z', count: 3, ok: false, none: null, recipients: ['a@corp.test', 'b@corp.test'] },
      });
      // Act
      await log.append(stored);
      // Assess
      expect((await log.list(window())).events).toEqual([stored]);
    });

    it('never overwrites an event: a second append with the same time and id is refused', async () => {
      // Prepare
      await log.append(event(1, { details: { reason: 'original' } }));
      // Act
      const forged = await log
        .append(event(1, { actor: 'mallory@corp.test', details: { reason: 'forged' } }))
        .catch((error: unknown) => error);
      // Assess
      expect(forged).toBeInstanceOf(InvalidInputError);
      expect((await log.list(window())).events).toEqual([event(1, { details: { reason: 'original' } })]);
    });

    it('pages newest first across days, each event once, within [since, until)', async () => {
      // Prepare: one event every 7 hours over 10 days, appended in scrambled order
      const order = Array.from({ length: 35 }, (_, i) => (i * 11) % 35);
      for (const i of order) await log.append(event(i * 7));
      // Act
      const pages = await allPages(
        log,
        window({ limit: 4, since: new Date(NOW - 7 * 24 * 3_600_000).toISOString(), until: new Date(NOW - 7 * 3_600_000).toISOString() }),
      );
      // Assess
      const expected = Array.from({ length: 35 }, (_, i) => i * 7).filter((hours) => hours > 7 && hours <= 7 * 24);
      expect(ids(pages)).toEqual(expected);
      for (const page of pages) expect(page.events.length).toBeLessThanOrEqual(4);
    });

    it('filters by actor and action', async () => {
      // Prepare
      const actions: AuditAction[] = ['failover.on', 'trace.search', 'resend.single', 'trace.search'];
      for (let i = 0; i < 12; i += 1) {
        await log.append(event(i, { actor: i % 3 === 0 ? 'cli:root' : 'admin@corp.test', action: actions[i % 4]! }));
      }
      // Act
      const byActor = await allPages(log, window({ actor: 'cli:root', limit: 2 }));
      const byAction = await allPages(log, window({ action: 'trace.search', limit: 2 }));
      const both = await allPages(log, window({ actor: 'cli:root', action: 'trace.search' }));
      // Assess
      expect(ids(byActor)).toEqual([0, 3, 6, 9]);
      expect(ids(byAction)).toEqual([1, 3, 5, 7, 9, 11]);
      expect(ids(both)).toEqual([3, 9]);
    });

    it('reaches both ends of a year with quiet days between (short pages with a cursor are fine)', async () => {
      // Prepare
      await log.append(event(1));
      await log.append(event(24 * 360));
      // Act
      const pages = await allPages(log, window({ since: new Date(NOW - 400 * 86_400_000).toISOString() }));
      // Assess
      expect(ids(pages)).toEqual([1, 24 * 360]);
    });

    it('refuses a cursor it did not issue', async () => {
      // Act
      const outcome = await log.list(window({ cursor: 'not-ours!' })).catch((error: unknown) => error);
      // Assess
      expect(outcome).toBeInstanceOf(InvalidInputError);
    });
  });
}

describeAuditLogContract('MemoryAuditLog', async () => ({ log: new MemoryAuditLog() }));

async function freshLog(endpoint: string): Promise<LogUnderTest & { client: DynamoDBClient; tableName: string }> {
  const client = makeDynamoDbClient(endpoint);
  const tableName = `audit-${randomUUID()}`;
  await createMessageTable(client, tableName);
  return {
    client,
    tableName,
    log: new DynamoDbAuditLog({ client, tableName, queryPageSize: 3, budget: { requests: 25 } }),
    cleanup: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}

for (const [name, start] of [
  ['dynalite', () => startDynalite()],
  ['DynamoDB Local', () => startDynamoDbLocal()],
] as const) {
  describe(`DynamoDbAuditLog on ${name}`, () => {
    let server: DynamoDbServer | undefined;
    const endpoint = () => server?.endpoint ?? 'http://127.0.0.1:1';
    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await server?.stop();
    });

    describeAuditLogContract(`${name}, 3 items per query page`, () => freshLog(endpoint()));

    it('writes audit items without the TTL attribute, in day partitions', async () => {
      // Prepare
      const table = await freshLog(endpoint());
      try {
        await table.log.append(event(0));
        // Act
        const { Items: items } = await DynamoDBDocumentClient.from(table.client).send(
          new QueryCommand({
            TableName: table.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': 'AUDIT#2030-03-01' },
          }),
        );
        // Assess
        expect(items).toHaveLength(1);
        expect(items?.[0]).not.toHaveProperty(MESSAGE_TABLE.ttlAttribute);
        expect(items?.[0]?.sk).toBe(`2030-03-01T12:00:00.000Z#${event(0).id}`);
      } finally {
        await table.cleanup?.();
      }
    });

    it('has no method that could change or delete an entry', () => {
      // Assess
      expect(
        Object.getOwnPropertyNames(DynamoDbAuditLog.prototype)
          .filter((m) => m !== 'constructor')
          .sort(),
      ).toEqual(['append', 'list']);
    });
  });
}
