// Send counters in the embedded store: one row per mailbox and window. An add is one
// upsert whose update only happens while both counts stay within their maxima, so
// concurrent sends (SQLite runs one writer at a time) can never together pass a limit.
import type { SendCounter, SendWindowCount } from '../../../ports/send-counter.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';
import { epochSeconds } from './expiry.ts';

export const SEND_COUNT_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS send_count (
    mailbox TEXT NOT NULL,
    window TEXT NOT NULL,
    messages INTEGER NOT NULL,
    recipients INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (mailbox, window)
  ) WITHOUT ROWID`,
  'CREATE INDEX IF NOT EXISTS send_count_by_expiry ON send_count (expires_at)',
] as const;

export class SqliteSendCounter implements SendCounter {
  private readonly addWithin;
  private readonly takeBack;
  private readonly purge;

  constructor(db: LocalDatabase) {
    ensureSchema(db, SEND_COUNT_SCHEMA);
    this.addWithin = db.prepare(
      `INSERT INTO send_count (mailbox, window, messages, recipients, expires_at) VALUES (@mailbox, @window, 1, @recipients, @expiresAt)
       ON CONFLICT (mailbox, window) DO UPDATE SET
         messages = messages + 1, recipients = recipients + excluded.recipients, expires_at = excluded.expires_at
       WHERE messages <= @messagesBefore AND recipients <= @recipientsBefore`,
    );
    this.takeBack = db.prepare(
      'UPDATE send_count SET messages = messages - 1, recipients = recipients - ? WHERE mailbox = ? AND window = ?',
    );
    this.purge = db.prepare('DELETE FROM send_count WHERE expires_at <= ?');
  }

  async add(count: SendWindowCount, recipients: number): Promise<boolean> {
    // A new window's row is inserted without the condition: refuse an add larger than the limit here.
    if (count.maxMessages < 1 || recipients > count.maxRecipients) return false;
    const result = this.addWithin.run({
      mailbox: count.mailbox,
      window: count.window,
      recipients,
      expiresAt: epochSeconds(count.expiresAt),
      messagesBefore: count.maxMessages - 1,
      recipientsBefore: count.maxRecipients - recipients,
    });
    return result.changes === 1;
  }

  async subtract(mailbox: string, window: string, recipients: number): Promise<void> {
    // Only an existing row: never one with negative counts.
    this.takeBack.run(recipients, mailbox, window);
  }

  /** Deletes the counts of windows that ended (their expiresAt passed); how many. */
  purgeExpired(now: Date): number {
    return this.purge.run(epochSeconds(now)).changes;
  }
}
