// What `failover off` (CLI and the admin console) tells the admin: run `shadowmail
// reconcile`, so that what staff sent and read in the webmail reaches Exchange. One
// definition of the command line, so the two places cannot drift apart.

export interface ReconcileReminderInput {
  /** When failover went on (the flag's `since` before switching off): the window starts there; null → the retention window. */
  since: string | null;
  /** The target as the admin names it: a deployed stack, or local mode's data directory (absent: the default one). */
  target?: { stack: string; region?: string | undefined } | { dataDir: string } | undefined;
}

/** Placeholders the admin fills in: the Exchange IMAP URL, the service account, its password file. */
export const RECONCILE_PLACEHOLDERS = {
  imap: 'imaps://EXCHANGE-HOST:993',
  user: 'SERVICE-ACCOUNT',
  passwordFile: 'PASSWORD-FILE',
} as const;

/** The command line that copies the outage's Sent mail (and read state) into Exchange, for the reminder. */
export function reconcileCommandLine(input: ReconcileReminderInput): string {
  const { imap, user, passwordFile } = RECONCILE_PLACEHOLDERS;
  const words = ['shadowmail', 'reconcile', '--imap', imap, '--user', user, '--password-file', passwordFile];
  if (input.since) words.push('--since', input.since);
  words.push('--read-state');
  const target = input.target;
  if (target && 'stack' in target) {
    words.push('--stack', target.stack);
    if (target.region) words.push('--region', target.region);
  } else if (target) words.push('--data-dir', target.dataDir);
  return words.map(shellWord).join(' ');
}

/** The reminder in English, as `failover off` prints it (the console shows the same command line in its own words). */
export function reconcileReminder(input: ReconcileReminderInput): string {
  return [
    'next: copy what staff sent in the webmail into their Exchange Sent Items (and mark read what they read), from the host next to Exchange:',
    `  ${reconcileCommandLine(input)}`,
    '  (shadowmail reconcile --help; --dry-run first shows what it would do)',
  ].join('\n');
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@=+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
