// The admins' TOTP setup windows in the embedded SQLite store: the AdminSetupWindows
// contract on a store file, a window the CLI opens (`breakglass admin-setup`) seen by the
// running stack's sign-in through another connection, and purgeExpired removing closed ones.
import { describe, expect, it } from 'vitest';
import { SqliteAdminSetupWindows } from '../../../../../../lambdas/adapters/local/sqlite/admin-setup-windows.ts';
import { describeAdminSetupWindowsContract, NOW, UNTIL } from '../../../../../support/admin-setup-windows-contract.ts';
import { freshPerTest } from '../../../../../support/fresh-per-test.ts';
import { freshSqliteFile } from '../../../../../support/sqlite-store.ts';

describeAdminSetupWindowsContract('SQLite', async () => {
  const file = freshSqliteFile();
  return { windows: new SqliteAdminSetupWindows(file.open()), cleanup: file.cleanup };
});

describe('SqliteAdminSetupWindows on one file', () => {
  const file = freshPerTest(freshSqliteFile);

  it('shows a window the CLI opened to the running stack, also after a reopen', async () => {
    // Prepare
    const cliDb = file().open();
    const stack = new SqliteAdminSetupWindows(file().open());
    // Act
    await new SqliteAdminSetupWindows(cliDb).open('it-admin@corp.test', UNTIL);
    cliDb.close();
    // Assess
    expect(await stack.isOpen('it-admin@corp.test', NOW)).toBe(true);
    expect(await new SqliteAdminSetupWindows(file().open()).isOpen('it-admin@corp.test', NOW)).toBe(true);
  });

  it('purges the windows closed at a time and keeps the open ones', async () => {
    // Prepare
    const windows = new SqliteAdminSetupWindows(file().open());
    const later = new Date(UNTIL.getTime() + 600_000);
    await windows.open('it-admin@corp.test', UNTIL);
    await windows.open('ceo@corp.test', later);
    // Act
    const purged = windows.purgeExpired(UNTIL);
    // Assess
    expect(purged).toBe(1);
    expect(await windows.isOpen('ceo@corp.test', UNTIL)).toBe(true);
    expect(windows.purgeExpired(UNTIL)).toBe(0);
  });
});
