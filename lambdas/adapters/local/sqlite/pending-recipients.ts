// Pending-recipient counts in the embedded store: one row per message, written whole
// (the latest count wins, so a repeated write is harmless), summed over the live rows
// by one covering index scan.
import type { PendingRecipients } from '../../../ports/pending-recipients.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { type ExpiringRows, epochSeconds } from './expiry.ts';

export const PENDING_RECIPIENTS_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS pending_recipients (
     ses_message_id TEXT PRIMARY KEY,
     recipients INTEGER NOT NULL,
     expires_at INTEGER NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS pending_recipients_by_expiry ON pending_recipients (expires_at, recipients)',
] as const;

export class SqlitePendingRecipients implements PendingRecipients, ExpiringRows {
  private readonly put;
  private readonly sum;
  private readonly purge;

  constructor(db: LocalDatabase) {
    ensureSchema(db, PENDING_RECIPIENTS_SCHEMA);
    this.put = db.prepare<[string, number, number]>(
      `INSERT INTO pending_recipients (ses_message_id, recipients, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (ses_message_id) DO UPDATE SET recipients = excluded.recipients, expires_at = excluded.expires_at`,
    );
    this.sum = db.prepare<[number], { total: number }>(
      'SELECT coalesce(sum(recipients), 0) AS total FROM pending_recipients WHERE expires_at > ?',
    );
    this.purge = db.prepare<[number]>('DELETE FROM pending_recipients WHERE expires_at <= ?');
  }

  async setPendingRecipients(sesMessageId: string, count: number, expiresAt: number): Promise<void> {
    // A count of 0 is written too (not deleted), as on DynamoDB: the purge removes it with the message.
    this.put.run(sesMessageId, count, expiresAt);
  }

  async countPendingRecipients(now: Date): Promise<number> {
    return this.sum.get(epochSeconds(now))?.total ?? 0;
  }

  purgeExpired(now: Date): number {
    return this.purge.run(epochSeconds(now)).changes;
  }
}
