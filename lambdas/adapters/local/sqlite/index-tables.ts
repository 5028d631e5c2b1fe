// What the message index's tables share: every row carries expires_at (epoch seconds,
// core/retention.ts) and reads treat an expired row as absent, as the DynamoDB
// adapters do before TTL deletes the item; local mode has no TTL sweeper, so each
// table's adapter also deletes its expired rows on request (SqliteMessageIndex.purgeExpired).

/** Rows whose expires_at is greater than this are live at `now` (isLive): bind it to `expires_at > ?`. */
export function liveAfter(now: Date): number {
  return Math.floor(now.getTime() / 1000);
}

/** An adapter that owns tables with expiring rows. */
export interface ExpiringRows {
  /** Deletes the rows expired at `now`; returns how many. */
  purgeExpired(now: Date): number;
}

/**
 * A bound above every position (`<receivedAt>#<id>`, core/mailbox.ts mailboxPosition and
 * core/trace.ts searchPosition): SQLite compares text as UTF-8 bytes, and a position
 * starts with an ISO time, never with the last code point.
 */
export const ABOVE_EVERY_POSITION = '\u{10FFFF}';
