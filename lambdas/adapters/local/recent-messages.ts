// The last received messages local mode put in its store, still in memory: the ingest
// worker and then the forward worker read each one within a second of its 250, and
// from here that costs neither a SELECT nor a copy of its bytes out of the store
// (issue 18; docs/design.md 12.27). Bounded in bytes, oldest out first. Stored messages
// never change, so what is here is what the store holds. The buffers are shared with
// every reader: read-only.

/** About 90 messages of the bench's mean size: more than the burst has between 250 and delivery. */
export const RECENT_MESSAGES_BYTES = 4 * 1024 * 1024;

export class RecentMessages {
  private readonly held = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly budgetBytes = RECENT_MESSAGES_BYTES) {}

  remember(key: string, message: Buffer): void {
    if (message.length > this.budgetBytes) return;
    this.forget(key);
    this.held.set(key, message);
    this.bytes += message.length;
    for (const [oldest, kept] of this.held) {
      if (this.bytes <= this.budgetBytes) break;
      this.held.delete(oldest);
      this.bytes -= kept.length;
    }
  }

  get(key: string): Buffer | undefined {
    return this.held.get(key);
  }

  /** Bytes held now. */
  get size(): number {
    return this.bytes;
  }

  forget(key: string): void {
    const kept = this.held.get(key);
    if (kept === undefined) return;
    this.held.delete(key);
    this.bytes -= kept.length;
  }
}
