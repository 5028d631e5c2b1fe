// Outbound limits per sending user: messages and recipients per hour and per day. A
// send reserves its message and recipients in both windows before it goes out and gives
// them back when it fails before the mail server took it (send.ts). Windows are UTC
// calendar hours and days: simple and cheap (two items per user and window), at the cost
// that a burst across an hour boundary may reach twice the hourly limit, never more than
// the daily one. Defaults and why: docs/deploy.md (webmail.sendLimits).
import type { SendCounter } from '../../ports/send-counter.ts';
import { ShadowmailError } from '../errors.ts';

export interface SendLimits {
  messagesPerHour: number;
  recipientsPerHour: number;
  messagesPerDay: number;
  recipientsPerDay: number;
}

/**
 * A person answering mail in an outage writes far fewer than 30 messages an hour, and
 * 100 a day; 200 recipients an hour allows two full mailings to the compose form's 100
 * recipients. A stolen account is held to a few hundred messages a day instead of the
 * account's whole SES quota (and the domain's reputation with it).
 */
export const DEFAULT_SEND_LIMITS: SendLimits = {
  messagesPerHour: 30,
  recipientsPerHour: 200,
  messagesPerDay: 100,
  recipientsPerDay: 500,
};

/** Highest value a limit may be set to (config and env): above it, the SES quota is the only limit. */
export const SEND_LIMIT_MAX = 1_000_000;

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
