// Port: the audit log — who did what, when, to what: failover switches, admin
// searches, raw downloads, resends, sign-ins. Append-only on purpose: there is no
// method to change or delete an entry, so no route of the webmail or the CLI can.
// Entries outlive the mail retention (the DynamoDB adapter writes them without TTL).

import type { AuditAction } from '../core/audit-actions.ts';

export type { AuditAction };

/** Small, flat values only; core/audit.ts bounds their number and length. */
export type AuditDetailValue = string | number | boolean | null | string[];

export interface AuditEvent {
  /** Unique; with `at` the event's key. */
  id: string;
  /** ISO 8601 UTC. */
  at: string;
  /** An admin's address, `cli:<os user>`, or `system`. */
  actor: string;
  action: AuditAction;
  /** What it was done to (a message id, a job id, a mailbox), or null. */
  target: string | null;
  /** `ok`, or `error` when the action failed (details.error says why), or `denied`. */
  outcome: 'ok' | 'error' | 'denied';
  details: Record<string, AuditDetailValue>;
}

export interface AuditFilter {
  /** at ≥ since. */
  since: string;
  /** at < until. */
  until: string;
  /** Exact actor (comparison form: lower case). */
  actor?: string;
  action?: AuditAction;
  cursor?: string | null;
  limit: number;
}

/**
 * Newest first. A page may be shorter than the limit and still have a next cursor (a
 * store reads a bounded amount per call); following cursors yields every match once.
 */
export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

export interface AuditLog {
  /** Writes the event; an event with the same at and id already there is never overwritten (InvalidInputError). */
  append(event: AuditEvent): Promise<void>;
  list(filter: AuditFilter): Promise<AuditPage>;
}
