// At most N relays to the primary at the same time through one SmtpRelay, however
// many workers call it: local mode's forward and resend share one such relay, so the
// primary sees no more sessions from this process than SHADOWMAIL_PRIMARY_MAX_SESSIONS
// (in AWS the event sources' maximum concurrency bounds the same number). A caller
// beyond the bound waits for a slot, first come first served. The inner relay may keep
// idle sessions for the next message (SmtpRelayAdapter's maxSessions): the wiring gives it
// the same bound, so busy and idle sessions together stay within it.
import type { Readable } from 'node:stream';
import type { RecipientReply, RelayEnvelope, SmtpRelay } from '../ports/smtp-relay.ts';
import { ConfigurationError } from './errors.ts';

export class SessionBoundRelay implements SmtpRelay {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly inner: SmtpRelay,
    readonly maxSessions: number,
  ) {
    if (!Number.isInteger(maxSessions) || maxSessions < 1)
      throw new ConfigurationError('maxSessions', `must be a positive whole number, got ${maxSessions}`);
  }

  async relay(envelope: RelayEnvelope, data: () => Promise<Readable>): Promise<RecipientReply[]> {
    await this.acquire();
    try {
      return await this.inner.relay(envelope, data);
    } finally {
      this.release();
    }
  }

  /** Closes the inner relay's idle sessions. */
  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxSessions) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A finished relay hands its slot straight to the longest waiting one. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}
