// The address map in the embedded store: one row per address, written by the
// directory store (putAddresses/deleteAddresses), read by ingest, the door and the webmail.
import { normalizeAddress } from '../../../core/addresses.ts';
import type { AddressMap } from '../../../ports/address-map.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';

/** `address` is stored normalized (normalizeAddress), as the DynamoDB ADDR# key is. */
export const ADDRESS_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS address (address TEXT PRIMARY KEY, mailbox TEXT NOT NULL) WITHOUT ROWID',
  'CREATE INDEX IF NOT EXISTS address_by_mailbox ON address (mailbox)',
] as const;

export class SqliteAddressMap implements AddressMap {
  private readonly lookup;

  constructor(db: LocalDatabase) {
    ensureSchema(db, ADDRESS_SCHEMA);
    this.lookup = db.prepare<[string], { mailbox: string }>('SELECT mailbox FROM address WHERE address = ?');
  }

  async mailboxFor(address: string): Promise<string | null> {
    return this.lookup.get(normalizeAddress(address))?.mailbox ?? null;
  }
}
