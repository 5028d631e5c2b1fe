// Port: the primary's mailboxes over IMAP, as `shadowmail reconcile` needs them (issue 15):
// one service account opens each user's mailbox, finds its Sent folder, lists the
// Message-IDs a folder already holds, appends what was sent from the webmail, and marks
// read what the user read there. The adapter (imapflow) decides how to log in as the user
// (SASL PLAIN with an authorization identity, or Exchange's `service\mailbox` form).
import type { ImapError } from '../core/errors.ts';

/** How the service account reaches a user's mailbox (`--login`). */
export type ImapLoginForm = 'plain-authzid' | 'exchange';

/**
 * Why a mailbox could not be opened or a command failed, as the adapter saw it:
 * `auth` (the service account's login was refused), `mailbox` (no such user or no access
 * to it), `unreachable` (no TCP/TLS connection), `timeout` (connected, then no answer in
 * time), `refused` (the server answered NO/BAD to a command; its reply is in the message).
 */
export type ImapFault = ImapError['fault'];

/** A half-open window [since, until) of message dates. */
export interface DateWindow {
  since: Date;
  until: Date;
}

export interface ImapMailbox {
  /**
   * The folder sent mail belongs in: the one with SPECIAL-USE `\Sent` where the server
   * offers it, else the first of `names` (compared case-insensitively) that exists;
   * null when there is none.
   */
  findSentFolder(names: readonly string[]): Promise<string | null>;
  /**
   * The Message-IDs (angle brackets kept, compared case-sensitively as RFC 5322 defines
   * them) of the messages in `folder` dated in `window` (with a day of slack either side,
   * since IMAP SEARCH dates are whole days). Read from the fetched headers, never from a
   * SEARCH HEADER answer alone (some servers answer that wrongly).
   */
  messageIds(folder: string, window: DateWindow): Promise<Set<string>>;
  /** Appends `raw` byte for byte to `folder` with `\Seen` and `date` as the internal date. */
  append(folder: string, raw: Uint8Array, date: Date): Promise<void>;
  /** Sets `\Seen` on the messages of `folder` with these Message-IDs; returns the ones it found. */
  markSeen(folder: string, messageIds: readonly string[], window: DateWindow): Promise<Set<string>>;
  close(): Promise<void>;
}

export interface ImapMailboxes {
  /**
   * Opens `mailbox` (the user's address) with the service account; read-only (no
   * APPEND/STORE possible) for a dry run. Failures are ImapError with a fault and the
   * server's reply.
   */
  open(mailbox: string, options: { readOnly: boolean }): Promise<ImapMailbox>;
}
