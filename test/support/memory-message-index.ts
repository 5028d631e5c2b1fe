// An in-memory MessageIndex with the same semantics as the DynamoDB adapter, for
// fast use-case tests: one fake per role (memory-index/) over one shared state, as
// the DynamoDB role adapters share one table. The contract tests run against both.
import { RoleIndex } from '../../lambdas/adapters/role-index.ts';
import type { AddressAssignment, DeliveryState, MailboxEntry, MessageRecord } from '../../lambdas/core/model.ts';
import { MemoryAddressMap } from './memory-index/address-map.ts';
import { MemoryDeliveryLog } from './memory-index/delivery-log.ts';
import { MemoryMailboxEntries } from './memory-index/mailbox-entries.ts';
import { MemoryMessageRecords } from './memory-index/message-records.ts';
import { MemoryMessageSearch } from './memory-index/message-search.ts';
import { MemoryOnceGate } from './memory-index/once-gate.ts';
import { type Gate, MemoryIndexState } from './memory-index/state.ts';
import { MemoryPendingRecipients } from './memory-pending-recipients.ts';

export class MemoryMessageIndex extends RoleIndex {
  private readonly state: MemoryIndexState;
  private readonly addressMap: MemoryAddressMap;

  constructor() {
    const state = new MemoryIndexState();
    const addresses = new MemoryAddressMap(state);
    super({
      addresses,
      records: new MemoryMessageRecords(state),
      entries: new MemoryMailboxEntries(state),
      deliveries: new MemoryDeliveryLog(state),
      search: new MemoryMessageSearch(state),
      gate: new MemoryOnceGate(state),
      pending: new MemoryPendingRecipients(),
    });
    this.state = state;
    this.addressMap = addresses;
  }

  get addresses(): Map<string, string> {
    return this.state.addresses;
  }
  get messages(): Map<string, MessageRecord> {
    return this.state.messages;
  }
  get entries(): Map<string, MailboxEntry> {
    return this.state.entries;
  }
  get deliveries(): Map<string, DeliveryState> {
    return this.state.deliveries;
  }
  get gates(): Map<string, Gate> {
    return this.state.gates;
  }

  /** The directory sync's write of the address map (ports/directory.ts): addresses and mailboxes in comparison form. */
  putAddresses(entries: readonly AddressAssignment[]): Promise<void> {
    return this.addressMap.putAddresses(entries);
  }
}
