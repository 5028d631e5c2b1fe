// Use case: "did this message reach us, and did Exchange take it?" — messages with
// their per-recipient delivery states, newest first.
import { normalizeAddress, normalizeMessageId } from './addresses.ts';
import { InvalidInputError } from './errors.ts';
import type { DeliveryState, MessageRecord } from './model.ts';
import type { MessageIndex, TraceQuery } from '../ports/message-index.ts';

export interface TracedMessage {
  message: MessageRecord;
  deliveries: DeliveryState[];
}

export async function traceMessages(query: TraceQuery, index: MessageIndex, now: Date): Promise<TracedMessage[]> {
  const criteria = [query.recipient, query.sender, query.messageIdHeader].filter((value) => value !== undefined);
  if (criteria.length !== 1) throw new InvalidInputError('trace needs exactly one of recipient, sender or message id');
  const normalized: TraceQuery = {
    limit: query.limit ?? 100,
    ...(query.recipient !== undefined && { recipient: normalizeAddress(query.recipient) }),
    ...(query.sender !== undefined && { sender: normalizeAddress(query.sender) }),
    ...(query.messageIdHeader !== undefined && { messageIdHeader: normalizeMessageId(query.messageIdHeader) }),
  };
  const messages = await index.findMessages(normalized, now);
  const traced: TracedMessage[] = [];
  for (const message of messages) {
    traced.push({ message, deliveries: await index.getDeliveryStates(message.sesMessageId, now) });
  }
  return traced.sort((a, b) => b.message.receivedAt.localeCompare(a.message.receivedAt));
}
