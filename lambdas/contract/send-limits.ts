// The per-user send limits as plain data, shared by the config schema (lib/config.ts,
// webmail.sendLimits), the functions' environment (wiring/env.ts) and the use case that
// holds them (core/compose/send-limits.ts). What they mean: docs/deploy.md §9.2.

export interface SendLimits {
  messagesPerHour: number;
  recipientsPerHour: number;
  messagesPerDay: number;
  recipientsPerDay: number;
}

/**
 * A person answering mail in an outage writes far fewer than 30 messages an hour, and
 * 100 a day; 200 recipients an hour allows two full mailings to the compose form's 100
 * recipients. A stolen account is held to a few hundred messages a day instead of the
 * account's whole SES quota (and the domain's reputation with it).
 */
export const DEFAULT_SEND_LIMITS: SendLimits = {
  messagesPerHour: 30,
  recipientsPerHour: 200,
  messagesPerDay: 100,
  recipientsPerDay: 500,
};

/** Highest value a limit may be set to (config and env): above it, the SES quota is the only limit. */
export const SEND_LIMIT_MAX = 1_000_000;
