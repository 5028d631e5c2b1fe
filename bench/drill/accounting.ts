// The drill's verdict, as a pure function: what the senders were told (250 with a queue
// id, or an ambiguous end after the data went out) against what the primary holds (one
// Maildir file per envelope recipient). Lost: accepted but missing for a recipient.
// Relay duplicate: one stored message delivered twice, explained only by a kill or the
// primary's stop between its copies (the SMTP in-doubt window). Sender duplicate: stored
// twice because the sender retried. Anything else is unexplained, i.e. a bug.

export interface AcceptedMessage {
  drillId: string;
  messageId: string;
  /** Envelope recipients, as sent (aliases and Bcc included). */
  recipients: string[];
  /** Queue ids from the 250 replies the sender saw ("queued as <id>"); more than one if it was accepted more than once. */
  queueIds: string[];
  /** Tries that ended without a reply after the message data had gone out: the server may have taken it. */
  ambiguousTries: number;
}

export interface DeliveredCopy {
  drillId: string;
  /** The envelope recipient the primary got (X-Original-To), before its alias expansion. */
  recipient: string;
  /** shadowmail's queue id from its forward stamp; null when the copy carries none. */
  queueId: string | null;
  file: string;
  /** When the primary delivered it (ms since the epoch). */
  deliveredAtMs: number;
}

/** Moments (ms since the epoch) at which a relay in flight could lose its record: kills, primary stops. */
export interface Interruptions {
  atMs: number[];
  /**
   * How long before its first copy landed a relay's interruption may lie: the primary's
   * 250 comes before its Maildir write, but recording it can lag behind on a loaded machine.
   */
  slackMs: number;
}

export interface LostMessage {
  drillId: string;
  messageId: string;
  recipients: string[];
  queueIds: string[];
}

export interface DuplicateCopies {
  drillId: string;
  recipient: string;
  queueId: string | null;
  copies: number;
}

/** One recipient got copies of several stored messages (queue ids) of the same drill message. */
export interface SenderDuplicate {
  drillId: string;
  recipient: string;
  queueIds: (string | null)[];
}

export interface RelayDuplicate extends DuplicateCopies {
  /** The interruption between the first and the last copy (ms since the epoch), or null: unexplained. */
  explainedBy: number | null;
}

export interface DeliveryAccounting {
  messagesAccepted: number;
  /** (message, envelope recipient) pairs owed a delivery. */
  recipientsExpected: number;
  /** Of those, pairs with at least one copy at the primary. */
  recipientsDelivered: number;
  /** Messages with every envelope recipient delivered. */
  messagesDelivered: number;
  lost: LostMessage[];
  /** Same queue id, same recipient, more than one copy. */
  relayDuplicates: RelayDuplicate[];
  /** Messages with at least one relay duplicate. */
  relayDuplicateMessages: number;
  /** Relay duplicates with no kill or primary stop between their copies. */
  unexplainedRelayDuplicates: RelayDuplicate[];
  /** (message, recipient) pairs with copies of more than one stored message: the sender sent it again. */
  senderDuplicates: SenderDuplicate[];
  senderDuplicateMessages: number;
  unexplained: { drillId: string; recipient: string; queueId: string | null; why: string }[];
}

const norm = (address: string): string => address.trim().toLowerCase();

export function accountDeliveries(
  accepted: AcceptedMessage[],
  delivered: DeliveredCopy[],
  interruptions: Interruptions,
): DeliveryAccounting {
  const byId = new Map(accepted.map((message) => [message.drillId, message]));
  // drillId → recipient → queueId → delivery times of its copies
  const copies = new Map<string, Map<string, Map<string | null, number[]>>>();
  const unexplained: DeliveryAccounting['unexplained'] = [];
  for (const copy of delivered) {
    const message = byId.get(copy.drillId);
    const recipient = norm(copy.recipient);
    if (!message) {
      unexplained.push({ drillId: copy.drillId, recipient, queueId: copy.queueId, why: 'no message with this drill id was accepted' });
      continue;
    }
    if (!message.recipients.some((r) => norm(r) === recipient)) {
      unexplained.push({ drillId: copy.drillId, recipient, queueId: copy.queueId, why: 'not an envelope recipient of the message' });
      continue;
    }
    const perRecipient = copies.get(copy.drillId) ?? new Map<string, Map<string | null, number[]>>();
    copies.set(copy.drillId, perRecipient);
    const perQueueId = perRecipient.get(recipient) ?? new Map<string | null, number[]>();
    perRecipient.set(recipient, perQueueId);
    perQueueId.set(copy.queueId, [...(perQueueId.get(copy.queueId) ?? []), copy.deliveredAtMs]);
  }
  const explanation = (times: number[]): number | null => {
    const first = Math.min(...times);
    const last = Math.max(...times);
    return interruptions.atMs.find((at) => at >= first - interruptions.slackMs && at <= last) ?? null;
  };

  const lost: LostMessage[] = [];
  const relayDuplicates: RelayDuplicate[] = [];
  const senderDuplicates: SenderDuplicate[] = [];
  const relayDupMessages = new Set<string>();
  const senderDupMessages = new Set<string>();
  let recipientsExpected = 0;
  let recipientsDelivered = 0;
  let messagesDelivered = 0;

  for (const message of accepted) {
    if (message.queueIds.length === 0) continue; // never accepted: nothing was owed
    const recipients = [...new Set(message.recipients.map(norm))];
    const perRecipient = copies.get(message.drillId);
    const missing: string[] = [];
    const queueIdsSeenAtPrimary = new Set<string | null>();
    for (const recipient of recipients) {
      recipientsExpected += 1;
      const perQueueId = perRecipient?.get(recipient);
      if (!perQueueId || perQueueId.size === 0) {
        missing.push(recipient);
        continue;
      }
      recipientsDelivered += 1;
      for (const [queueId, times] of perQueueId) {
        queueIdsSeenAtPrimary.add(queueId);
        if (times.length > 1) {
          relayDuplicates.push({ drillId: message.drillId, recipient, queueId, copies: times.length, explainedBy: explanation(times) });
          relayDupMessages.add(message.drillId);
        }
      }
      if (perQueueId.size > 1) {
        senderDuplicates.push({ drillId: message.drillId, recipient, queueIds: [...perQueueId.keys()] });
      }
    }
    if (missing.length > 0)
      lost.push({ drillId: message.drillId, messageId: message.messageId, recipients: missing, queueIds: message.queueIds });
    else messagesDelivered += 1;

    // Every stored copy beyond the ones the sender was told about must come from a try
    // whose reply it never saw.
    const known = new Set<string | null>(message.queueIds);
    const unknown = [...queueIdsSeenAtPrimary].filter((queueId) => !known.has(queueId));
    if (unknown.length > message.ambiguousTries) {
      for (const queueId of unknown) {
        unexplained.push({
          drillId: message.drillId,
          recipient: '*',
          queueId,
          why: `delivered from a queue id the sender was never given, beyond its ${message.ambiguousTries} ambiguous tries`,
        });
      }
    }
    if (queueIdsSeenAtPrimary.size > 1) senderDupMessages.add(message.drillId);
  }

  return {
    messagesAccepted: accepted.filter((message) => message.queueIds.length > 0).length,
    recipientsExpected,
    recipientsDelivered,
    messagesDelivered,
    lost,
    relayDuplicates,
    relayDuplicateMessages: relayDupMessages.size,
    unexplainedRelayDuplicates: relayDuplicates.filter((duplicate) => duplicate.explainedBy === null),
    senderDuplicates,
    senderDuplicateMessages: senderDupMessages.size,
    unexplained,
  };
}
