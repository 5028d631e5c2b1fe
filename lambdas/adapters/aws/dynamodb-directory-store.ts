// The synced directory in the message table, next to the messages: address items, one item
// per user in 16 shards (read with one Query per shard), and the sync state. Why the shards
// and how writes are batched: docs/design.md §10.1.
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keyPart, messageTableKeys } from '../../contract/message-table.ts';
import { isMailAddress, normalizeAddress } from '../../core/addresses.ts';
import { addressesOf, DirectoryError } from '../../core/directory.ts';
import { RetryableError } from '../../core/errors.ts';
import type { AddressAssignment, DirectoryUser } from '../../core/model.ts';
import type { DirectoryState, DirectoryStore } from '../../ports/directory.ts';
import { type BatchRetry, batchWriteAll, type DynamoTable, isConditionFailure, openTable, type WriteRequest } from './dynamodb-toolkit.ts';

export const DIRECTORY_SHARDS = 16;
const DEFAULT_CONCURRENCY = 8;
const USER_PREFIX = 'USER#';
const WRITE_RETRY: BatchRetry = {
  rounds: 12,
  maxDelayMs: 2000,
  giveUp: (unprocessed) => new RetryableError(`${unprocessed} directory items not written (throttled); run the sync again`),
};

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

export class DynamoDbDirectoryStore implements DirectoryStore {
  private readonly table: DynamoTable;
  private readonly concurrency: number;
  private readonly pageSize: number | undefined;

  constructor(options: DynamoDbDirectoryStoreOptions) {
    this.table = openTable(options.client, options.tableName);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.pageSize = options.queryPageSize;
  }

  async readState(): Promise<DirectoryState> {
    const shards = Array.from({ length: DIRECTORY_SHARDS }, (_, shard) => shard);
    const [parts, state] = await Promise.all([
      Promise.all(shards.map((shard) => this.readShard(shard))),
      this.table.doc.send(new GetCommand({ TableName: this.table.name, Key: directoryKeys.state(), ConsistentRead: true })),
    ]);
    const users = parts.flat().sort((a, b) => (a.mailbox < b.mailbox ? -1 : a.mailbox > b.mailbox ? 1 : 0));
    return { users, interrupted: state.Item?.writing === true };
  }

  async beginSync(owner: string, now: Date, leaseMs: number): Promise<{ interrupted: boolean }> {
    try {
      const result = await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
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
      if (!isConditionFailure(error)) throw error;
      const { Item: state } = await this.table.doc.send(
        new GetCommand({ TableName: this.table.name, Key: directoryKeys.state(), ConsistentRead: true }),
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

  async hasSynced(): Promise<boolean> {
    // finishSync's lastSyncAt: one item read, where a look at the users would read all shards.
    const state = await this.table.doc.send(new GetCommand({ TableName: this.table.name, Key: directoryKeys.state() }));
    return typeof state.Item?.lastSyncAt === 'string';
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
    const { Item: entry } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.name, Key: messageTableKeys.address(normalized), ConsistentRead: true }),
    );
    if (typeof entry?.mailbox !== 'string') return null;
    const { Item: item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.name, Key: directoryKeys.user(entry.mailbox), ConsistentRead: true }),
    );
    const user = item ? toUser(item) : null;
    // An address item pointing at a mailbox does not make the mailbox's owner the owner
    // of that address: it has to be one of their own addresses.
    return user && addressesOf(user).includes(normalized) ? user : null;
  }

  private async readShard(shard: number): Promise<DirectoryUser[]> {
    const users: DirectoryUser[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.doc.send(
        new QueryCommand({
          TableName: this.table.name,
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
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: directoryKeys.state(),
          UpdateExpression: expression,
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ...values, ':owner': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new DirectoryError('DIRECTORY_BUSY', `the sync lease of ${owner} ran out and another sync took over`, { cause: error });
    }
  }

  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    await batchWriteAll(this.table, requests, WRITE_RETRY, this.concurrency);
  }
}

/** A stored user item as DirectoryUser; null for an item that is not one (never trusted blindly). */
function toUser(item: Item): DirectoryUser | null {
  const { id, mailbox, displayName, aliases, kind, disabled, admin } = item;
  if (typeof id !== 'string' || typeof mailbox !== 'string' || typeof displayName !== 'string') return null;
  if (!Array.isArray(aliases) || !aliases.every((alias) => typeof alias === 'string')) return null;
  if ((kind !== 'user' && kind !== 'shared') || typeof disabled !== 'boolean' || typeof admin !== 'boolean') return null;
  const { mobile, privateEmail } = item;
  return {
    id,
    mailbox,
    displayName,
    aliases: [...(aliases as string[])],
    kind,
    disabled,
    admin,
    // Items written before the fields existed have neither.
    ...(typeof mobile === 'string' && { mobile }),
    ...(typeof privateEmail === 'string' && { privateEmail }),
  };
}
