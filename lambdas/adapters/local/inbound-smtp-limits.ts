// What one sender may hold of local mode's SMTP listener (inbound-smtp.ts): its own file
// so that the configuration (wiring/local-config.ts) reads the defaults without the server.

/** Defaults of SHADOWMAIL_SMTP_MAX_CONNECTIONS, …_PER_ADDRESS and SHADOWMAIL_SMTP_DATA_TIMEOUT_SECONDS. */
export const INBOUND_SMTP_LIMITS = {
  /** SES takes at most 40 MB per message with the S3 action (docs/design.md §2); the primary's limit may be lower. */
  maxMessageBytes: 40 * 1024 * 1024,
  /** Connections held at once, from all clients together. */
  maxConnections: 200,
  /** Connections held at once from one client address. */
  maxConnectionsPerAddress: 20,
  /**
   * The longest one DATA phase (354 to the final dot) may take: 10 minutes carry the 40 MB
   * maximum at 70 KB/s; RFC 5321 sets no such bound (its timeouts, §4.5.3.2, are per read).
   */
  dataDeadlineMs: 10 * 60_000,
  /**
   * How long a 550 5.1.1 for an unknown recipient is held back: Exchange's receive connector
   * TarpitInterval, default 5 s, against directory harvesting
   * (https://learn.microsoft.com/powershell/module/exchange/set-receiveconnector, -TarpitInterval).
   */
  unknownRecipientDelayMs: 5_000,
} as const;
