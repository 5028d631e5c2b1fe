// Port: finding messages across every mailbox — the admin's trace and the list a
// bulk resend goes through.
import type { MessageRecord } from '../core/model.ts';

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

export interface MessageSearch {
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
}
