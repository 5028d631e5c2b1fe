// Port: how the forward backlog looks now, for the page a backlog alarm link opens (SQS's
// queue attributes and the forward's backlog-age metric in AWS; the forward file queue
// locally, whose jobs the backlog watcher also reads).

export interface ForwardBacklogState {
  /** Forward jobs not delivered yet: waiting, delayed for a retry, or being tried. */
  jobs: number;
  /** Since when the oldest of them waits (its mail was received), in seconds; null when unknown or none. */
  oldestAgeSeconds: number | null;
}

export interface ForwardBacklog {
  read(now: Date): Promise<ForwardBacklogState>;
}
