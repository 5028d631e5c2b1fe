// SMTP sessions to the primary at the same time, from forward and resend together.
// Exchange serves at most MaxInboundConnectionPerSource sessions from one address
// (default 20, Set-ReceiveConnector) and answers 421 beyond that, exactly while a
// backlog drains. One setting bounds the total (config smartHost.maxSessions,
// SHADOWMAIL_PRIMARY_MAX_SESSIONS in local mode); each worker relays one record at a
// time, so the bound is split into the concurrency of the two consumers.
import { ConfigurationError } from '../core/errors.ts';

export const PRIMARY_SESSIONS = {
  // Lambda's SQS event sources take a maximum concurrency of at least 2 each (ScalingConfig).
  min: 4,
  // Beyond 50 the receive connector's per-source limit must be raised far above its default anyway.
  max: 50,
  // Half of Exchange's default per-source limit: room for a second shadowmail stack,
  // a probe, or Exchange counting a just-closed session a moment longer.
  default: 10,
} as const;

export interface SessionShares {
  /** The live forward: most of the bound, the mail that is arriving now. */
  forward: number;
  /** Admin resend jobs (bulk restores): a fifth, at least 2. */
  resend: number;
}

export function splitPrimarySessions(maxSessions: number): SessionShares {
  if (!Number.isInteger(maxSessions) || maxSessions < PRIMARY_SESSIONS.min) {
    throw new ConfigurationError(
      'maxSessions',
      `at least ${PRIMARY_SESSIONS.min} sessions to the primary are needed (2 for the forward, 2 for resends), got ${maxSessions}`,
    );
  }
  const resend = Math.max(2, Math.floor(maxSessions / 5));
  return { forward: maxSessions - resend, resend };
}
