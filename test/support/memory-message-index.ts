// An in-memory MessageIndex with the same semantics as the DynamoDB adapter, for
// fast use-case tests: one fake per role (memory-index/) over one shared state, as
// the DynamoDB role adapters share one table. The contract tests run against both.
import type { AddressAssignment } from '../../lambdas/core/directory.ts';
import type { DeliveryAttempt, DeliveryState, DeliveryStateName, MailboxEntry, MessageRecord } from '../../lambdas/core/model.ts';
import type { Folder, MailboxPage, MailboxPageQuery } from '../../lambdas/ports/mailbox-entries.ts';
import type { MessageIndex } from '../../lambdas/ports/message-index.ts';
import type {
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
  TraceQuery,
} from '../../lambdas/ports/message-search.ts';
import type { LeaseResult } from '../../lambdas/ports/once-gate.ts';
import { MemoryAddressMap } from './memory-index/address-map.ts';
import { MemoryDeliveryLog } from './memory-index/delivery-log.ts';
import { MemoryMailboxEntries } from './memory-index/mailbox-entries.ts';
import { MemoryMessageRecords } from './memory-index/message-records.ts';
import { MemoryMessageSearch } from './memory-index/message-search.ts';
import { MemoryOnceGate } from './memory-index/once-gate.ts';
import { type Gate, MemoryIndexState } from './memory-index/state.ts';

export class MemoryMessageIndex implements MessageIndex {
  private readonly state = new MemoryIndexState();
  private readonly addressMap = new MemoryAddressMap(this.state);
  private readonly records = new MemoryMessageRecords(this.state);
  private readonly mailboxEntries = new MemoryMailboxEntries(this.state);
  private readonly deliveryLog = new MemoryDeliveryLog(this.state);
  private readonly search = new MemoryMessageSearch(this.state);
  private readonly gate = new MemoryOnceGate(this.state);

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
  mailboxFor(address: string): Promise<string | null> {
    return this.addressMap.mailboxFor(address);
  }

  putMessage(record: MessageRecord): Promise<void> {
    return this.records.putMessage(record);
  }
  getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    return this.records.getMessage(sesMessageId, now);
  }

  putMailboxEntry(entry: MailboxEntry): Promise<void> {
    return this.mailboxEntries.putMailboxEntry(entry);
  }
  listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage> {
    return this.mailboxEntries.listMailboxPage(mailbox, query, now);
  }
  getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null> {
    return this.mailboxEntries.getMailboxEntry(mailbox, sesMessageId, now);
  }
  updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void> {
    return this.mailboxEntries.updateMailboxEntry(mailbox, sesMessageId, changes);
  }

  createDeliveryState(state: DeliveryState): Promise<void> {
    return this.deliveryLog.createDeliveryState(state);
  }
  getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]> {
    return this.deliveryLog.getDeliveryStates(sesMessageId, now);
  }
  recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
  ): Promise<void> {
    return this.deliveryLog.recordDeliveryAttempt(sesMessageId, recipient, attempt, state, reason);
  }
  recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void> {
    return this.deliveryLog.recordExtraAttempt(sesMessageId, recipient, attempt);
  }

  findMessages(query: TraceQuery, now: Date): Promise<MessageRecord[]> {
    return this.search.findMessages(query, now);
  }
  searchMessages(query: MessageSearchQuery, now: Date): Promise<MessageSearchPage> {
    return this.search.searchMessages(query, now);
  }
  listReceived(query: ReceivedRangeQuery, now: Date): Promise<ReceivedRangePage> {
    return this.search.listReceived(query, now);
  }

  acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    return this.gate.acquireOnce(key, owner, now, leaseMs);
  }
  completeOnce(key: string, owner: string): Promise<void> {
    return this.gate.completeOnce(key, owner);
  }
  releaseOnce(key: string, owner: string): Promise<void> {
    return this.gate.releaseOnce(key, owner);
  }
}
