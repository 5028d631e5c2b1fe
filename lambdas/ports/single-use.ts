// Port: keys that can be taken once until they expire — a backlog alarm link's id (the
// link works once), and "this admin got a link in this alarm episode" (no second SMS
// while the first link is valid). The message table in AWS and local mode (a
// conditional write, the item expiring by TTL after the key does).

export interface SingleUse {
  /**
   * Takes `key` until `expiresAt`: true when this call took it, false when it is taken
   * (by anyone, this owner included) and has not expired at `now`.
   */
  take(key: string, owner: string, expiresAt: Date, now: Date): Promise<boolean>;
  /** Whether `key` is taken and not expired at `now`. */
  isTaken(key: string, now: Date): Promise<boolean>;
  /** Gives back a key `owner` took whose effect did not happen (no-op when someone else holds it). */
  giveBack(key: string, owner: string): Promise<void>;
}
