// Expiry in the embedded store. Rows carry `expires_at` in epoch seconds like the
// DynamoDB items' TTL attribute; local mode has no TTL sweeper, so reads compare it
// themselves and each adapter's purgeExpired(now) deletes the rows no read returns.

/** Whole epoch seconds of `date`, rounded down: what the expires_at columns are compared with. */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** An adapter whose rows expire. */
export interface ExpiringRows {
  /** Deletes the rows expired at `now`; returns how many. */
  purgeExpired(now: Date): number;
}
