// Message records in the embedded store: one `message` row per SES message id (the
// record as JSON, position and expiry as columns) and one `message_lookup` row per
// trace lookup (core/trace.ts traceLookupsOf), written in one transaction, so a record
// is never without its lookups. Values are kept whole (no hashing as in DynamoDB keys).
import { uniqueRecipients } from '../../../core/addresses.ts';
import type { MessageRecord } from '../../../core/model.ts';
import { searchPosition, traceLookupsOf } from '../../../core/trace.ts';
import type { MessageRecords } from '../../../ports/message-records.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { type ExpiringRows, epochSeconds } from './expiry.ts';

export const MESSAGE_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS message (
     ses_message_id TEXT PRIMARY KEY,
     position TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     record TEXT NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS message_by_position ON message (position)',
  'CREATE INDEX IF NOT EXISTS message_by_expiry ON message (expires_at)',
  // kind RCPT, FROM or MID; value in comparison form; position = the record's, so one
  // index range answers "newest first" for one lookup.
  `CREATE TABLE IF NOT EXISTS message_lookup (
     kind TEXT NOT NULL,
     value TEXT NOT NULL,
     position TEXT NOT NULL,
     ses_message_id TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (kind, value, position)) WITHOUT ROWID`,
  'CREATE INDEX IF NOT EXISTS message_lookup_by_expiry ON message_lookup (expires_at)',
] as const;

export class SqliteMessageRecords implements MessageRecords, ExpiringRows {
  private readonly put: (record: MessageRecord) => MessageRecord;
  private readonly read;
  private readonly purge;

  constructor(db: LocalDatabase) {
    ensureSchema(db, MESSAGE_SCHEMA);
    const select = db.prepare<[string], { record: string }>('SELECT record FROM message WHERE ses_message_id = ?');
    const insert = db.prepare<[string, string, number, string]>(
      'INSERT INTO message (ses_message_id, position, expires_at, record) VALUES (?, ?, ?, ?)',
    );
    const update = db.prepare<[string, string]>('UPDATE message SET record = ? WHERE ses_message_id = ?');
    const insertLookup = db.prepare<[string, string, string, string, number]>(
      'INSERT OR IGNORE INTO message_lookup (kind, value, position, ses_message_id, expires_at) VALUES (?, ?, ?, ?, ?)',
    );
    const writeLookups = (record: MessageRecord) => {
      const position = searchPosition(record);
      for (const { kind, value } of traceLookupsOf(record)) insertLookup.run(kind, value, position, record.sesMessageId, record.expiresAt);
    };
    // IMMEDIATE: the read and the write hold the write lock together, also against another process.
    this.put = db.transaction((record: MessageRecord): MessageRecord => {
      const row = select.get(record.sesMessageId);
      if (!row) {
        insert.run(record.sesMessageId, searchPosition(record), record.expiresAt, JSON.stringify(record));
        writeLookups(record);
        return record;
      }
      const stored = JSON.parse(row.record) as MessageRecord;
      const recipients = uniqueRecipients([...stored.envelopeRecipients, ...record.envelopeRecipients]);
      if (recipients.length === stored.envelopeRecipients.length) return stored;
      const merged = { ...stored, envelopeRecipients: recipients };
      update.run(JSON.stringify(merged), record.sesMessageId);
      writeLookups(merged);
      return merged;
    }).immediate;
    this.read = db.prepare<[string, number], { record: string }>('SELECT record FROM message WHERE ses_message_id = ? AND expires_at > ?');
    const purgeMessages = db.prepare<[number]>('DELETE FROM message WHERE expires_at <= ?');
    const purgeLookups = db.prepare<[number]>('DELETE FROM message_lookup WHERE expires_at <= ?');
    this.purge = db.transaction((bound: number) => purgeMessages.run(bound).changes + purgeLookups.run(bound).changes);
  }

  /**
   * Writes the record; when one is stored for the id, it gains the envelope recipients it
   * lacks (a message SES reported in several notifications), all else kept.
   */
  async putMessage(record: MessageRecord): Promise<MessageRecord> {
    return this.put(record);
  }

  async getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    const row = this.read.get(sesMessageId, epochSeconds(now));
    return row ? (JSON.parse(row.record) as MessageRecord) : null;
  }

  purgeExpired(now: Date): number {
    return this.purge(epochSeconds(now));
  }
}
