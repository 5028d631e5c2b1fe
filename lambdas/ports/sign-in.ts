// Port: the sign-in seam. OIDC code flow + PKCE against Cognito (federated to AD) in AWS,
// an embedded OIDC provider locally; a later break-glass sign-in plugs in here too.
export interface Identity {
  /** Stable subject of the identity provider. */
  subject: string;
  /** The user's mail address as the token states it (comparison form). */
  email: string;
  name: string;
  /** Group claims (cognito:groups); admins are a configured group. */
  groups: string[];
  /**
   * The directory's immutable id of the user (AD objectGUID) where the IdP sends one,
   * as the token carries it (core/sessions.ts sameDirectoryId compares the forms).
   */
  directoryId?: string;
  /**
   * The pool's own account signed in (no `identities` claim: not federated) — a
   * break-glass account (SMS code or admin password + TOTP), not one of the IdP's users.
   */
  nativeAccount?: boolean;
}

/** What must survive the round trip to the provider (kept in a short-lived cookie). */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

export interface SignInProvider {
  begin(returnTo: string): Promise<{ redirectTo: string; pending: PendingSignIn }>;
  /** Validates the callback (state, code, tokens) and returns who signed in. Throws on anything wrong. */
  complete(callbackUrl: URL, pending: PendingSignIn): Promise<Identity>;
  /** Where to send the browser after our own session is cleared (provider logout), if anywhere. */
  signOutUrl(): string | null;
}
