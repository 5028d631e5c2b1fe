// The synced directory in the message table (message-table.ts), next to the messages:
//
//   ADDR#<address>  / ADDR            address → mailbox, the same item MessageIndex's
//                                     mailboxFor/putAddress read and write (ingest)
//   DIR#<shard>     / USER#<mailbox>  one directory user (DirectoryUser)
//   DIR#STATE       / STATE           the sync lease and the "writing" mark
//
// User items live in 16 partitions (shard = first hex digit of sha256(mailbox))
// rather than one per user, so the complete state is read with one paginated Query
// per shard (16 in parallel, ~1 MB pages) instead of one read per user or a Scan of
// the whole table; 16 partitions also spread a 10,000-user first sync over enough
// write capacity (one partition takes ~1,000 writes/s). userForAddress costs two
// GetItems: the address item, then the user item of its mailbox.
//
// Writes go out as BatchWriteItem (25 requests each), a bounded number in flight,
// unprocessed items retried with backoff. No transactions (dynalite has none); the
// order of the writes is core/directory.ts's business.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { keyPart, messageTableKeys } from '../../contract/message-table.ts';
import { normalizeAddress } from '../../core/addresses.ts';
import { addressesOf, DirectoryError, isMailAddress } from '../../core/directory.ts';
import { RetryableError } from '../../core/errors.ts';
import type { AddressAssignment, DirectoryUser } from '../../core/model.ts';
import type { DirectoryState, DirectoryStore } from '../../ports/directory.ts';
import { errorName } from './message-table.ts';

export const DIRECTORY_SHARDS = 16;
const BATCH_WRITE_SIZE = 25;
const BATCH_ROUNDS = 12;
const DEFAULT_CONCURRENCY = 8;
const USER_PREFIX = 'USER#';

export const directoryKeys = {
  shardPartition: (shard: number) => `DIR#${shard.toString(16)}`,
  user: (mailbox: string) => ({ pk: directoryKeys.shardPartition(shardOf(mailbox)), sk: `${USER_PREFIX}${keyPart(mailbox)}` }),
  state: () => ({ pk: 'DIR#STATE', sk: 'STATE' }),
} as const;

export function shardOf(mailbox: string): number {
  return createHash('sha256').update(mailbox, 'utf8').digest()[0]! % DIRECTORY_SHARDS;
}

export interface DynamoDbDirectoryStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** BatchWriteItem calls in flight at once. Default 8. */
  concurrency?: number;
  /** Items per Query page; unset means DynamoDB's 1 MB pages. Tests set it small. */
  queryPageSize?: number;
}

type Item = Record<string, unknown>;
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

export class DynamoDbDirectoryStore implements DirectoryStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly concurrency: number;
  private readonly pageSize: number | undefined;

  constructor(options: DynamoDbDirectoryStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = options.tableName;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.pageSize = options.queryPageSize;
  }

  async readState(): Promise<DirectoryState> {
    const shards = Array.from({ length: DIRECTORY_SHARDS }, (_, shard) => shard);
    const [parts, state] = await Promise.all([
      Promise.all(shards.map((shard) => this.readShard(shard))),
      this.doc.send(new GetCommand({ TableName: this.table, Key: directoryKeys.state(), ConsistentRead: true })),
    ]);
    const users = parts.flat().sort((a, b) => (a.mailbox < b.mailbox ? -1 : a.mailbox > b.mailbox ? 1 : 0));
    return { users, interrupted: state.Item?.writing === true };
  }

  async beginSync(owner: string, now: Date, leaseMs: number): Promise<{ interrupted: boolean }> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: directoryKeys.state(),
          UpdateExpression: 'SET #type = :type, leaseOwner = :owner, leaseUntil = :until',
          ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: {
            ':type': 'directory-state',
            ':owner': owner,
            ':until': now.getTime() + leaseMs,
            ':now': now.getTime(),
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { interrupted: result.Attributes?.writing === true };
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      const { Item: state } = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: directoryKeys.state(), ConsistentRead: true }),
      );
      const until = typeof state?.leaseUntil === 'number' ? new Date(state.leaseUntil).toISOString() : 'unknown';
      throw new DirectoryError(
        'DIRECTORY_BUSY',
        `another directory sync is running (${String(state?.leaseOwner ?? 'unknown')}, lease until ${until}); nothing was changed`,
        { cause: error },
      );
    }
  }

  async markWriting(owner: string): Promise<void> {
    await this.updateOwnState(owner, 'SET writing = :true', { ':true': true });
  }

  async finishSync(owner: string, now: Date): Promise<void> {
    await this.updateOwnState(owner, 'SET writing = :false, lastSyncAt = :at REMOVE leaseOwner, leaseUntil', {
      ':false': false,
      ':at': now.toISOString(),
    });
  }

  async releaseSync(owner: string): Promise<void> {
    await this.updateOwnState(owner, 'REMOVE leaseOwner, leaseUntil', {});
  }

  async putAddresses(entries: readonly AddressAssignment[]): Promise<void> {
    await this.batchWrite(
      entries.map(({ address, mailbox }) => ({
        PutRequest: { Item: { ...messageTableKeys.address(address), type: 'address', address, mailbox } },
      })),
    );
  }

  async deleteAddresses(addresses: readonly string[]): Promise<void> {
    await this.batchWrite(addresses.map((address) => ({ DeleteRequest: { Key: messageTableKeys.address(address) } })));
  }

  async putUsers(users: readonly DirectoryUser[]): Promise<void> {
    const syncedAt = new Date().toISOString();
    await this.batchWrite(
      users.map((user) => ({ PutRequest: { Item: { ...directoryKeys.user(user.mailbox), type: 'directory-user', ...user, syncedAt } } })),
    );
  }

  async deleteUsers(mailboxes: readonly string[]): Promise<void> {
    await this.batchWrite(mailboxes.map((mailbox) => ({ DeleteRequest: { Key: directoryKeys.user(mailbox) } })));
  }

  async userForAddress(address: string): Promise<DirectoryUser | null> {
    const normalized = normalizeAddress(address);
    if (!isMailAddress(normalized)) return null;
    const { Item: entry } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: messageTableKeys.address(normalized), ConsistentRead: true }),
    );
    if (typeof entry?.mailbox !== 'string') return null;
    const { Item: item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: directoryKeys.user(entry.mailbox), ConsistentRead: true }),
    );
    const user = item ? toUser(item) : null;
    // An address item written by something else (putAddress) does not make its
    // mailbox's owner the owner of that address.
    return user && addressesOf(user).includes(normalized) ? user : null;
  }

  private async readShard(shard: number): Promise<DirectoryUser[]> {
    const users: DirectoryUser[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': directoryKeys.shardPartition(shard), ':prefix': USER_PREFIX },
          ConsistentRead: true,
          ...(this.pageSize !== undefined && { Limit: this.pageSize }),
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of page.Items ?? []) {
        const user = toUser(item);
        if (user) users.push(user);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return users;
  }

  private async updateOwnState(owner: string, expression: string, values: Record<string, unknown>): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: directoryKeys.state(),
          UpdateExpression: expression,
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ...values, ':owner': owner },
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      throw new DirectoryError('DIRECTORY_BUSY', `the sync lease of ${owner} ran out and another sync took over`, { cause: error });
    }
  }

  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    const batches: WriteRequest[][] = [];
    for (let start = 0; start < requests.length; start += BATCH_WRITE_SIZE) batches.push(requests.slice(start, start + BATCH_WRITE_SIZE));
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next]!;
        next += 1;
        await this.writeBatch(batch);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
  }

  private async writeBatch(batch: WriteRequest[]): Promise<void> {
    let pending = batch;
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= BATCH_ROUNDS) throw new RetryableError(`${pending.length} directory items not written (throttled); run the sync again`);
      if (round > 0) await sleep(Math.min(2000, 25 * 2 ** round));
      const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
      pending = (result.UnprocessedItems?.[this.table] ?? []) as WriteRequest[];
    }
  }
}

/** A stored user item as DirectoryUser; null for an item that is not one (never trusted blindly). */
function toUser(item: Item): DirectoryUser | null {
  const { id, mailbox, displayName, aliases, kind, disabled, admin } = item;
  if (typeof id !== 'string' || typeof mailbox !== 'string' || typeof displayName !== 'string') return null;
  if (!Array.isArray(aliases) || !aliases.every((alias) => typeof alias === 'string')) return null;
  if ((kind !== 'user' && kind !== 'shared') || typeof disabled !== 'boolean' || typeof admin !== 'boolean') return null;
  return { id, mailbox, displayName, aliases: [...(aliases as string[])], kind, disabled, admin };
}
