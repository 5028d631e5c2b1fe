// Port: one record per received or sent message, keyed by its SES message id.
import type { MessageRecord } from '../core/model.ts';

export interface MessageRecords {
  /**
   * Writes the record if there is none. If there is, only its envelope recipients change:
   * it gains those of `record` it lacks (comparison form; its own first, then the new ones
   * in their order), all else is kept — one message that several receipt rules delivered
   * comes as one notification per rule (design.md §12.20). Concurrent puts lose no
   * recipient. Returns the record as stored afterwards.
   */
  putMessage(record: MessageRecord): Promise<MessageRecord>;
  getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null>;
}
