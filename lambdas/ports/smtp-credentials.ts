// Port: the login the forward and resend give the smart host (SMTP AUTH), read where it
// is kept each time a session needs it, so that a changed password is used without a
// redeploy, and read afresh once the smart host refused it.

export interface SmtpCredentials {
  user: string;
  pass: string;
}

export interface SmtpCredentialSource {
  /** The credentials to log in with now (from a short-lived cache). */
  current(): Promise<SmtpCredentials>;
  /** The smart host refused the login: the next current() reads the credentials again. */
  refused(): void;
}
