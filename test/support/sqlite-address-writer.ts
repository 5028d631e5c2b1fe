// The directory sync's write of the address map (ports/directory.ts putAddresses) on the
// embedded store, straight into the address table: what tests and the index bench use
// until the SQLite directory store takes its place.
import { ADDRESS_SCHEMA } from '../../lambdas/adapters/local/sqlite/address-map.ts';
import { ensureSchema, type LocalDatabase } from '../../lambdas/adapters/local/sqlite/database.ts';
import type { AddressAssignment } from '../../lambdas/core/model.ts';
import type { DirectoryStore } from '../../lambdas/ports/directory.ts';

export function sqliteAddressWriter(db: LocalDatabase): Pick<DirectoryStore, 'putAddresses'> {
  ensureSchema(db, ADDRESS_SCHEMA);
  const upsert = db.prepare<[string, string]>('INSERT OR REPLACE INTO address (address, mailbox) VALUES (?, ?)');
  const write = db.transaction((entries: readonly AddressAssignment[]) => {
    for (const { address, mailbox } of entries) upsert.run(address, mailbox);
  });
  return { putAddresses: async (entries) => write(entries) };
}
