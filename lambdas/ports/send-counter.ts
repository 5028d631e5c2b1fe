// Port: how many messages and recipients one sending user has sent in one window (an
// hour, a day). The message table in AWS and local mode: an atomic, conditional add, so
// concurrent sends of one user can never together pass a limit.

export interface SendWindowCount {
  /** The sender's mailbox (comparison form). */
  mailbox: string;
  /** The window's name, e.g. `H#2030-03-01T12` or `D#2030-03-01`. */
  window: string;
  /** The counts after this add may be at most these. */
  maxMessages: number;
  maxRecipients: number;
  /** When the count may be forgotten (the window has ended). */
  expiresAt: Date;
}

export interface SendCounter {
  /**
   * Adds one message and `recipients` to the window's count if both stay within the
   * maxima; false (and nothing added) otherwise.
   */
  add(count: SendWindowCount, recipients: number): Promise<boolean>;
  /** Takes back one add (a send that did not happen). */
  subtract(mailbox: string, window: string, recipients: number): Promise<void>;
}
