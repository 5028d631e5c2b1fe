// Outbound limits per sending user: messages and recipients per hour and per day. A
// send reserves its message and recipients in both windows before it goes out and gives
// them back when it fails before the mail server took it (send.ts). Windows are UTC
// calendar hours and days: simple and cheap (two items per user and window), at the cost
// that a burst across an hour boundary may reach twice the hourly limit, never more than
// the daily one. The limits and their defaults: contract/send-limits.ts.
import type { SendLimits } from '../../contract/send-limits.ts';
import type { SendCounter } from '../../ports/send-counter.ts';
import { ShadowmailError } from '../errors.ts';

export type SendWindowKind = 'hour' | 'day';

/** The send would pass a limit: nothing was sent; `until` is when the window ends. */
export class SendLimitError extends ShadowmailError {
  constructor(
    readonly window: SendWindowKind,
    readonly limits: { messages: number; recipients: number },
    readonly until: Date,
    /** The refused message's recipients. */
    readonly recipients: number,
  ) {
    super(
      'SEND_LIMIT',
      `at most ${limits.messages} messages and ${limits.recipients} recipients per ${window}; try again after ${until.toISOString()}`,
    );
  }
}

/** A reservation that may be given back. */
export interface SendReservation {
  release(): Promise<void>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Counts are kept a day past their window (TTL), for a look at what happened. */
const KEEP_AFTER_MS = DAY_MS;

/**
 * Counts one message to `recipients` recipients against `mailbox`'s hour and day, or
 * throws SendLimitError (nothing counted). Hour first, then day; a refused day gives
 * the hour back.
 */
export async function reserveSend(
  counter: SendCounter,
  mailbox: string,
  recipients: number,
  now: Date,
  limits: SendLimits,
): Promise<SendReservation> {
  const hourStart = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  const dayStart = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const windows = [
    {
      kind: 'hour' as const,
      window: `H#${new Date(hourStart).toISOString().slice(0, 13)}`,
      end: new Date(hourStart + HOUR_MS),
      messages: limits.messagesPerHour,
      recipients: limits.recipientsPerHour,
    },
    {
      kind: 'day' as const,
      window: `D#${new Date(dayStart).toISOString().slice(0, 10)}`,
      end: new Date(dayStart + DAY_MS),
      messages: limits.messagesPerDay,
      recipients: limits.recipientsPerDay,
    },
  ];
  const taken: string[] = [];
  const giveBack = async () => {
    for (const window of taken.splice(0)) await counter.subtract(mailbox, window, recipients);
  };
  for (const w of windows) {
    const refused = () => new SendLimitError(w.kind, { messages: w.messages, recipients: w.recipients }, w.end, recipients);
    if (recipients > w.recipients || w.messages < 1) {
      await giveBack();
      throw refused();
    }
    const added = await counter
      .add(
        {
          mailbox,
          window: w.window,
          maxMessages: w.messages,
          maxRecipients: w.recipients,
          expiresAt: new Date(w.end.getTime() + KEEP_AFTER_MS),
        },
        recipients,
      )
      .catch(async (error: unknown) => {
        await giveBack();
        throw error;
      });
    if (!added) {
      await giveBack();
      throw refused();
    }
    taken.push(w.window);
  }
  return { release: giveBack };
}
