// One object over the role adapters of one store, for consumers that need several
// roles (ports/message-index.ts): every call goes to the adapter of its role. The
// DynamoDB index and the in-memory reference are both built this way.
import type { DeliveryAttempt, DeliveryState, DeliveryStateName, MailboxEntry, MessageRecord } from '../core/model.ts';
import type { AddressMap } from '../ports/address-map.ts';
import type { DeliveryLog } from '../ports/delivery-log.ts';
import type { Folder, MailboxEntries, MailboxPage, MailboxPageQuery } from '../ports/mailbox-entries.ts';
import type { MessageIndex } from '../ports/message-index.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type {
  MessageSearch,
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
  TraceQuery,
} from '../ports/message-search.ts';
import type { LeaseResult, OnceGate } from '../ports/once-gate.ts';
import type { PendingRecipients } from '../ports/pending-recipients.ts';

export interface IndexRoles {
  addresses: AddressMap;
  records: MessageRecords;
  entries: MailboxEntries;
  deliveries: DeliveryLog;
  search: MessageSearch;
  gate: OnceGate;
  pending: PendingRecipients;
}

export class RoleIndex implements MessageIndex {
  constructor(private readonly roles: IndexRoles) {}

  mailboxFor(address: string): Promise<string | null> {
    return this.roles.addresses.mailboxFor(address);
  }

  putMessage(record: MessageRecord): Promise<MessageRecord> {
    return this.roles.records.putMessage(record);
  }
  getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    return this.roles.records.getMessage(sesMessageId, now);
  }

  putMailboxEntry(entry: MailboxEntry): Promise<void> {
    return this.roles.entries.putMailboxEntry(entry);
  }
  listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage> {
    return this.roles.entries.listMailboxPage(mailbox, query, now);
  }
  getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null> {
    return this.roles.entries.getMailboxEntry(mailbox, sesMessageId, now);
  }
  updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void> {
    return this.roles.entries.updateMailboxEntry(mailbox, sesMessageId, changes);
  }

  createDeliveryState(state: DeliveryState): Promise<boolean> {
    return this.roles.deliveries.createDeliveryState(state);
  }
  getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]> {
    return this.roles.deliveries.getDeliveryStates(sesMessageId, now);
  }
  recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
    read?: DeliveryState,
  ): Promise<void> {
    return this.roles.deliveries.recordDeliveryAttempt(sesMessageId, recipient, attempt, state, reason, read);
  }
  recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void> {
    return this.roles.deliveries.recordExtraAttempt(sesMessageId, recipient, attempt);
  }

  findMessages(query: TraceQuery, now: Date): Promise<MessageRecord[]> {
    return this.roles.search.findMessages(query, now);
  }
  searchMessages(query: MessageSearchQuery, now: Date): Promise<MessageSearchPage> {
    return this.roles.search.searchMessages(query, now);
  }
  listReceived(query: ReceivedRangeQuery, now: Date): Promise<ReceivedRangePage> {
    return this.roles.search.listReceived(query, now);
  }

  acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    return this.roles.gate.acquireOnce(key, owner, now, leaseMs);
  }
  completeOnce(key: string, owner: string): Promise<void> {
    return this.roles.gate.completeOnce(key, owner);
  }
  releaseOnce(key: string, owner: string): Promise<void> {
    return this.roles.gate.releaseOnce(key, owner);
  }

  setPendingRecipients(sesMessageId: string, count: number, expiresAt: number): Promise<void> {
    return this.roles.pending.setPendingRecipients(sesMessageId, count, expiresAt);
  }
  countPendingRecipients(now: Date): Promise<number> {
    return this.roles.pending.countPendingRecipients(now);
  }
}
