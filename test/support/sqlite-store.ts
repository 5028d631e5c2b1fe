// A fresh embedded-store file in its own temporary directory for the SQLite adapter
// tests: connections opened the way local mode opens them (openLocalDatabase), as many
// as a test wants on the one file (the CLI beside the running stack), closed and the
// directory removed by cleanup.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalDatabase, openLocalDatabase } from '../../lambdas/adapters/local/sqlite/database.ts';

export interface SqliteStoreFile {
  path: string;
  /** A new connection to the file. */
  open(): LocalDatabase;
  /** Closes every connection still open and removes the file. */
  cleanup(): Promise<void>;
}

export function freshSqliteFile(): SqliteStoreFile {
  const directory = mkdtempSync(join(tmpdir(), 'shadowmail-sqlite-'));
  const path = join(directory, 'store.sqlite');
  const opened: LocalDatabase[] = [];
  return {
    path,
    open: () => {
      const db = openLocalDatabase(path);
      opened.push(db);
      return db;
    },
    cleanup: async () => {
      for (const db of opened) if (db.open) db.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
