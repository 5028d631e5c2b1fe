// The DynamoDB shapes every adapter on the message table shares, defined once: the
// document client as they all configure it, condition failures, batch writes and
// reads that resend what DynamoDB left unprocessed (throttling), the versioned
// read-modify-write, a query of live items and the read budget of one call.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { MESSAGE_TABLE } from '../../contract/message-table.ts';
import { isLive } from '../../core/retention.ts';
import { errorName } from './message-table.ts';

export type Item = Record<string, unknown>;
export type ItemKey = { pk: string; sk: string };
export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];
export type QueryInput = Omit<QueryCommandInput, 'TableName'>;

const BATCH_WRITE_SIZE = 25;
export const BATCH_GET_SIZE = 100;

/** The table an adapter works on, through a document client that drops undefined attributes. */
export interface DynamoTable {
  doc: DynamoDBDocumentClient;
  name: string;
}

export function openTable(client: DynamoDBClient, name: string): DynamoTable {
  return { doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), name };
}

export function isConditionFailure(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
}

export async function ignoringConditionFailure(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

export async function getItem(table: DynamoTable, key: ItemKey): Promise<Item | undefined> {
  const { Item: item } = await table.doc.send(new GetCommand({ TableName: table.name, Key: key, ConsistentRead: true }));
  return item;
}

/** true when written, false when an item with this key already existed. */
export async function putIfAbsent(table: DynamoTable, item: Item): Promise<boolean> {
  try {
    await table.doc.send(
      new PutCommand({
        TableName: table.name,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** An item carrying the table's TTL attribute that has not run out (TTL deletes late). */
export function isLiveItem(item: Item, now: Date): boolean {
  return isLive({ expiresAt: Number(item[MESSAGE_TABLE.ttlAttribute]) }, now);
}

/** How often a batch is resent while DynamoDB leaves part of it unprocessed, and what is thrown then. */
export interface BatchRetry {
  rounds: number;
  /** The backoff doubles from 50 ms up to this. */
  maxDelayMs: number;
  giveUp(unprocessed: number): Error;
}

/** Every request, BATCH_WRITE_SIZE per BatchWriteItem, `concurrency` of them in flight. */
export async function batchWriteAll(table: DynamoTable, requests: WriteRequest[], retry: BatchRetry, concurrency = 1): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let start = 0; start < requests.length; start += BATCH_WRITE_SIZE) batches.push(requests.slice(start, start + BATCH_WRITE_SIZE));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next]!;
      next += 1;
      let pending = batch;
      for (let round = 0; pending.length > 0; round += 1) {
        if (round >= retry.rounds) throw retry.giveUp(pending.length);
        if (round > 0) await sleep(Math.min(retry.maxDelayMs, 25 * 2 ** round));
        const result = await table.doc.send(new BatchWriteCommand({ RequestItems: { [table.name]: pending } }));
        pending = (result.UnprocessedItems?.[table.name] ?? []) as WriteRequest[];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), batches.length) }, worker));
}

/** The items of up to BATCH_GET_SIZE keys (missing ones are absent), read consistently; `onRequest` sees each BatchGetItem. */
export async function batchGet(table: DynamoTable, keys: ItemKey[], retry: BatchRetry, onRequest?: () => void): Promise<Item[]> {
  const items: Item[] = [];
  let pending = keys;
  for (let round = 0; pending.length > 0; round += 1) {
    if (round >= retry.rounds) throw retry.giveUp(pending.length);
    if (round > 0) await sleep(Math.min(retry.maxDelayMs, 25 * 2 ** round));
    onRequest?.();
    const result = await table.doc.send(new BatchGetCommand({ RequestItems: { [table.name]: { Keys: pending, ConsistentRead: true } } }));
    items.push(...(result.Responses?.[table.name] ?? []));
    pending = (result.UnprocessedKeys?.[table.name]?.Keys ?? []) as ItemKey[];
  }
  return items;
}

/**
 * A read-modify-write guarded by a version the change itself advances: `change` sees
 * the item (undefined when there is none) and returns the conditional update, or null
 * for nothing to write. A concurrent writer makes the condition fail: back off a
 * little, with jitter, and re-read; after `tries` rounds `giveUp` is thrown.
 */
export async function updateVersioned(
  table: DynamoTable,
  key: ItemKey,
  change: (item: Item | undefined) => Omit<UpdateCommandInput, 'TableName' | 'Key'> | null,
  tries: number,
  giveUp: () => Error,
): Promise<void> {
  for (let round = 0; round < tries; round += 1) {
    const update = change(await getItem(table, key));
    if (update === null) return;
    try {
      await table.doc.send(new UpdateCommand({ ...update, TableName: table.name, Key: key }));
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await sleep(Math.random() * 5 * Math.min(round + 1, 10));
    }
  }
  throw giveUp();
}

/** Query pages with live items only; FilterExpression applies after Limit, so pages may be empty. */
export async function* queryLive(table: DynamoTable, input: QueryInput, now: Date, pageSize?: number): AsyncGenerator<Item[]> {
  const names = { ...input.ExpressionAttributeNames, '#expiresAt': MESSAGE_TABLE.ttlAttribute };
  const values = { ...input.ExpressionAttributeValues, ':now': Math.floor(now.getTime() / 1000) };
  let startKey: Item | undefined;
  do {
    const page = await table.doc.send(
      new QueryCommand({
        ...input,
        TableName: table.name,
        FilterExpression: '#expiresAt > :now',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ...(pageSize !== undefined && { Limit: pageSize }),
        ...(startKey && { ExclusiveStartKey: startKey }),
      }),
    );
    yield page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** How much one paged call may read before it returns a cursor instead. */
export interface PageBudget {
  /** Items evaluated (DynamoDB's ScannedCount, before the filter); one more may be read to see whether the partition ends. */
  items: number;
  /** Query (and BatchGet) requests. */
  requests: number;
}

/** What one call has read so far against its PageBudget. */
export class ReadBudget {
  private requests = 0;
  private items = 0;
  constructor(private readonly limit: PageBudget) {}
  spend(requests: number, items: number): void {
    this.requests += requests;
    this.items += items;
  }
  spent(): boolean {
    return this.requests >= this.limit.requests || this.items >= this.limit.items;
  }
  itemsLeft(): number {
    return this.limit.items - this.items;
  }
}
