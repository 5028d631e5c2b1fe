// Where a message sits in the index's ordered tables: its position `<receivedAt>#<id>`
// (core/mailbox.ts mailboxPosition, core/trace.ts searchPosition), the same string as
// the DynamoDB sort keys, so cursors mean the same in both stores.

/**
 * A bound above every position: SQLite compares text as UTF-8 bytes, and a position
 * starts with an ISO time, never with the last code point.
 */
export const ABOVE_EVERY_POSITION = '\u{10FFFF}';
