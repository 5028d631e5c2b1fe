// Send counters in the embedded SQLite store: the SendCounter contract on a store file,
// counts that outlive the connection, two connections counting against one limit (the
// webmail of a restarted stack beside the old one), and purgeExpired dropping ended windows.
import { describe, expect, it } from 'vitest';
import { SqliteSendCounter } from '../../../../../../lambdas/adapters/local/sqlite/send-counter.ts';
import { freshPerTest } from '../../../../../support/fresh-per-test.ts';
import { describeSendCounterContract, EXPIRES, window } from '../../../../../support/send-counter-contract.ts';
import { freshSqliteFile } from '../../../../../support/sqlite-store.ts';

describeSendCounterContract('SQLite', async () => {
  const file = freshSqliteFile();
  return { counter: new SqliteSendCounter(file.open()), cleanup: file.cleanup };
});

describe('SqliteSendCounter on one file', () => {
  const file = freshPerTest(freshSqliteFile);

  it('keeps the counts when the file is closed and opened again', async () => {
    // Prepare
    const db = file().open();
    await new SqliteSendCounter(db).add(window(), 200);
    db.close();
    // Act
    const reopened = new SqliteSendCounter(file().open());
    // Assess
    expect(await reopened.add(window(), 51)).toBe(false);
    expect(await reopened.add(window(), 50)).toBe(true);
  });

  it('holds one limit across two connections', async () => {
    // Prepare
    const one = new SqliteSendCounter(file().open());
    const two = new SqliteSendCounter(file().open());
    // Act
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? one : two).add(window(), 1)));
    // Assess
    expect(results).toEqual([true, true, true, false, false, false]);
  });

  it('purges the counts of windows that ended and keeps the others', async () => {
    // Prepare
    const counter = new SqliteSendCounter(file().open());
    await counter.add(window(), 250);
    await counter.add(window({ window: 'D#2030-03-01', expiresAt: new Date(EXPIRES.getTime() + 86_400_000) }), 250);
    // Act
    const purged = counter.purgeExpired(EXPIRES);
    // Assess
    expect(purged).toBe(1);
    expect(await counter.add(window(), 250)).toBe(true);
    expect(await counter.add(window({ window: 'D#2030-03-01' }), 1)).toBe(false);
  });
});
