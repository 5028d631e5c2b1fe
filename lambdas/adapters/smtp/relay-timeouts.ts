// How long the relay to the primary waits, sized to one SMTP transaction of the
// largest message SES accepts, and the time a relaying worker needs per message.
// RFC 5321 §4.5.3.2 recommends generous minimums (5 min for the greeting and each
// command, 10 min for the reply to the final dot) because a client that gives up
// too early makes the server's work useless and, after DATA, duplicates the message.
// A Lambda function cannot wait that long per message, and does not need to: the
// forward retries with backoff for days, and Exchange itself cuts a session after
// 10 min (Mailbox receive connector) or 5 min (Edge), idle ones after 5 min or 1 min
// (Set-ReceiveConnector ConnectionTimeout / ConnectionInactivityTimeout, learn.microsoft.com).
// This module has no imports: lib/pipeline-limits.ts derives the Lambda timeouts from it.

/** SES receiving stores messages up to 40 MB, headers included (SES S3 action, CfnReceiptRule.S3ActionProperty docs). */
export const LARGEST_MESSAGE_BYTES = 40 * 1024 * 1024;

/** The slowest path to the primary a 40 MB message is planned for: 4 Mbit/s into the site. */
export const SLOWEST_PATH_BYTES_PER_SECOND = 500_000;

export const RELAY_TIMEOUTS = {
  // A handshake takes milliseconds; a SYN still unanswered after 15 s (three
  // retransmissions) means a host that is down or a port that is filtered — e.g. 25
  // from Lambda, which AWS drops silently. Give the session slot back and retry later.
  connectionTimeoutMs: 15_000,
  // RFC 5321 §4.5.3.2.1 waits 5 min for the 220 of a busy server; Exchange greets at
  // once or answers 421. One minute covers a loaded server and the TLS handshake.
  greetingTimeoutMs: 60_000,
  // Silence on the socket, including the wait for the reply to the final dot. Exchange
  // queues first and answers within seconds; a server silent for 2 min is stuck. Giving
  // up there costs at most one duplicate on the retry (RFC 5321 §4.5.3.2.6's concern),
  // never a lost message: no reply means "not delivered" and the forward retries.
  socketTimeoutMs: 120_000,
  // The whole session, connect to the final reply: fits connect + greeting + 40 MB at
  // 4 Mbit/s + one full idle wait (relay-timeouts.test.ts), and is Exchange Edge's own
  // ConnectionTimeout, so a longer wait could not succeed there anyway.
  totalTimeoutMs: 300_000,
  // The 221 to QUIT is a courtesy: the message is settled before it.
  quitTimeoutMs: 5_000,
} as const;

/** What a relaying worker does besides the relay: read the index, record each reply, enqueue the retry. */
export const RELAY_BOOKKEEPING_MS = 60_000;

/**
 * One message's worth of a relaying worker (forward, resend): the relay's bound plus its
 * bookkeeping. The Lambda timeout per record and the lease that keeps a second worker out.
 */
export const RELAY_WORK_MS = RELAY_TIMEOUTS.totalTimeoutMs + RELAY_BOOKKEEPING_MS;
