// Port: what the user pool knows of a native account's second factor. A break-glass
// admin may sign in only once TOTP is set up (Cognito's AdminGetUser in AWS): the pool's
// MFA is optional because passwordless first factors need it so (docs/deploy.md §7.6).
export interface PoolAccount {
  /** The pool the sign-in is for, as the trigger event names it. */
  userPoolId: string;
  username: string;
}

export interface SignInFactors {
  /** Whether the account has an authenticator app (TOTP) registered as a second factor. */
  hasTotp(account: PoolAccount): Promise<boolean>;
}
