// The actions the audit log records: one list, for the port's type and for the check
// the use cases make on what a caller (an admin page filter) names.
export const AUDIT_ACTIONS = [
  'failover.on',
  'failover.off',
  'trace.search',
  'trace.view',
  'message.raw-download',
  'resend.single',
  'resend.bulk',
  'resend.cancel',
  'signin',
  'signin.denied',
  // Break-glass sign-in by SMS code: a code asked for (allowed or refused), and the sign-in it completed.
  'signin.code',
  'signin.code.denied',
  // Break-glass admin sign-in with password + TOTP (local mode's provider; Cognito in AWS).
  'signin.admin',
  'signin.admin.denied',
  // Failover notices to staff (one event per run, counts in details) and the backlog alarm's link.
  'notice.send',
  'outage.alarm-link',
  'signout',
  'directory.sync',
  'audit.view',
  // A webmail send refused by the per-user limits (webmail.sendLimits); details say which window.
  'mail.send.limited',
  // A mailbox exported to a .zip of .eml files (shadowmail export); details: folder, window, destination, counts.
  'mailbox.export',

  // `shadowmail reconcile`: what staff sent and read in the webmail copied into Exchange over IMAP (counts in details).
  'mailbox.reconcile',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
