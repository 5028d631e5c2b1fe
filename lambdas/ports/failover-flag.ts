// Port: the failover flag — the one switch that opens the webmail to users while
// Exchange is down (SSM parameter in AWS, a file under the data directory locally).
export interface FailoverState {
  on: boolean;
  /** When the flag last changed, ISO 8601; null if it never did. */
  since: string | null;
  /** The admin's message to users, shown on the status page. */
  message: string;
  /** Who changed it last (admin's address or "cli:<user>"), and why. */
  changedBy: string | null;
  reason: string | null;
}

export const FAILOVER_OFF: FailoverState = { on: false, since: null, message: '', changedBy: null, reason: null };

export interface FailoverFlag {
  /** The current state; implementations may cache it for at most 30 seconds. */
  read(): Promise<FailoverState>;
  write(state: FailoverState): Promise<void>;
}
