// Port: the per-recipient index of messages, their delivery states and the address map.
import type {
  DeliveryAttempt,
  DeliveryState,
  DeliveryStateName,
  MailboxEntry,
  MessageRecord,
} from '../core/model.ts';

export type LeaseResult = 'acquired' | 'busy' | 'done';

export type Folder = MailboxEntry['folder'];

export interface MailboxPageQuery {
  folder: Folder;
  limit: number;
  /** Opaque cursor from the previous page's nextCursor. */
  cursor?: string | null;
  /** Case-insensitive substring of the sender (name or address) or the subject. */
  search?: string;
  /** Quarantined entries are hidden from users; admins may ask for them. */
  includeQuarantined?: boolean;
}

export interface MailboxPage {
  entries: MailboxEntry[];
  nextCursor: string | null;
}

export interface TraceQuery {
  recipient?: string;
  sender?: string;
  messageIdHeader?: string;
  limit?: number;
}

export interface MessageIndex {
  /** Mailbox an address belongs to, or null when the directory has no entry. Case-insensitive. */
  mailboxFor(address: string): Promise<string | null>;
  putAddress(address: string, mailbox: string): Promise<void>;

  /** Writes the message record; an existing one is kept as it is (idempotent). */
  putMessage(record: MessageRecord): Promise<void>;
  getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null>;

  /** Writes a mailbox entry unless one exists (user flags on it survive re-ingest). */
  putMailboxEntry(entry: MailboxEntry): Promise<void>;
  listMailbox(mailbox: string, now: Date, limit: number): Promise<MailboxEntry[]>;
  /** One page of a folder, newest first, TTL filtered, with search and a cursor. */
  listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage>;
  getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null>;
  /** Changes the user's flags on an entry; a missing entry is a NotFoundError. */
  updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void>;

  /** Creates the delivery state unless it exists (a re-ingest never resets progress). */
  createDeliveryState(state: DeliveryState): Promise<void>;
  getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]>;
  recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
  ): Promise<void>;

  /**
   * The once-only gate for side effects on a message (enqueue the forward job,
   * relay it). `acquired`: the caller owns it until `leaseMs` runs out and must call
   * completeOnce; `busy`: another worker owns it; `done`: it was completed before.
   */
  acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult>;
  completeOnce(key: string, owner: string): Promise<void>;
  releaseOnce(key: string, owner: string): Promise<void>;

  /** Messages matching a trace query, newest first, TTL filtered. */
  findMessages(query: TraceQuery, now: Date): Promise<MessageRecord[]>;
}
