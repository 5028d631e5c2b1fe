// The SessionStore contract, run against the in-memory reference, DynamoDB (dynalite and
// DynamoDB Local) and the embedded SQLite store: a session reads back as created, sign-out
// sticks, an expired or unknown session is none, and signing out an unknown id creates nothing.
import { beforeEach, describe, expect, it } from 'vitest';
import type { SessionStore, StoredSession } from '../../lambdas/ports/session-store.ts';
import { freshPerTest } from './fresh-per-test.ts';

export const NOW = new Date('2030-03-01T12:00:00.000Z');
export const SESSION: StoredSession = {
  id: 'c2Vzc2lvbi1pZC1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFiY2RlZg',
  email: 'bob@corp.test',
  tokenAdmin: false,
  createdAt: NOW.getTime(),
  expiresAt: NOW.getTime() / 1000 + 8 * 3600,
  signedOut: false,
};

export function describeSessionStoreContract(name: string, make: () => Promise<{ store: SessionStore; cleanup?(): Promise<void> }>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    const current = freshPerTest(make);
    beforeEach(() => {
      store = current().store;
    });

    it('reads a session back as created', async () => {
      await store.create({ ...SESSION, tokenAdmin: true, directoryId: 'IEMY5ahfOU6OlHN0Vh/J2g==' });

      expect(await store.get(SESSION.id, NOW)).toEqual({ ...SESSION, tokenAdmin: true, directoryId: 'IEMY5ahfOU6OlHN0Vh/J2g==' });
    });

    it("reads a break-glass admin's session back as one", async () => {
      await store.create({ ...SESSION, email: 'ops@private.test', tokenAdmin: true, breakGlassAdmin: true });

      expect(await store.get(SESSION.id, NOW)).toEqual({ ...SESSION, email: 'ops@private.test', tokenAdmin: true, breakGlassAdmin: true });
    });

    it('refuses a second session with the same id and keeps the first', async () => {
      await store.create(SESSION);

      const again = await store.create({ ...SESSION, email: 'mallory@corp.test', tokenAdmin: true }).catch((error: unknown) => error);

      expect(again).toBeInstanceOf(Error);
      expect(await store.get(SESSION.id, NOW)).toEqual(SESSION);
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
