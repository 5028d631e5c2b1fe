// Delivery states on the message table (MSG#<id> / DLV#<recipient>), one per
// envelope recipient. Attempts keep the last MAX_STORED_ATTEMPTS; response texts are
// cut at MAX_REPLY_BYTES, so an item stays well below 400 KB. An attempt is appended
// with a read-modify-write guarded by attemptCount (it grows by one per attempt, so
// it is a version): a concurrent writer makes the condition fail and we re-read.
import { PutCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import { normalizeAddress } from '../../core/addresses.ts';
import { InvalidInputError, RetryableError } from '../../core/errors.ts';
import type { DeliveryAttempt, DeliveryState, DeliveryStateName } from '../../core/model.ts';
import { dayOf } from '../../core/trace.ts';
import { type DeliveryLog, MAX_STORED_ATTEMPTS } from '../../ports/delivery-log.ts';
import { type DynamoTable, type Item, isConditionFailure, putIfAbsent, queryLive, updateVersioned } from './dynamodb-toolkit.ts';

/** SMTP replies stored per attempt (and lastReply/reason) are cut to this many UTF-8 bytes. */
export const MAX_REPLY_BYTES = 2048;
const VERSIONED_WRITE_TRIES = 40;

export class DynamoDbDeliveryLog implements DeliveryLog {
  /** Day-lookup writes in flight, by item key: the states of one message created at once share one. */
  private readonly dayWrites = new Map<string, Promise<unknown>>();

  constructor(
    private readonly table: DynamoTable,
    /** Items per Query page; unset means DynamoDB's own 1 MB pages. */
    private readonly pageSize: number | undefined,
  ) {}

  async createDeliveryState(state: DeliveryState): Promise<boolean> {
    // The day lookup marks received mail (Sent copies get no delivery states). Written with
    // the state and on every re-ingest, so a crash in between is repaired; a lookup whose
    // state is not written yet lists a message whose record is (ingest writes it first).
    const [created] = await Promise.all([
      putIfAbsent(this.table, {
        ...keys.delivery(state.sesMessageId, normalizeAddress(state.recipient)),
        type: 'delivery',
        sesMessageId: state.sesMessageId,
        recipient: state.recipient,
        state: state.state,
        receivedAt: state.receivedAt,
        expiresAt: state.expiresAt,
        attempts: state.attempts.slice(-MAX_STORED_ATTEMPTS).map(capAttempt),
        attemptCount: state.attemptCount,
        lastReply: capNullable(state.lastReply),
        updatedAt: state.updatedAt,
        reason: capNullable(state.reason),
        part: state.part,
      }),
      this.writeDayLookup(state),
    ]);
    return created;
  }

  /**
   * One message's recipients share one day lookup: states created at once (ingest) wait on
   * one PutItem, not one each. Forgotten when written, so a later call writes it again.
   */
  private writeDayLookup(state: DeliveryState): Promise<unknown> {
    const day = dayOf(state.receivedAt);
    const key = keys.lookup(state.sesMessageId, 'DAY', day);
    const name = `${key.pk}\n${key.sk}`;
    const inFlight = this.dayWrites.get(name);
    if (inFlight) return inFlight;
    const write = this.table.doc
      .send(
        new PutCommand({
          TableName: this.table.name,
          Item: {
            ...key,
            type: 'lookup',
            [MESSAGE_TABLE.lookupIndex.partitionKey]: keys.lookupIndexPartition('DAY', day),
            [MESSAGE_TABLE.lookupIndex.sortKey]: keys.lookupIndexSort(state.receivedAt, state.sesMessageId),
            expiresAt: state.expiresAt,
          },
        }),
      )
      .finally(() => this.dayWrites.delete(name));
    this.dayWrites.set(name, write);
    return write;
  }

  async getDeliveryStates(sesMessageId: string, now: Date): Promise<DeliveryState[]> {
    const states: DeliveryState[] = [];
    const pages = queryLive(
      this.table,
      {
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': keys.messagePartition(sesMessageId), ':prefix': 'DLV#' },
        ConsistentRead: true,
      },
      now,
      this.pageSize,
    );
    for await (const page of pages) states.push(...page.map(toDeliveryState));
    return states;
  }

  async recordDeliveryAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    state: DeliveryStateName,
    reason: string | null,
    read?: DeliveryState,
  ): Promise<void> {
    await this.appendAttempt(sesMessageId, recipient, attempt, () => ({ state, reason: capNullable(reason) }), true, read);
  }

  async recordExtraAttempt(sesMessageId: string, recipient: string, attempt: DeliveryAttempt): Promise<void> {
    const delivered = attempt.outcome === 'delivered';
    await this.appendAttempt(
      sesMessageId,
      recipient,
      attempt,
      (current) => ({ state: delivered ? 'delivered' : current.state, reason: delivered ? null : current.reason }),
      false,
    );
  }

  /**
   * Appends the attempt and sets state and reason as `next` says; a missing state throws when
   * `required`, else nothing is written. From the state the caller `read`, the versioned write
   * goes first without a GetItem (one request, no read unit); when it was stale the version
   * check refuses it and the usual read-modify-write follows.
   */
  private async appendAttempt(
    sesMessageId: string,
    recipient: string,
    attempt: DeliveryAttempt,
    next: (current: DeliveryState) => { state: DeliveryStateName; reason: string | null },
    required: boolean,
    read?: DeliveryState,
  ): Promise<void> {
    const stored = capAttempt(attempt);
    const key = keys.delivery(sesMessageId, normalizeAddress(recipient));
    const update = (current: DeliveryState): Omit<UpdateCommandInput, 'TableName' | 'Key'> => {
      const { state, reason } = next(current);
      return {
        UpdateExpression:
          'SET #attempts = :attempts, #count = :next, #state = :state, #lastReply = :lastReply, #updatedAt = :updatedAt, #reason = :reason',
        ConditionExpression: '#count = :count',
        ExpressionAttributeNames: {
          '#attempts': 'attempts',
          '#count': 'attemptCount',
          '#state': 'state',
          '#lastReply': 'lastReply',
          '#updatedAt': 'updatedAt',
          '#reason': 'reason',
        },
        ExpressionAttributeValues: {
          ':attempts': [...current.attempts, stored].slice(-MAX_STORED_ATTEMPTS),
          ':count': current.attemptCount,
          ':next': current.attemptCount + 1,
          ':state': state,
          // A note about the sender's report is no reply of the primary's (model.ts DeliveryAttempt.kind).
          ':lastReply': attempt.kind === 'report' ? current.lastReply : stored.response,
          ':updatedAt': attempt.at,
          ':reason': reason,
        },
      };
    };
    const isThisState = read?.sesMessageId === sesMessageId && normalizeAddress(read.recipient) === normalizeAddress(recipient);
    if (read && isThisState) {
      try {
        await this.table.doc.send(new UpdateCommand({ ...update(read), TableName: this.table.name, Key: key }));
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    const change = (item: Item | undefined): Omit<UpdateCommandInput, 'TableName' | 'Key'> | null => {
      if (item) return update(toDeliveryState(item));
      if (required) throw new InvalidInputError(`no delivery state for ${sesMessageId} / ${recipient}`);
      return null;
    };
    await updateVersioned(
      this.table,
      key,
      change,
      VERSIONED_WRITE_TRIES,
      () => new RetryableError(`delivery state ${sesMessageId} / ${recipient} kept changing under us`),
    );
  }
}

function toDeliveryState(item: Item): DeliveryState {
  return {
    sesMessageId: item.sesMessageId as string,
    recipient: item.recipient as string,
    state: item.state as DeliveryStateName,
    receivedAt: item.receivedAt as string,
    expiresAt: item.expiresAt as number,
    attempts: (item.attempts ?? []) as DeliveryAttempt[],
    attemptCount: item.attemptCount as number,
    lastReply: (item.lastReply ?? null) as string | null,
    updatedAt: item.updatedAt as string,
    reason: (item.reason ?? null) as string | null,
    ...(typeof item.part === 'string' && { part: item.part }),
  };
}

function capAttempt(attempt: DeliveryAttempt): DeliveryAttempt {
  return { ...attempt, response: capUtf8(attempt.response) };
}

function capNullable(text: string | null): string | null {
  return text === null ? null : capUtf8(text);
}

function capUtf8(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_REPLY_BYTES) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > MAX_REPLY_BYTES) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
