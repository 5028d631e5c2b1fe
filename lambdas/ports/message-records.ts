// Port: one record per received or sent message, keyed by its SES message id.
import type { MessageRecord } from '../core/model.ts';

export interface MessageRecords {
  /** Writes the message record; an existing one is kept as it is (idempotent). */
  putMessage(record: MessageRecord): Promise<void>;
  getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null>;
}
