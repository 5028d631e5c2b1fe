// Message records in memory.
import type { MessageRecord } from '../../../lambdas/core/model.ts';
import { isLive } from '../../../lambdas/core/retention.ts';
import type { MessageRecords } from '../../../lambdas/ports/message-records.ts';
import type { MemoryIndexState } from './state.ts';

export class MemoryMessageRecords implements MessageRecords {
  constructor(private readonly state: MemoryIndexState) {}

  async putMessage(record: MessageRecord): Promise<void> {
    if (!this.state.messages.has(record.sesMessageId)) this.state.messages.set(record.sesMessageId, structuredClone(record));
  }

  async getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    const record = this.state.messages.get(sesMessageId);
    return record && isLive(record, now) ? structuredClone(record) : null;
  }
}
