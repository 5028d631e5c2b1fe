// Mailbox entries in memory.
import { normalizeAddress } from '../../../lambdas/core/addresses.ts';
import { InvalidInputError, NotFoundError } from '../../../lambdas/core/errors.ts';
import {
  checkPageLimit,
  decodeCursor,
  encodeCursor,
  isFolder,
  mailboxPosition,
  matchesPageQuery,
  normalizeSearch,
} from '../../../lambdas/core/mailbox.ts';
import type { MailboxEntry } from '../../../lambdas/core/model.ts';
import { isLive } from '../../../lambdas/core/retention.ts';
import type { Folder, MailboxEntries, MailboxPage, MailboxPageQuery } from '../../../lambdas/ports/mailbox-entries.ts';
import { entryKey, type MemoryIndexState } from './state.ts';

export class MemoryMailboxEntries implements MailboxEntries {
  constructor(private readonly state: MemoryIndexState) {}

  async putMailboxEntry(entry: MailboxEntry): Promise<void> {
    const key = entryKey(entry.mailbox, entry.sesMessageId);
    if (!this.state.entries.has(key)) this.state.entries.set(key, structuredClone(entry));
  }

  async listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage> {
    checkPageLimit(query.limit);
    const before = decodeCursor(query.cursor);
    const needle = normalizeSearch(query.search);
    const wanted = normalizeAddress(mailbox);
    const matching = [...this.state.entries.values()]
      .filter((entry) => normalizeAddress(entry.mailbox) === wanted)
      .filter((entry) => before === null || mailboxPosition(entry) < before)
      .filter((entry) => matchesPageQuery(entry, query, needle, now))
      .sort((a, b) => (mailboxPosition(a) < mailboxPosition(b) ? 1 : -1));
    const entries = matching.slice(0, query.limit).map((entry) => structuredClone(entry));
    const last = entries.at(-1);
    return { entries, nextCursor: matching.length > query.limit && last ? encodeCursor(mailboxPosition(last)) : null };
  }

  async getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null> {
    const entry = this.state.entries.get(entryKey(mailbox, sesMessageId));
    return entry && isLive(entry, now) ? structuredClone(entry) : null;
  }

  async updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void> {
    if (changes.folder !== undefined && !isFolder(changes.folder)) throw new InvalidInputError('unknown folder');
    const entry = this.state.entries.get(entryKey(mailbox, sesMessageId));
    if (!entry) throw new NotFoundError(`no entry ${sesMessageId} in ${mailbox}`);
    if (changes.read !== undefined) entry.read = changes.read;
    if (changes.folder !== undefined) entry.folder = changes.folder;
  }
}
