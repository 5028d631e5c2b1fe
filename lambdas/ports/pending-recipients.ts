// Port: how many recipients of each message still wait for the primary, kept by ingest
// (when it queues the forward job) and the forward (after each attempt), so the admin
// console can say how many recipients the backlog holds without reading every message.
// The latest count of a message wins: writing it again is harmless.

export interface PendingRecipients {
  /** `count` recipients of the message still wait (0: none); forgotten at `expiresAt` (epoch seconds) at the latest. */
  setPendingRecipients(sesMessageId: string, count: number, expiresAt: number): Promise<void>;
  /** The sum over every message not expired at `now`. */
  countPendingRecipients(now: Date): Promise<number>;
}
