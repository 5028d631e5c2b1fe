// The address map in memory. putAddresses is the directory sync's write
// (ports/directory.ts), the one way production fills the map; tests use it the same way.
import { normalizeAddress } from '../../../lambdas/core/addresses.ts';
import type { AddressAssignment } from '../../../lambdas/core/model.ts';
import type { AddressMap } from '../../../lambdas/ports/address-map.ts';
import type { DirectoryStore } from '../../../lambdas/ports/directory.ts';
import type { MemoryIndexState } from './state.ts';

export class MemoryAddressMap implements AddressMap, Pick<DirectoryStore, 'putAddresses'> {
  constructor(private readonly state: MemoryIndexState) {}

  async mailboxFor(address: string): Promise<string | null> {
    return this.state.addresses.get(normalizeAddress(address)) ?? null;
  }

  async putAddresses(entries: readonly AddressAssignment[]): Promise<void> {
    for (const { address, mailbox } of entries) this.state.addresses.set(address, mailbox);
  }
}
