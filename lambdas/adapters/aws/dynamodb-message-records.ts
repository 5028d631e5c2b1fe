// Message records on the message table (MSG#<id> / META), each with its trace lookup
// items (RCPT/FROM/MID, see message-table.ts). Lookup items are written after the
// record: a crash in between is repaired by the re-ingest, which rewrites them from
// the record already stored. No transactions (dynalite has none). A second put of the
// same message (another receipt rule's notification) merges its envelope recipients in
// with a versioned read-modify-write: the payload may be gzipped, so DynamoDB cannot
// append to the list itself.

import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import { uniqueRecipients } from '../../core/addresses.ts';
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
  type Item,
  isLiveItem,
  putIfAbsent,
  updateVersioned,
  type WriteRequest,
} from './dynamodb-toolkit.ts';

const RETRY = { rounds: 10, maxDelayMs: 1000 } as const;
/** Rounds of the recipients merge against concurrent merges (one per receipt rule, at most a few). */
const MERGE_TRIES = 20;
/** Advanced by every merge; records written before merging existed have none (version 0). */
const VERSION = 'recipientsVersion';

export class DynamoDbMessageRecords implements MessageRecords {
  constructor(private readonly table: DynamoTable) {}

  async putMessage(record: MessageRecord): Promise<MessageRecord> {
    const { value, payload } = fitPayload(record, shrinkRecord);
    const written = await putIfAbsent(this.table, {
      ...keys.message(record.sesMessageId),
      type: 'message',
      expiresAt: record.expiresAt,
      ...payload,
    });
    const stored = written ? value : await this.mergeRecipients(record);
    await this.writeLookups(stored);
    return stored;
  }

  /** The stored record with the recipients of `record` it lacks added; only those change. */
  private async mergeRecipients(record: MessageRecord): Promise<MessageRecord> {
    const key = keys.message(record.sesMessageId);
    let stored: MessageRecord | undefined;
    await updateVersioned(
      this.table,
      key,
      (item: Item | undefined) => {
        // Only the TTL deletes records: the message is past its retention, nothing to merge into.
        if (!item) throw new RetryableError(`message record ${record.sesMessageId} vanished while merging recipients`);
        const current = decodePayload<MessageRecord>(item);
        const recipients = uniqueRecipients([...current.envelopeRecipients, ...record.envelopeRecipients]);
        stored = { ...current, envelopeRecipients: recipients };
        if (recipients.length === current.envelopeRecipients.length) return null;
        const version = Number(item[VERSION] ?? 0);
        const { value, payload } = fitPayload(stored, shrinkRecord);
        stored = value;
        const plain = 'data' in payload;
        return {
          UpdateExpression: `SET #payload = :payload, #version = :next REMOVE #other`,
          ConditionExpression: version === 0 ? 'attribute_not_exists(#version)' : '#version = :current',
          ExpressionAttributeNames: { '#payload': plain ? 'data' : 'dataGz', '#other': plain ? 'dataGz' : 'data', '#version': VERSION },
          ExpressionAttributeValues: {
            ':payload': plain ? payload.data : payload.dataGz,
            ':next': version + 1,
            ...(version !== 0 && { ':current': version }),
          },
        };
      },
      MERGE_TRIES,
      () => new RetryableError(`recipients of ${record.sesMessageId} kept changing under us`),
    );
    if (!stored) throw new RetryableError(`message record ${record.sesMessageId} not merged`);
    return stored;
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
