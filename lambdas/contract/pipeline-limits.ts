// Numbers that tie the functions, their queues and the stacks together. A queue's
// visibility timeout must outlast the function that consumes it, a lease the invocation
// that holds it, a relaying function the SMTP relay's own bound: one place, so the
// stacks, the relay adapter and `shadowmail cost` cannot drift apart.

/** SES receiving stores messages up to 40 MB, headers included (SES S3 action, CfnReceiptRule.S3ActionProperty docs). */
export const LARGEST_MESSAGE_BYTES = 40 * 1024 * 1024;

/** The slowest path to the primary a 40 MB message is planned for: 4 Mbit/s into the site. */
export const SLOWEST_PATH_BYTES_PER_SECOND = 500_000;

/**
 * How long the relay to the primary waits, sized to one SMTP transaction of the largest
 * message SES accepts. RFC 5321 §4.5.3.2 recommends generous minimums (5 min for the
 * greeting and each command, 10 min for the reply to the final dot) because a client that
 * gives up too early makes the server's work useless and, after DATA, duplicates the
 * message. A Lambda function cannot wait that long per message, and does not need to: the
 * forward retries with backoff for days, and Exchange itself cuts a session after 10 min
 * (Mailbox receive connector) or 5 min (Edge), idle ones after 5 min or 1 min
 * (Set-ReceiveConnector ConnectionTimeout / ConnectionInactivityTimeout, learn.microsoft.com).
 */
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
  // 4 Mbit/s + one full idle wait (test/unit/lib/pipeline-limits.test.ts), and is Exchange Edge's own
  // ConnectionTimeout, so a longer wait could not succeed there anyway.
  totalTimeoutMs: 300_000,
  // The 221 to QUIT is a courtesy: the message is settled before it.
  quitTimeoutMs: 5_000,
} as const;

/**
 * Sessions to the primary kept open between messages (lambdas/adapters/smtp/session-cache.ts),
 * as Postfix's SMTP client caches its connections: in a burst the next message skips the
 * connect, greeting, EHLO, STARTTLS and AUTH, and the primary a new smtpd session. Exchange
 * counts an idle connection like a busy one (MaxInboundConnectionPerSource, 20 on a custom
 * receive connector), so the cache never holds more than the relay's session bound
 * (SHADOWMAIL_PRIMARY_MAX_SESSIONS). Reference: "Message rate limits and throttling",
 * learn.microsoft.com/exchange/mail-flow/message-rate-limits; Postfix postconf(5).
 */
export const RELAY_SESSION_REUSE = {
  // Postfix's smtp_connection_cache_time_limit (2 s): a cached session serves a burst, not
  // a trickle; an idle session is QUIT after this long and holds no slot at Exchange
  // beyond it (Exchange's own idle limit, ConnectionInactivityTimeout, is 1–5 min).
  idleMs: 2_000,
  // Postfix's smtp_connection_reuse_time_limit (300 s); not longer, as Exchange cuts a
  // session at ConnectionTimeout (5 min on Edge, 10 min on Mailbox servers) counted from
  // the connect, busy or not.
  maxAgeMs: 300_000,
  // Exchange's receive connectors set no messages-per-connection limit (the page above
  // lists none); its send connectors close their own sessions after 20 messages
  // (SmtpMaxMessagesPerConnection, default 20), so 20 is what an Exchange receive
  // connector already sees from Exchange itself.
  transactionsPerSession: 20,
  // RSET on a cached session before it is used, as Postfix does (smtp_rset_timeout, 20 s):
  // a session the server closed or a frozen Lambda sandbox's dead socket is found here,
  // before the message, and the relay continues on a fresh session.
  rsetTimeoutMs: 20_000,
} as const;

/** What a relaying worker does besides the relay: read the index, record each reply, enqueue the retry. */
export const RELAY_BOOKKEEPING_MS = 60_000;

/**
 * One message's worth of a relaying worker (forward, resend): the relay's bound plus its
 * bookkeeping. The Lambda timeout per record and the lease that keeps a second worker out.
 */
export const RELAY_WORK_MS = RELAY_TIMEOUTS.totalTimeoutMs + RELAY_BOOKKEEPING_MS;

export interface ConsumerLimits {
  /** Lambda timeout; also the lease (SHADOWMAIL_LEASE_SECONDS): a holder never outlives it. */
  timeoutSeconds: number;
  memoryMiB: number;
  batchSize: number;
  /** Concurrent invocations the event source may start; undefined = set from the configuration (smartHost.maxSessions). */
  maxConcurrency?: number;
  /**
   * Receives before a message moves to the DLQ. A record that throws comes back after
   * lambdas/core/failure-backoff.ts's backoff (30 s doubling, at most 15 min), so 10
   * receives are about 90 minutes of retrying (secondsUntilDeadLetter) before the DLQ
   * and its alarm; a crashed or timed-out invocation waits the visibility timeout instead.
   */
  maxReceiveCount: number;
}

const RECEIVES_BEFORE_DEAD_LETTER = 10;

// A 40 MB message parses at ~70 MB/s on a full core (measured, mailparser
// streaming, ~136 MB peak RSS); 1024 MB gives the function more than half a
// vCPU, so ten such messages in one batch still end well inside 3 minutes.
// The event source is capped: a spam burst into the ingest queue drains at five
// batches at a time instead of taking the account's concurrency from the webmail.
export const INGEST_LIMITS: ConsumerLimits = {
  timeoutSeconds: 3 * 60,
  memoryMiB: 1024,
  batchSize: 10,
  maxConcurrency: 5,
  maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER,
};

/**
 * A relaying function (forward, resend) takes one record per invocation: it holds one
 * SMTP session at a time, so the event source's maximum concurrency is its share of
 * smartHost.maxSessions, and the function timeout (with it the lease and the queue's
 * visibility timeout) stays one relay's bound: RELAY_TIMEOUTS.totalTimeoutMs plus its
 * bookkeeping. Lambda never freezes an environment in the middle of an SMTP transaction.
 * Between invocations a sandbox may keep one idle session for the next record
 * (RELAY_SESSION_REUSE; the adapter's maxSessions is 1 there): a frozen sandbox's session
 * stays open at Exchange until its ConnectionInactivityTimeout (1–5 min) or the thaw, which
 * QUITs it if it was idle past 2 s, so it holds a slot only while its sandbox is warm, one
 * per sandbox, and sandboxes are about as many as the concurrency that created them.
 */
const RELAY_BATCH_SIZE = 1;
const relayingTimeoutSeconds = (batchSize: number): number => (batchSize * RELAY_WORK_MS) / 1000;

export const FORWARD_LIMITS: ConsumerLimits = {
  timeoutSeconds: relayingTimeoutSeconds(RELAY_BATCH_SIZE),
  memoryMiB: 512,
  batchSize: RELAY_BATCH_SIZE,
  maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER,
};

// A resend step relays one stored message (the forward's SMTP bound) or enumerates
// one page of a bulk job.
export const RESEND_LIMITS: ConsumerLimits = {
  timeoutSeconds: relayingTimeoutSeconds(RELAY_BATCH_SIZE),
  memoryMiB: 512,
  batchSize: RELAY_BATCH_SIZE,
  maxReceiveCount: RECEIVES_BEFORE_DEAD_LETTER,
};
