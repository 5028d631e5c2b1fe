// Port: the per-recipient index of messages, their delivery states and the address map.
import type { DeliveryAttempt, DeliveryState, DeliveryStateName, MailboxEntry, MessageRecord } from '../core/model.ts';

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

/**
 * One page of an admin search across all mailboxes (trace). Values are in comparison
 * form (core/trace.ts normalizes them); every given criterion must match.
 */
export interface MessageSearchQuery {
  /** An envelope recipient (BCC recipients included). */
  recipient?: string;
  /** The envelope sender or an address in the From header. */
  sender?: string;
  /** The Message-ID header without angle brackets. */
  messageIdHeader?: string;
  /** Substring of the subject, in normalizeSearch form. */
  subject?: string;
  /** receivedAt ≥ since (ISO 8601 UTC as SES writes it). */
  since?: string;
  /** receivedAt < until. A search without recipient, sender or Message-ID needs both bounds. */
  until?: string;
  /** Opaque cursor from the previous page's nextCursor. */
  cursor?: string | null;
  limit: number;
}

/**
 * Newest first. A page may be shorter than the limit (even empty) and still have a
 * next cursor: a store reads a bounded amount per call. Following the cursors until
 * it is null yields every match exactly once.
 */
export interface MessageSearchPage {
  messages: MessageRecord[];
  nextCursor: string | null;
}

/** What a bulk resend enumerates: received mail in [since, until), oldest first. */
export interface ReceivedRangeQuery {
  /** One mailbox (its inbox and deleted entries; Sent copies are not received mail). All mailboxes when absent. */
  mailbox?: string;
  since: string;
  until: string;
  cursor?: string | null;
  limit: number;
}

export interface ReceivedRef {
  sesMessageId: string;
  receivedAt: string;
  /** Mailbox scope: the envelope recipients filed in that mailbox (comparison form). Null: every recipient. */
  recipients: string[] | null;
}

/** Oldest first; like MessageSearchPage, a short page may still have a next cursor. */
export interface ReceivedRangePage {
  messages: ReceivedRef[];
  nextCursor: string | null;
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

  /**
   * One page of an admin search across every mailbox, TTL filtered. Without a
   * recipient, sender or Message-ID it looks at received mail only (messages with
   * delivery states; copies sent from the webmail are found by sender), and it needs
   * since and until (InvalidInputError otherwise).
   */
  searchMessages(query: MessageSearchQuery, now: Date): Promise<MessageSearchPage>;

  /** One page of the received mail a bulk resend goes through, oldest first, TTL filtered. */
  listReceived(query: ReceivedRangeQuery, now: Date): Promise<ReceivedRangePage>;

  /**
   * Adds an attempt made outside the forward (a resend) to a recipient's history. A
   * delivered attempt makes the state delivered (the forward stops retrying it);
   * any other outcome leaves state and reason as the forward left them. No delivery
   * state for the recipient: nothing is recorded.
   */
  recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void>;
}
