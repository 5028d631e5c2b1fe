// The session rule and its cache: directory ids in every form a token carries them,
// judgeSession's refusals, and a guard that reads the store at most once per cache time.
import { describe, expect, it } from 'vitest';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { directoryIdKey, judgeSession, SESSION_CHECK_CACHE_MS, SessionGuard, sameDirectoryId } from '../../../../lambdas/core/sessions.ts';
import type { StoredSession } from '../../../../lambdas/ports/session-store.ts';
import { MemorySessionStore } from '../../../support/memory-session-store.ts';

// One objectGUID, {3F2504E0-4F89-11D3-9A0C-0305E82C3301}, in its three spellings.
const GUID_HEX = 'e004253f894fd3119a0c0305e82c3301';
const GUID_TEXT = '{3F2504E0-4F89-11D3-9A0C-0305E82C3301}';
const GUID_BASE64 = '4AQlP4lP0xGaDAMF6CwzAQ==';

const NOW = new Date('2030-03-03T13:05:00.000Z');
const STORED: StoredSession = {
  id: 'sid',
  email: 'bob@corp.test',
  tokenAdmin: false,
  createdAt: NOW.getTime(),
  expiresAt: NOW.getTime() / 1000 + 3600,
  signedOut: false,
};
const bob = (extra: Partial<Parameters<typeof makeDirectoryUser>[0]> = {}) =>
  makeDirectoryUser({ id: GUID_HEX, mailbox: 'bob@corp.test', ...extra });

describe('directory ids', () => {
  it('reads an objectGUID as the sync stores it (hex of its bytes), from GUID text or base64', () => {
    expect([GUID_HEX, GUID_HEX.toUpperCase(), GUID_TEXT, GUID_TEXT.slice(1, -1), GUID_BASE64].map(directoryIdKey)).toEqual(
      Array(5).fill(GUID_HEX),
    );
  });

  it('maps by address alone when the token has no id or the directory knows none; else the ids must agree', () => {
    expect(sameDirectoryId(undefined, bob())).toBe(true);
    expect(sameDirectoryId(GUID_BASE64, bob({ id: 'dn:cn=bob,dc=corp,dc=test' }))).toBe(true);
    expect(sameDirectoryId(GUID_BASE64, bob())).toBe(true);
    expect(sameDirectoryId('aGVsbG8gd29ybGQgMTIzNA==', bob())).toBe(false);
    expect(sameDirectoryId('csv-17', bob({ id: 'csv-17' }))).toBe(true);
  });
});

describe('judgeSession', () => {
  const known = (user: ReturnType<typeof bob> | null, synced = true) => ({ consulted: true as const, user, synced });

  it('refuses signed-out, expired, disabled, removed (once synced) and id-mismatched sessions', () => {
    expect(judgeSession(null, { consulted: false }, NOW).good).toBe(false);
    expect(judgeSession({ ...STORED, signedOut: true }, known(bob()), NOW).good).toBe(false);
    expect(judgeSession(STORED, known(bob()), new Date(STORED.expiresAt * 1000)).good).toBe(false);
    expect(judgeSession(STORED, known(bob({ disabled: true })), NOW).good).toBe(false);
    expect(judgeSession(STORED, known(null), NOW).good).toBe(false);
    expect(judgeSession({ ...STORED, directoryId: 'other' }, known(bob()), NOW).good).toBe(false);
  });

  it('keeps a session the directory does not know before the first sync, and lets the directory decide admin', () => {
    expect(judgeSession(STORED, known(null, false), NOW)).toEqual({ good: true, admin: false, createdAt: STORED.createdAt });
    expect(judgeSession({ ...STORED, tokenAdmin: true }, known(bob({ admin: false })), NOW)).toMatchObject({ good: true, admin: false });
    expect(judgeSession(STORED, known(bob({ admin: true })), NOW)).toMatchObject({ good: true, admin: true });
    expect(judgeSession(STORED, known(bob({ admin: true })), new Date(NOW.getTime() + 3_600_000 - 1))).toMatchObject({ admin: true });
  });
});

describe('judgeSession: break-glass admins', () => {
  const admin: StoredSession = { ...STORED, email: 'ops@private.test', tokenAdmin: true, breakGlassAdmin: true };

  it('keeps a break-glass admin session as an admin while the configuration names the account, without the directory', () => {
    expect(judgeSession(admin, { consulted: false }, NOW, ['OPS@private.test'])).toEqual({
      good: true,
      admin: true,
      createdAt: admin.createdAt,
    });
  });

  it('ends it when the configuration no longer names the account, after the admin hour, or on sign-out', () => {
    expect(judgeSession(admin, { consulted: false }, NOW, ['other@private.test'])).toMatchObject({ good: false });
    expect(judgeSession(admin, { consulted: false }, new Date(NOW.getTime() + 3_600_000), ['ops@private.test'])).toMatchObject({
      good: false,
    });
    expect(judgeSession({ ...admin, signedOut: true }, { consulted: false }, NOW, ['ops@private.test'])).toMatchObject({ good: false });
  });

  it('gives a directory session nothing for an address the configuration names (only the session kind counts)', () => {
    const federated: StoredSession = { ...STORED, email: 'ops@private.test' };
    expect(judgeSession(federated, { consulted: true, user: null, synced: true }, NOW, ['ops@private.test']).good).toBe(false);
  });

  it('lets the guard skip the directory for a break-glass admin session', async () => {
    // Prepare
    const store = new MemorySessionStore();
    await store.create(admin);
    const directory = {
      userForAddress: async () => {
        throw new Error('the directory must not be asked');
      },
      hasSynced: async () => true,
    };
    const guard = new SessionGuard({ store, directory, clock: { now: () => NOW }, breakGlassAdmins: ['ops@private.test'] });
    // Act
    const standing = await guard.check(admin.id);
    // Assess
    expect(standing).toMatchObject({ good: true, admin: true });
  });
});

describe('SessionGuard', () => {
  it('reads the store once per cache time, and again at once after forget', async () => {
    // Prepare
    let now = NOW.getTime();
    const clock = { now: () => new Date(now), advance: (ms: number) => (now += ms) };
    const store = new MemorySessionStore();
    await store.create(STORED);
    const guard = new SessionGuard({ store, clock });
    // Act
    await guard.check('sid');
    clock.advance(SESSION_CHECK_CACHE_MS - 1);
    await guard.check('sid');
    const cachedReads = store.reads;
    clock.advance(1);
    await guard.check('sid');
    guard.forget('sid');
    await guard.check('sid');
    // Assess
    expect(cachedReads).toBe(1);
    expect(store.reads).toBe(3);
  });
});
