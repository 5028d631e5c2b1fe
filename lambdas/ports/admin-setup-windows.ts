// Port: the short window in which a break-glass admin may sign in with the password alone,
// to register TOTP (`shadowmail breakglass admin-setup`). Outside it the sign-in trigger
// refuses an admin without TOTP. Opened and closed by the operator's CLI, read by the trigger.
export interface AdminSetupWindows {
  /** Opens (or moves) the window of `username` until `until`. */
  open(username: string, until: Date): Promise<void>;
  /** Whether the window of `username` is open at `now`. */
  isOpen(username: string, now: Date): Promise<boolean>;
  close(username: string): Promise<void>;
}
