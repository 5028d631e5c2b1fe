// English messages: the reference catalog. Every key here must exist in de.ts too
// (the type of the German catalog enforces it). `{name}` marks a parameter.
export const en = {
  'app.name': 'Shadowmail',
  'app.tagline': 'Emergency webmail',
  'layout.skipToContent': 'Skip to content',
  'layout.signedInAs': 'Signed in as {name}',
  'layout.signOut': 'Sign out',
  'layout.mainNavigation': 'Main navigation',
  'layout.footer': 'Shadowmail keeps a copy of incoming mail while Exchange is unavailable.',

  'status.title': 'Service status',
  'status.normal.heading': 'Normal operation',
  'status.normal.body': 'Exchange is working. Use Outlook as usual.',
  'status.normal.detail': 'This emergency webmail opens only while Exchange is unavailable.',
  'status.failover.heading': 'Emergency webmail is open',
  'status.failover.body': 'Exchange is currently unavailable. You can read, answer and forward your mail here.',
  'status.failover.since': 'Since {time}',
  'status.failover.message': 'Message from IT',
  'status.failover.signIn': 'Sign in',
  'status.failover.continue': 'Go to your mailbox',
  'status.unknown.heading': 'Status unavailable',
  'status.unknown.body': 'The service status cannot be read right now. Please try again in a minute.',

  'auth.signInFailed.title': 'Sign-in failed',
  'auth.signInFailed.body': 'The sign-in could not be completed. It may have taken too long or been started in another window.',
  'auth.signInFailed.retry': 'Try again',
  'auth.signInRequired.title': 'Please sign in',
  'auth.signInRequired.body': 'Your session has ended. Sign in again to continue.',

  'error.csrf.title': 'Request refused',
  'error.csrf.body': 'This form was out of date or did not come from this site, so nothing was changed. Go back, reload the page and try again.',
  'error.notFound.title': 'Not found',
  'error.notFound.body': 'There is nothing here.',
  'error.forbidden.title': 'Not allowed',
  'error.forbidden.body': 'You may not do this.',
  'error.server.title': 'Something went wrong',
  'error.server.body': 'The request could not be completed. Please try again.',
  'error.backHome': 'Back to the start page',

  'mail.placeholder.title': 'Mailbox',
  'mail.placeholder.body': 'Signed in as {email}.',
} as const;

export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;
