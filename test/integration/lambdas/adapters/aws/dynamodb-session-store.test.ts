// The session store: one contract run against the in-memory reference, dynalite and
// AWS's DynamoDB Local — a session reads back as created, sign-out sticks, an expired
// or unknown session is none, and signing out an unknown id creates nothing.
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbSessionStore } from '../../../../../lambdas/adapters/aws/dynamodb-session-store.ts';
import { MESSAGE_TABLE } from '../../../../../lambdas/contract/message-table.ts';
import type { SessionStore, StoredSession } from '../../../../../lambdas/ports/session-store.ts';
import { describeOnDynamoDbServers, type FreshTable, freshMessageTable } from '../../../../support/dynamodb-table-suite.ts';
import { MemorySessionStore } from '../../../../support/memory-session-store.ts';

const NOW = new Date('2030-03-01T12:00:00.000Z');
const SESSION: StoredSession = {
  id: 'c2Vzc2lvbi1pZC1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg',
  email: 'bob@corp.test',
  tokenAdmin: false,
  createdAt: NOW.getTime(),
  expiresAt: NOW.getTime() / 1000 + 8 * 3600,
  signedOut: false,
};

function describeSessionStoreContract(name: string, make: () => Promise<{ store: SessionStore; cleanup?(): Promise<void> }>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const made = await make();
      store = made.store;
      cleanup = made.cleanup?.bind(made);
    });
    afterEach(async () => cleanup?.());

    it('reads a session back as created', async () => {
      await store.create({ ...SESSION, tokenAdmin: true, directoryId: 'IEMY5ahfOU6OlHN0Vh/J2g==' });

      expect(await store.get(SESSION.id, NOW)).toEqual({ ...SESSION, tokenAdmin: true, directoryId: 'IEMY5ahfOU6OlHN0Vh/J2g==' });
    });

    it("reads a break-glass admin's session back as one", async () => {
      await store.create({ ...SESSION, email: 'ops@private.test', tokenAdmin: true, breakGlassAdmin: true });

      expect(await store.get(SESSION.id, NOW)).toEqual({ ...SESSION, email: 'ops@private.test', tokenAdmin: true, breakGlassAdmin: true });
    });

    it('keeps a sign-out: the session reads as signed out from then on', async () => {
      await store.create(SESSION);

      await store.signOut(SESSION.id);

      expect(await store.get(SESSION.id, NOW)).toEqual({ ...SESSION, signedOut: true });
    });

    it('has no session for an unknown id or once expiresAt has passed', async () => {
      await store.create(SESSION);

      expect(await store.get('unknown', NOW)).toBeNull();
      expect(await store.get(SESSION.id, new Date(SESSION.expiresAt * 1000))).toBeNull();
    });

    it('creates nothing when an unknown id is signed out', async () => {
      await store.signOut('unknown');

      expect(await store.get('unknown', NOW)).toBeNull();
    });
  });
}

describeSessionStoreContract('MemorySessionStore', async () => ({ store: new MemorySessionStore() }));

async function freshStore(endpoint: string): Promise<FreshTable & { store: DynamoDbSessionStore }> {
  const table = await freshMessageTable(endpoint, 'sessions');
  return { ...table, store: new DynamoDbSessionStore({ client: table.client, tableName: table.tableName }) };
}

describeOnDynamoDbServers('DynamoDbSessionStore', (name, endpoint) => {
  describeSessionStoreContract(name, () => freshStore(endpoint()));

  it('writes the session item with the table TTL set to the session expiry, so DynamoDB deletes it', async () => {
    const table = await freshStore(endpoint());
    try {
      await table.store.create(SESSION);

      const { Item: item } = await DynamoDBDocumentClient.from(table.client).send(
        new GetCommand({ TableName: table.tableName, Key: { pk: `SESSION#${SESSION.id}`, sk: 'SESSION' } }),
      );

      expect(item?.[MESSAGE_TABLE.ttlAttribute]).toBe(SESSION.expiresAt);
    } finally {
      await table.cleanup();
    }
  });
});
