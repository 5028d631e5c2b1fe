// Message records in memory.
import { uniqueRecipients } from '../../../lambdas/core/addresses.ts';
import type { MessageRecord } from '../../../lambdas/core/model.ts';
import { isLive } from '../../../lambdas/core/retention.ts';
import type { MessageRecords } from '../../../lambdas/ports/message-records.ts';
import type { MemoryIndexState } from './state.ts';

export class MemoryMessageRecords implements MessageRecords {
  constructor(private readonly state: MemoryIndexState) {}

  async putMessage(record: MessageRecord): Promise<MessageRecord> {
    const existing = this.state.messages.get(record.sesMessageId);
    const stored = existing
      ? { ...existing, envelopeRecipients: uniqueRecipients([...existing.envelopeRecipients, ...record.envelopeRecipients]) }
      : structuredClone(record);
    this.state.messages.set(record.sesMessageId, stored);
    return structuredClone(stored);
  }

  async getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    const record = this.state.messages.get(sesMessageId);
    return record && isLive(record, now) ? structuredClone(record) : null;
  }
}
