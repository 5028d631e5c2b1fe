// Trace, admin search and the received-mail list in memory: plain filters over the
// records, entries and delivery states, with the paging semantics of core/trace.ts.
import { addressOfMailbox, normalizeAddress, normalizeMessageId } from '../../../lambdas/core/addresses.ts';
import { InvalidInputError } from '../../../lambdas/core/errors.ts';
import { checkPageLimit, mailboxPosition } from '../../../lambdas/core/mailbox.ts';
import type { MessageRecord } from '../../../lambdas/core/model.ts';
import { isLive } from '../../../lambdas/core/retention.ts';
import { cursorPosition, matchesMessageSearch, positionCursor, searchLookup, searchPosition } from '../../../lambdas/core/trace.ts';
import type {
  MessageSearch,
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
  ReceivedRef,
  TraceQuery,
} from '../../../lambdas/ports/message-search.ts';
import type { MemoryIndexState } from './state.ts';

export class MemoryMessageSearch implements MessageSearch {
  constructor(private readonly state: MemoryIndexState) {}

  async findMessages(query: TraceQuery, now: Date): Promise<MessageRecord[]> {
    const matches = (record: MessageRecord): boolean => {
      if (query.recipient !== undefined) {
        return record.envelopeRecipients.some((recipient) => normalizeAddress(recipient) === query.recipient);
      }
      if (query.sender !== undefined) {
        return (
          normalizeAddress(record.envelopeFrom) === query.sender ||
          record.summary.from.some((from) => addressOfMailbox(from) === query.sender)
        );
      }
      if (query.messageIdHeader !== undefined) {
        return record.summary.messageIdHeader !== null && normalizeMessageId(record.summary.messageIdHeader) === query.messageIdHeader;
      }
      return false;
    };
    return [...this.state.messages.values()]
      .filter((record) => isLive(record, now) && matches(record))
      .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt))
      .slice(0, query.limit ?? 100)
      .map((record) => structuredClone(record));
  }

  async searchMessages(query: MessageSearchQuery, now: Date): Promise<MessageSearchPage> {
    checkPageLimit(query.limit);
    const before = cursorPosition(query.cursor);
    const byLookup = searchLookup(query) !== null;
    if (!byLookup && (query.since === undefined || query.until === undefined)) {
      throw new InvalidInputError('a search without recipient, sender or Message-ID needs since and until');
    }
    // Without a lookup the index reads its day partitions, which hold received mail only.
    const received = new Set([...this.state.deliveries.values()].filter((state) => isLive(state, now)).map((state) => state.sesMessageId));
    const matching = [...this.state.messages.values()]
      .filter((record) => byLookup || received.has(record.sesMessageId))
      .filter((record) => before === null || searchPosition(record) < before)
      .filter((record) => matchesMessageSearch(record, query, now))
      .sort((a, b) => (searchPosition(a) < searchPosition(b) ? 1 : -1));
    const messages = matching.slice(0, query.limit).map((record) => structuredClone(record));
    const last = messages.at(-1);
    return { messages, nextCursor: matching.length > query.limit && last ? positionCursor(searchPosition(last)) : null };
  }

  async listReceived(query: ReceivedRangeQuery, now: Date): Promise<ReceivedRangePage> {
    checkPageLimit(query.limit);
    const after = cursorPosition(query.cursor);
    const refs: Array<ReceivedRef & { position: string }> = [];
    if (query.mailbox !== undefined) {
      const wanted = normalizeAddress(query.mailbox);
      for (const entry of this.state.entries.values()) {
        if (normalizeAddress(entry.mailbox) !== wanted || entry.folder === 'sent' || !isLive(entry, now)) continue;
        refs.push({
          sesMessageId: entry.sesMessageId,
          receivedAt: entry.receivedAt,
          recipients: [...entry.recipients],
          position: mailboxPosition(entry),
        });
      }
    } else {
      const seen = new Set<string>();
      for (const state of this.state.deliveries.values()) {
        if (!isLive(state, now) || seen.has(state.sesMessageId)) continue;
        seen.add(state.sesMessageId);
        refs.push({ sesMessageId: state.sesMessageId, receivedAt: state.receivedAt, recipients: null, position: searchPosition(state) });
      }
    }
    const matching = refs
      .filter((ref) => ref.receivedAt >= query.since && ref.receivedAt < query.until && (after === null || ref.position > after))
      .sort((a, b) => (a.position < b.position ? -1 : 1));
    const page = matching.slice(0, query.limit);
    const last = page.at(-1);
    return {
      messages: page.map(({ position: _position, ...ref }) => ref),
      nextCursor: matching.length > query.limit && last ? positionCursor(last.position) : null,
    };
  }
}
