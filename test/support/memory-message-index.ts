// An in-memory MessageIndex with the same semantics as the DynamoDB adapter,
// for fast use-case tests. The adapter contract tests run against both.
import { addressOfMailbox, normalizeAddress, normalizeMessageId } from '../../lambdas/core/addresses.ts';
import { InvalidInputError, NotFoundError } from '../../lambdas/core/errors.ts';
import {
  checkPageLimit,
  decodeCursor,
  encodeCursor,
  isFolder,
  mailboxPosition,
  matchesPageQuery,
  normalizeSearch,
} from '../../lambdas/core/mailbox.ts';
import type { DeliveryAttempt, DeliveryState, DeliveryStateName, MailboxEntry, MessageRecord } from '../../lambdas/core/model.ts';
import { isLive } from '../../lambdas/core/retention.ts';
import { cursorPosition, matchesMessageSearch, positionCursor, searchLookup, searchPosition } from '../../lambdas/core/trace.ts';
import type {
  Folder,
  LeaseResult,
  MailboxPage,
  MailboxPageQuery,
  MessageIndex,
  MessageSearchPage,
  MessageSearchQuery,
  ReceivedRangePage,
  ReceivedRangeQuery,
  ReceivedRef,
  TraceQuery,
} from '../../lambdas/ports/message-index.ts';

interface Gate {
  owner: string;
  until: number;
  done: boolean;
}

export const MAX_STORED_ATTEMPTS = 50;

export class MemoryMessageIndex implements MessageIndex {
  readonly addresses = new Map<string, string>();
  readonly messages = new Map<string, MessageRecord>();
  readonly entries = new Map<string, MailboxEntry>();
  readonly deliveries = new Map<string, DeliveryState>();
  readonly gates = new Map<string, Gate>();

  async mailboxFor(address: string): Promise<string | null> {
    return this.addresses.get(normalizeAddress(address)) ?? null;
  }

  async putAddress(address: string, mailbox: string): Promise<void> {
    this.addresses.set(normalizeAddress(address), normalizeAddress(mailbox));
  }

  async putMessage(record: MessageRecord): Promise<void> {
    if (!this.messages.has(record.sesMessageId)) this.messages.set(record.sesMessageId, structuredClone(record));
  }

  async getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    const record = this.messages.get(sesMessageId);
    return record && isLive(record, now) ? structuredClone(record) : null;
  }

  async putMailboxEntry(entry: MailboxEntry): Promise<void> {
    const key = entryKey(entry.mailbox, entry.sesMessageId);
    if (!this.entries.has(key)) this.entries.set(key, structuredClone(entry));
  }

  async listMailbox(mailbox: string, now: Date, limit: number): Promise<MailboxEntry[]> {
    const wanted = normalizeAddress(mailbox);
    return [...this.entries.values()]
      .filter((entry) => entry.mailbox === wanted && isLive(entry, now))
      .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt))
      .slice(0, limit)
      .map((entry) => structuredClone(entry));
  }

  async listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage> {
    checkPageLimit(query.limit);
    const before = decodeCursor(query.cursor);
    const needle = normalizeSearch(query.search);
    const wanted = normalizeAddress(mailbox);
    const matching = [...this.entries.values()]
      .filter((entry) => normalizeAddress(entry.mailbox) === wanted)
      .filter((entry) => before === null || mailboxPosition(entry) < before)
      .filter((entry) => matchesPageQuery(entry, query, needle, now))
      .sort((a, b) => (mailboxPosition(a) < mailboxPosition(b) ? 1 : -1));
    const entries = matching.slice(0, query.limit).map((entry) => structuredClone(entry));
    const last = entries.at(-1);
    return { entries, nextCursor: matching.length > query.limit && last ? encodeCursor(mailboxPosition(last)) : null };
  }

  async getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null> {
    const entry = this.entries.get(entryKey(mailbox, sesMessageId));
    return entry && isLive(entry, now) ? structuredClone(entry) : null;
  }

  async updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void> {
    if (changes.folder !== undefined && !isFolder(changes.folder)) throw new InvalidInputError('unknown folder');
    const entry = this.entries.get(entryKey(mailbox, sesMessageId));
    if (!entry) throw new NotFoundError(`no entry ${sesMessageId} in ${mailbox}`);
    if (changes.read !== undefined) entry.read = changes.read;
    if (changes.folder !== undefined) entry.folder = changes.folder;
  }

  async createDeliveryState(state: DeliveryState): Promise<void> {
    const key = `${state.sesMessageId}|${normalizeAddress(state.recipient)}`;
    if (!this.deliveries.has(key)) this.deliveries.set(key, structuredClone(state));
  }

  async getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]> {
    return [...this.deliveries.values()]
      .filter((state) => state.sesMessageId === sesMessageId && isLive(state, now))
      .map((state) => structuredClone(state));
  }

  async recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
  ): Promise<void> {
    const key = `${sesMessageId}|${normalizeAddress(recipient)}`;
    const existing = this.deliveries.get(key);
    if (!existing) throw new Error(`no delivery state for ${key}`);
    existing.attempts = [...existing.attempts, attempt].slice(-MAX_STORED_ATTEMPTS);
    existing.attemptCount += 1;
    existing.state = state;
    existing.lastReply = attempt.response;
    existing.updatedAt = attempt.at;
    existing.reason = reason;
  }

  async acquireOnce(key: string, owner: string, now: Date, leaseMs: number): Promise<LeaseResult> {
    const gate = this.gates.get(key);
    if (gate?.done) return 'done';
    if (gate && gate.owner !== owner && gate.until > now.getTime()) return 'busy';
    this.gates.set(key, { owner, until: now.getTime() + leaseMs, done: false });
    return 'acquired';
  }

  async completeOnce(key: string, owner: string): Promise<void> {
    const gate = this.gates.get(key);
    if (gate && gate.owner === owner) gate.done = true;
  }

  async releaseOnce(key: string, owner: string): Promise<void> {
    const gate = this.gates.get(key);
    if (gate && gate.owner === owner && !gate.done) this.gates.delete(key);
  }

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
    return [...this.messages.values()]
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
    const received = new Set([...this.deliveries.values()].filter((state) => isLive(state, now)).map((state) => state.sesMessageId));
    const matching = [...this.messages.values()]
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
      for (const entry of this.entries.values()) {
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
      for (const state of this.deliveries.values()) {
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

  async recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void> {
    const existing = this.deliveries.get(`${sesMessageId}|${normalizeAddress(recipient)}`);
    if (!existing) return;
    existing.attempts = [...existing.attempts, attempt].slice(-MAX_STORED_ATTEMPTS);
    existing.attemptCount += 1;
    existing.lastReply = attempt.response;
    existing.updatedAt = attempt.at;
    if (attempt.outcome === 'delivered') {
      existing.state = 'delivered';
      existing.reason = null;
    }
  }
}

function entryKey(mailbox: string, sesMessageId: string): string {
  return `${normalizeAddress(mailbox)}|${sesMessageId}`;
}
