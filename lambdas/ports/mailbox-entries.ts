// Port: a message as one mailbox holds it (folder, read flag, what a list shows).
import type { MailboxEntry } from '../core/model.ts';

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

export interface MailboxEntries {
  /** Writes a mailbox entry unless one exists (user flags on it survive re-ingest). */
  putMailboxEntry(entry: MailboxEntry): Promise<void>;
  /** One page of a folder, newest first, TTL filtered, with search and a cursor. */
  listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage>;
  getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null>;
  /** Changes the user's flags on an entry; a missing entry is a NotFoundError. */
  updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void>;
}
