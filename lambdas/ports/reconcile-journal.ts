// Port: where `shadowmail reconcile` keeps its job between runs — the unfinished run
// (which mailboxes are done, so a restart after a kill goes on where it stopped) and the
// read states still waiting for the forward (picked up by the next run). Losing it costs
// time, never correctness: the Message-IDs already in each IMAP folder decide what is
// appended (core/reconcile.ts). A file on the host that runs reconcile (wiring decides where).

/** One mailbox's outcome, as the report lists it. */
export interface ReconcileMailboxResult {
  mailbox: string;
  /** The Sent folder used; null when the mailbox could not be opened or has none. */
  sentFolder: string | null;
  appended: number;
  alreadyThere: number;
  markedRead: number;
  pending: number;
  /** Read in the webmail, never found in INBOX: Message-ID and why. */
  notFound: Array<{ messageId: string; reason: string }>;
  /** What the server refused (its reply), or a mailbox that could not be opened. */
  failed: Array<{ messageId: string | null; reason: string }>;
  /** Entries in the webmail's Deleted folder: deletions are not applied to Exchange. */
  deletedInWebmail: number;
}

/** A read in the webmail whose message had not (visibly) reached INBOX yet. */
export interface PendingRead {
  mailbox: string;
  sesMessageId: string;
  /** When a run first found it pending, ISO 8601: after the configured days it is reported as not found. */
  since: string;
}

export interface ReconcileJob {
  /** What the run is (server, account, mailboxes, window, read state): a restart of the same command resumes it. */
  key: string;
  /** The window's end as the run fixed it (so a resumed run reads the same window). */
  until: string;
  startedAt: string;
  /** Mailboxes finished by this run, with their results. */
  done: ReconcileMailboxResult[];
  finished: boolean;
}

export interface ReconcileJournalState {
  /** The last run (finished or not); null before the first. */
  job: ReconcileJob | null;
  pending: PendingRead[];
}

export interface ReconcileJournal {
  /** A description for messages: the file's path. */
  readonly where: string;
  read(): Promise<ReconcileJournalState>;
  /** Replaces the state as a whole (atomically: a kill leaves the old or the new one). */
  write(state: ReconcileJournalState): Promise<void>;
}
