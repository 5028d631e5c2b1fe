// The audit log in the embedded SQLite store: the AuditLog contract on a store file,
// events that outlive the connection, an event one connection (the CLI) appends read by
// another (the running stack), and append-only below the class too: the file refuses an
// UPDATE or DELETE of an event.
import { describe, expect, it } from 'vitest';
import { SqliteAuditLog } from '../../../../../../lambdas/adapters/local/sqlite/audit-log.ts';
import { InvalidInputError } from '../../../../../../lambdas/core/errors.ts';
import { describeAuditLogContract, event, window } from '../../../../../support/audit-log-contract.ts';
import { freshPerTest } from '../../../../../support/fresh-per-test.ts';
import { freshSqliteFile } from '../../../../../support/sqlite-store.ts';

describeAuditLogContract('SQLite', async () => {
  const file = freshSqliteFile();
  return { log: new SqliteAuditLog(file.open()), cleanup: file.cleanup };
});

describe('SqliteAuditLog on one file', () => {
  const file = freshPerTest(freshSqliteFile);

  it('keeps events when the file is closed and opened again', async () => {
    // Prepare
    const db = file().open();
    await new SqliteAuditLog(db).append(event(1, { details: { count: 3 } }));
    db.close();
    // Act
    const reopened = new SqliteAuditLog(file().open());
    // Assess
    expect((await reopened.list(window())).events).toEqual([event(1, { details: { count: 3 } })]);
  });

  it('shows an event one connection appended to another, and refuses the same event from it', async () => {
    // Prepare
    const cli = new SqliteAuditLog(file().open());
    const stack = new SqliteAuditLog(file().open());
    // Act
    await cli.append(event(2, { actor: 'cli:root', action: 'failover.on' }));
    const again = await stack.append(event(2)).catch((error: unknown) => error);
    // Assess
    expect((await stack.list(window())).events).toEqual([event(2, { actor: 'cli:root', action: 'failover.on' })]);
    expect(again).toBeInstanceOf(InvalidInputError);
  });

  it('refuses to change or delete an event, also through plain SQL on the file', async () => {
    // Prepare
    const db = file().open();
    const log = new SqliteAuditLog(db);
    await log.append(event(3));
    // Act
    const update = () => db.prepare("UPDATE audit_event SET actor = 'mallory@corp.test'").run();
    const remove = () => db.prepare('DELETE FROM audit_event').run();
    // Assess
    expect(update).toThrow(/never changed/);
    expect(remove).toThrow(/never deleted/);
    expect((await log.list(window())).events).toEqual([event(3)]);
    expect(
      Object.getOwnPropertyNames(SqliteAuditLog.prototype)
        .filter((m) => m !== 'constructor')
        .sort(),
    ).toEqual(['append', 'list']);
  });
});
