// Port: server-side session state, so a session can end before its cookie does
// (sign-out, a directory change). The cookie carries only the random session id.

export interface StoredSession {
  /** Random, unguessable; the signed cookie names it. */
  id: string;
  /** The token's address (comparison form): what the directory is asked about on every check. */
  email: string;
  /** The directory id the token carried (Identity.directoryId), checked against the directory user on every request. */
  directoryId?: string;
  /** The token itself carried the admin group (a Cognito group), apart from what the directory says. */
  tokenAdmin: boolean;
  /**
   * A break-glass admin (core/break-glass.ts isBreakGlassAdmin) signed in: no directory
   * user, an admin by the configured list alone, which every check asks again.
   */
  breakGlassAdmin?: boolean;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch seconds; the store may forget the session after this (TTL). */
  expiresAt: number;
  /** Set by sign-out; a signed-out session never comes back. */
  signedOut: boolean;
}

export interface SessionStore {
  create(session: StoredSession): Promise<void>;
  /** The session, or null when unknown or past expiresAt. */
  get(id: string, now: Date): Promise<StoredSession | null>;
  /** Marks the session signed out (no-op for an unknown id). */
  signOut(id: string): Promise<void>;
}
