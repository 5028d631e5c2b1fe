// Single-use keys in the embedded SQLite store: the SingleUse contract on a store file, keys
// that outlive the connection, one winner when two connections race for a key (the CLI beside
// the running stack), and purgeExpired removing only expired keys.
import { describe, expect, it } from 'vitest';
import { SqliteSingleUse } from '../../../../../../lambdas/adapters/local/sqlite/single-use.ts';
import { freshPerTest } from '../../../../../support/fresh-per-test.ts';
import { atPlus, DAY_LATER, describeSingleUseContract, NOW } from '../../../../../support/single-use-contract.ts';
import { freshSqliteFile } from '../../../../../support/sqlite-store.ts';

describeSingleUseContract('SQLite', async () => {
  const file = freshSqliteFile();
  return { store: new SqliteSingleUse(file.open()), cleanup: file.cleanup };
});

describe('SqliteSingleUse on one file', () => {
  const file = freshPerTest(freshSqliteFile);

  it('keeps a taken key when the file is closed and opened again', async () => {
    // Prepare
    const db = file().open();
    await new SqliteSingleUse(db).take('link#1', 'a', DAY_LATER, NOW);
    db.close();
    // Act
    const reopened = new SqliteSingleUse(file().open());
    // Assess
    expect(await reopened.isTaken('link#1', NOW)).toBe(true);
    expect(await reopened.take('link#1', 'b', DAY_LATER, NOW)).toBe(false);
  });

  it('lets exactly one of two connections take a key, and the other sees it taken', async () => {
    // Prepare
    const stack = new SqliteSingleUse(file().open());
    const cli = new SqliteSingleUse(file().open());
    // Act
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? stack : cli).take('race', `owner-${i}`, DAY_LATER, NOW)),
    );
    // Assess
    expect(results).toEqual([true, false, false, false, false, false]);
    expect(await cli.isTaken('race', NOW)).toBe(true);
  });

  it('purges the keys expired at a time and keeps the live ones', async () => {
    // Prepare
    const store = new SqliteSingleUse(file().open());
    await store.take('short', 'a', atPlus(60_000), NOW);
    await store.take('long', 'a', DAY_LATER, NOW);
    // Act
    const purged = store.purgeExpired(atPlus(60_000));
    // Assess
    expect(purged).toBe(1);
    expect(await store.isTaken('long', atPlus(60_000))).toBe(true);
    expect(store.purgeExpired(atPlus(60_000))).toBe(0);
  });
});
