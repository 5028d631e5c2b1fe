// Message records on the message table (MSG#<id> / META), each with its trace lookup
// items (RCPT/FROM/MID, see message-table.ts). Lookup items are written after the
// record: a crash in between is repaired by the re-ingest, which rewrites them from
// the record already stored. No transactions (dynalite has none).

import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import { RetryableError } from '../../core/errors.ts';
import type { MessageRecord } from '../../core/model.ts';
import { traceLookupsOf } from '../../core/trace.ts';
import type { MessageRecords } from '../../ports/message-records.ts';
import { decodePayload, fitPayload, shrinkRecord } from './dynamodb-payload.ts';
import {
  type BatchRetry,
  batchGet,
  batchWriteAll,
  type DynamoTable,
  getItem,
  isLiveItem,
  putIfAbsent,
  type WriteRequest,
} from './dynamodb-toolkit.ts';

const RETRY = { rounds: 10, maxDelayMs: 1000 } as const;

export class DynamoDbMessageRecords implements MessageRecords {
  constructor(private readonly table: DynamoTable) {}

  async putMessage(record: MessageRecord): Promise<void> {
    const { value, payload } = fitPayload(record, shrinkRecord);
    let stored: MessageRecord = value;
    const written = await putIfAbsent(this.table, {
      ...keys.message(record.sesMessageId),
      type: 'message',
      expiresAt: record.expiresAt,
      ...payload,
    });
    if (!written) {
      const existing = await getItem(this.table, keys.message(record.sesMessageId));
      if (!existing) return;
      stored = decodePayload<MessageRecord>(existing);
    }
    await this.writeLookups(stored);
  }

  async getMessage(sesMessageId: string, now: Date): Promise<MessageRecord | null> {
    const item = await getItem(this.table, keys.message(sesMessageId));
    if (!item || !isLiveItem(item, now)) return null;
    return decodePayload<MessageRecord>(item);
  }

  private async writeLookups(record: MessageRecord): Promise<void> {
    const sortValue = keys.lookupIndexSort(record.receivedAt, record.sesMessageId);
    const requests: WriteRequest[] = traceLookupsOf(record).map(({ kind, value }) => ({
      PutRequest: {
        Item: {
          ...keys.lookup(record.sesMessageId, kind, value),
          type: 'lookup',
          [MESSAGE_TABLE.lookupIndex.partitionKey]: keys.lookupIndexPartition(kind, value),
          [MESSAGE_TABLE.lookupIndex.sortKey]: sortValue,
          expiresAt: record.expiresAt,
        },
      },
    }));
    await batchWriteAll(this.table, requests, {
      ...RETRY,
      giveUp: () => new RetryableError(`lookup items of ${record.sesMessageId} not written (throttled)`),
    });
  }
}

/** The records of up to BATCH_GET_SIZE ids, by id (expired ones included: callers filter). */
export async function readRecords(table: DynamoTable, ids: string[], onRequest?: () => void): Promise<Map<string, MessageRecord>> {
  const retry: BatchRetry = { ...RETRY, giveUp: () => new RetryableError('message records not read (throttled)') };
  const records = new Map<string, MessageRecord>();
  for (const item of await batchGet(
    table,
    ids.map((id) => keys.message(id)),
    retry,
    onRequest,
  )) {
    const record = decodePayload<MessageRecord>(item);
    records.set(record.sesMessageId, record);
  }
  return records;
}
