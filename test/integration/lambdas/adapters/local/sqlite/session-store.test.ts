// Webmail sessions in the embedded SQLite store: the SessionStore contract on a store
// file, sessions that outlive the connection, a sign-out seen through another connection
// (the CLI beside the running stack), and purgeExpired removing only expired sessions.
import { describe, expect, it } from 'vitest';
import { SqliteSessionStore } from '../../../../../../lambdas/adapters/local/sqlite/session-store.ts';
import { freshPerTest } from '../../../../../support/fresh-per-test.ts';
import { describeSessionStoreContract, NOW, SESSION } from '../../../../../support/session-store-contract.ts';
import { freshSqliteFile } from '../../../../../support/sqlite-store.ts';

describeSessionStoreContract('SQLite', async () => {
  const file = freshSqliteFile();
  return { store: new SqliteSessionStore(file.open()), cleanup: file.cleanup };
});

describe('SqliteSessionStore on one file', () => {
  const file = freshPerTest(freshSqliteFile);

  it('keeps sessions when the file is closed and opened again', async () => {
    // Prepare
    const db = file().open();
    await new SqliteSessionStore(db).create(SESSION);
    db.close();
    // Act
    const reopened = new SqliteSessionStore(file().open());
    // Assess
    expect(await reopened.get(SESSION.id, NOW)).toEqual(SESSION);
  });

  it("sees another connection's writes at once: a session created in one and signed out in the other", async () => {
    // Prepare
    const stack = new SqliteSessionStore(file().open());
    const cli = new SqliteSessionStore(file().open());
    // Act
    await stack.create(SESSION);
    const seen = await cli.get(SESSION.id, NOW);
    await cli.signOut(SESSION.id);
    // Assess
    expect(seen).toEqual(SESSION);
    expect(await stack.get(SESSION.id, NOW)).toEqual({ ...SESSION, signedOut: true });
  });

  it('purges the sessions expired at a time and keeps the live ones', async () => {
    // Prepare
    const store = new SqliteSessionStore(file().open());
    await store.create({ ...SESSION, id: 'expired', expiresAt: SESSION.expiresAt - 1 });
    await store.create(SESSION);
    const expiry = new Date((SESSION.expiresAt - 1) * 1000);
    // Act
    const purged = store.purgeExpired(expiry);
    // Assess
    expect(purged).toBe(1);
    expect(await store.get(SESSION.id, NOW)).toEqual(SESSION);
    expect(store.purgeExpired(expiry)).toBe(0);
  });
});
