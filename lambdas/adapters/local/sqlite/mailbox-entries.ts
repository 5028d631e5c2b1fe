// Mailbox entries in the embedded store: one `mailbox_entry` row per mailbox and message.
// The user's flags (folder, read) are columns, changed with one UPDATE; what a page
// filters on (folder, visibility, the search text of core/mailbox.ts) is a column too,
// so a page is one index range scan, newest first, continuing below its cursor.
import { normalizeAddress } from '../../../core/addresses.ts';
import { InvalidInputError, NotFoundError } from '../../../core/errors.ts';
import {
  checkPageLimit,
  decodeCursor,
  encodeCursor,
  isFolder,
  mailboxPosition,
  matchesPageQuery,
  normalizeSearch,
  searchTextOf,
} from '../../../core/mailbox.ts';
import type { MailboxEntry } from '../../../core/model.ts';
import type { Folder, MailboxEntries, MailboxPage, MailboxPageQuery } from '../../../ports/mailbox-entries.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { type ExpiringRows, epochSeconds } from './expiry.ts';
import { ABOVE_EVERY_POSITION } from './positions.ts';

/** `mailbox` in comparison form; `entry` the entry as ingest wrote it (its folder and read flag superseded by the columns). */
export const MAILBOX_ENTRY_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS mailbox_entry (
     mailbox TEXT NOT NULL,
     ses_message_id TEXT NOT NULL,
     position TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     folder TEXT NOT NULL,
     is_read INTEGER NOT NULL,
     visibility TEXT NOT NULL,
     search_text TEXT NOT NULL,
     entry TEXT NOT NULL,
     PRIMARY KEY (mailbox, ses_message_id))`,
  'CREATE INDEX IF NOT EXISTS mailbox_entry_by_folder ON mailbox_entry (mailbox, folder, position)',
  'CREATE INDEX IF NOT EXISTS mailbox_entry_by_position ON mailbox_entry (mailbox, position)',
  'CREATE INDEX IF NOT EXISTS mailbox_entry_by_expiry ON mailbox_entry (expires_at)',
] as const;

export interface EntryRow {
  folder: string;
  is_read: number;
  entry: string;
}

type PageParameters = [mailbox: string, folder: string, before: string, live: number, includeQuarantined: number, needle: string];

export class SqliteMailboxEntries implements MailboxEntries, ExpiringRows {
  private readonly insert;
  private readonly page;
  private readonly one;
  private readonly update;
  private readonly purge;

  constructor(db: LocalDatabase) {
    ensureSchema(db, MAILBOX_ENTRY_SCHEMA);
    this.insert = db.prepare<[string, string, string, number, string, number, string, string, string]>(
      `INSERT OR IGNORE INTO mailbox_entry (mailbox, ses_message_id, position, expires_at, folder, is_read, visibility, search_text, entry)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // search_text holds every searchable field apart (core/mailbox.ts searchTextOf); matchesPageQuery re-checks.
    this.page = db.prepare<PageParameters, EntryRow & { position: string }>(
      `SELECT position, folder, is_read, entry FROM mailbox_entry
       WHERE mailbox = ? AND folder = ? AND position < ? AND expires_at > ?
         AND (? OR visibility <> 'quarantined') AND instr(search_text, ?) > 0
       ORDER BY position DESC`,
    );
    this.one = db.prepare<[string, string, number], EntryRow>(
      'SELECT folder, is_read, entry FROM mailbox_entry WHERE mailbox = ? AND ses_message_id = ? AND expires_at > ?',
    );
    this.update = db.prepare<[number | null, string | null, string, string]>(
      `UPDATE mailbox_entry SET is_read = coalesce(?, is_read), folder = coalesce(?, folder)
       WHERE mailbox = ? AND ses_message_id = ?`,
    );
    this.purge = db.prepare<[number]>('DELETE FROM mailbox_entry WHERE expires_at <= ?');
  }

  async putMailboxEntry(entry: MailboxEntry): Promise<void> {
    this.insert.run(
      normalizeAddress(entry.mailbox),
      entry.sesMessageId,
      mailboxPosition(entry),
      entry.expiresAt,
      entry.folder,
      entry.read ? 1 : 0,
      entry.visibility,
      searchTextOf(entry),
      JSON.stringify(entry),
    );
  }

  async listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage> {
    checkPageLimit(query.limit);
    if (!isFolder(query.folder)) throw new InvalidInputError('unknown folder');
    const before = decodeCursor(query.cursor) ?? ABOVE_EVERY_POSITION;
    const needle = normalizeSearch(query.search);
    const rows = this.page.iterate(
      normalizeAddress(mailbox),
      query.folder,
      before,
      epochSeconds(now),
      query.includeQuarantined === true ? 1 : 0,
      needle,
    );
    const entries: MailboxEntry[] = [];
    let last = '';
    for (const row of rows) {
      const entry = toEntry(row);
      if (!matchesPageQuery(entry, query, needle, now)) continue;
      // One match beyond the page: there is a next page, and it starts below the last entry shown.
      if (entries.length === query.limit) return { entries, nextCursor: encodeCursor(last) };
      entries.push(entry);
      last = row.position;
    }
    return { entries, nextCursor: null };
  }

  async getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null> {
    const row = this.one.get(normalizeAddress(mailbox), sesMessageId, epochSeconds(now));
    return row ? toEntry(row) : null;
  }

  async updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void> {
    if (changes.folder !== undefined && !isFolder(changes.folder)) throw new InvalidInputError('unknown folder');
    const read = changes.read === undefined ? null : changes.read === true ? 1 : 0;
    // changes counts the rows the WHERE matched, also when no value differs (an empty change).
    const { changes: matched } = this.update.run(read, changes.folder ?? null, normalizeAddress(mailbox), sesMessageId);
    if (matched === 0) throw new NotFoundError(`no entry ${sesMessageId} in ${mailbox}`);
  }

  purgeExpired(now: Date): number {
    return this.purge.run(epochSeconds(now)).changes;
  }
}

/** A stored entry; the user's flags in the columns win over the entry written at ingest. */
export function toEntry(row: EntryRow): MailboxEntry {
  return { ...(JSON.parse(row.entry) as MailboxEntry), folder: row.folder as Folder, read: row.is_read === 1 };
}
