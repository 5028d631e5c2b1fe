// Port: which mailbox an address is filed in (the directory sync writes the map,
// see ports/directory.ts putAddresses; ingest and the webmail read it).
export interface AddressMap {
  /** Mailbox an address belongs to, or null when the directory has no entry. Case-insensitive. */
  mailboxFor(address: string): Promise<string | null>;
}
