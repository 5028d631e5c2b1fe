// What the in-memory index holds, shared by its role fakes as the table is shared by
// the DynamoDB role adapters. Public so tests can look at (and tamper with) it.
import { normalizeAddress } from '../../../lambdas/core/addresses.ts';
import type { DeliveryState, MailboxEntry, MessageRecord } from '../../../lambdas/core/model.ts';

export interface Gate {
  owner: string;
  until: number;
  done: boolean;
}

export class MemoryIndexState {
  readonly addresses = new Map<string, string>();
  readonly messages = new Map<string, MessageRecord>();
  /** By entryKey. */
  readonly entries = new Map<string, MailboxEntry>();
  /** By deliveryKey. */
  readonly deliveries = new Map<string, DeliveryState>();
  readonly gates = new Map<string, Gate>();
}

export function entryKey(mailbox: string, sesMessageId: string): string {
  return `${normalizeAddress(mailbox)}|${sesMessageId}`;
}

export function deliveryKey(sesMessageId: string, recipient: string): string {
  return `${sesMessageId}|${normalizeAddress(recipient)}`;
}
