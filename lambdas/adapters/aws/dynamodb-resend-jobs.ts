// Resend jobs in the message table: one item per job, RESEND#<jobId> / JOB, listed newest
// first through the lookup index. Every change is one UpdateItem (counters by ADD, a step
// counted once by a conditional map entry): docs/design.md §10.1. Behaves like the
// in-memory store; one contract runs on both.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import { InvalidInputError, RetryableError } from '../../core/errors.ts';
import { checkPageLimit, decodeCursor, encodeCursor } from '../../core/mailbox.ts';
import { RESEND_COUNTER_NAMES, RESEND_SKIP_REASONS } from '../../core/resend.ts';
import { isLive } from '../../core/retention.ts';
import type {
  ResendJob,
  ResendJobPage,
  ResendJobState,
  ResendJobStore,
  ResendScope,
  ResendTaskMarks,
  ResendTaskOutcome,
} from '../../ports/resend-jobs.ts';
import { type BatchRetry, batchGet, type DynamoTable, type Item, isConditionFailure, openTable } from './dynamodb-toolkit.ts';

const LIST_REQUESTS = 20;
const READ_RETRY: BatchRetry = { rounds: 10, maxDelayMs: 1000, giveUp: () => new RetryableError('resend jobs not read (throttled)') };

export interface DynamoDbResendJobsOptions {
  client: DynamoDBClient;
  tableName: string;
}

const counterAttribute = (name: string) => `c_${name}`;
const skipAttribute = (reason: string) => `s_${reason}`;

export class DynamoDbResendJobs implements ResendJobStore {
  private readonly table: DynamoTable;

  constructor(options: DynamoDbResendJobsOptions) {
    this.table = openTable(options.client, options.tableName);
  }

  async create(job: ResendJob): Promise<void> {
    const { lookupIndex } = MESSAGE_TABLE;
    const item: Item = {
      ...keys.resendJob(job.id),
      type: 'resend-job',
      [lookupIndex.partitionKey]: keys.resendJobList,
      [lookupIndex.sortKey]: `${job.createdAt}#${job.id}`,
      id: job.id,
      scope: job.scope,
      state: job.state,
      createdBy: job.createdBy,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
      startedAt: job.startedAt ?? undefined,
      finishedAt: job.finishedAt ?? undefined,
      cancelledBy: job.cancelledBy ?? undefined,
      cancelledAt: job.cancelledAt ?? undefined,
      enumerated: job.enumerated,
      enumSeq: job.enumSeq,
      cursor: job.cursor ?? undefined,
      error: job.error ?? undefined,
      expiresAt: job.expiresAt,
      applied: {},
      started: {},
    };
    for (const name of RESEND_COUNTER_NAMES) item[counterAttribute(name)] = job.counters[name];
    for (const reason of RESEND_SKIP_REASONS) item[skipAttribute(reason)] = job.skippedBy[reason];
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.name,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new InvalidInputError(`resend job ${job.id} exists`);
      throw error;
    }
  }

  async get(id: string, now: Date): Promise<ResendJob | null> {
    const { Item: item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.name, Key: keys.resendJob(id), ConsistentRead: true }),
    );
    if (!item) return null;
    const job = toJob(item);
    return isLive(job, now) ? job : null;
  }

  async list(query: { limit: number; cursor?: string | null }, now: Date): Promise<ResendJobPage> {
    checkPageLimit(query.limit);
    const before = decodeCursor(query.cursor);
    const { lookupIndex } = MESSAGE_TABLE;
    const positions: string[] = [];
    let startKey: Item | undefined;
    let requests = 0;
    do {
      requests += 1;
      const page = await this.table.doc.send(
        new QueryCommand({
          TableName: this.table.name,
          IndexName: lookupIndex.name,
          KeyConditionExpression: before === null ? '#gpk = :gpk' : '#gpk = :gpk AND #gsk < :before',
          FilterExpression: '#expiresAt > :now',
          ExpressionAttributeNames: {
            '#gpk': lookupIndex.partitionKey,
            '#expiresAt': MESSAGE_TABLE.ttlAttribute,
            ...(before !== null && { '#gsk': lookupIndex.sortKey }),
          },
          ExpressionAttributeValues: {
            ':gpk': keys.resendJobList,
            ':now': Math.floor(now.getTime() / 1000),
            ...(before !== null && { ':before': before }),
          },
          ScanIndexForward: false,
          Limit: query.limit + 1,
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of page.Items ?? []) positions.push(String(item[lookupIndex.sortKey]));
      startKey = page.LastEvaluatedKey;
    } while (startKey && positions.length <= query.limit && requests < LIST_REQUESTS);
    const wanted = positions.slice(0, query.limit);
    const jobs = await this.getMany(wanted.map((position) => position.slice(position.indexOf('#') + 1)));
    const more = positions.length > query.limit || (startKey !== undefined && wanted.length > 0);
    const last = wanted.at(-1);
    return { jobs: jobs.filter((job) => isLive(job, now)), nextCursor: more && last !== undefined ? encodeCursor(last) : null };
  }

  async markRunning(id: string, at: string): Promise<void> {
    await this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: 'SET #state = :running, #startedAt = if_not_exists(#startedAt, :at), #updatedAt = :at',
      ConditionExpression: '#state = :queued',
      ExpressionAttributeNames: { '#state': 'state', '#startedAt': 'startedAt', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':running': 'running', ':queued': 'queued', ':at': at },
    });
  }

  async checkpoint(
    id: string,
    page: { seq: number; cursor: string | null; added: number; enumerated: boolean; at: string },
  ): Promise<ResendJob | null> {
    return this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: `SET #seq = :next, #enumerated = :enumerated, #updatedAt = :at${page.cursor === null ? '' : ', #cursor = :cursor'} ADD #total :added${page.cursor === null ? ' REMOVE #cursor' : ''}`,
      ConditionExpression: '#seq = :seq',
      ExpressionAttributeNames: {
        '#seq': 'enumSeq',
        '#enumerated': 'enumerated',
        '#updatedAt': 'updatedAt',
        '#cursor': 'cursor',
        '#total': counterAttribute('total'),
      },
      ExpressionAttributeValues: {
        ':seq': page.seq,
        ':next': page.seq + 1,
        ':enumerated': page.enumerated,
        ':at': page.at,
        ':added': page.added,
        ...(page.cursor !== null && { ':cursor': page.cursor }),
      },
      ReturnValues: 'ALL_NEW',
    });
  }

  async stopEnumerating(id: string, at: string): Promise<void> {
    await this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: 'SET #enumerated = :true, #updatedAt = :at',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#enumerated': 'enumerated', '#updatedAt': 'updatedAt', '#pk': 'pk' },
      ExpressionAttributeValues: { ':true': true, ':at': at },
    });
  }

  async getTask(id: string, taskKey: string, now: Date): Promise<ResendTaskMarks | null> {
    const { Item: item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.name, Key: keys.resendJob(id), ConsistentRead: true }),
    );
    if (!item) return null;
    const job = toJob(item);
    if (!isLive(job, now)) return null;
    const applied = mapOf(item.applied)[taskKey];
    return {
      job,
      applied: Array.isArray(applied) ? { retry: applied.map(String) } : null,
      started: mapOf(item.started)[taskKey] !== undefined,
    };
  }

  async markStarted(id: string, taskKey: string, at: string): Promise<void> {
    await this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: 'SET #started.#key = :at, #updatedAt = :at',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#started': 'started', '#key': taskKey, '#updatedAt': 'updatedAt', '#pk': 'pk' },
      ExpressionAttributeValues: { ':at': at },
    });
  }

  async applyTask(id: string, taskKey: string, outcome: ResendTaskOutcome, at: string): Promise<ResendJob | null> {
    const names: Record<string, string> = {
      '#applied': 'applied',
      '#started': 'started',
      '#key': taskKey,
      '#updatedAt': 'updatedAt',
      '#pk': 'pk',
    };
    const values: Record<string, unknown> = { ':retry': outcome.retry ?? [], ':at': at };
    const adds: string[] = [];
    for (const [index, [name, delta]] of Object.entries(outcome.counters).entries()) {
      if (!delta) continue;
      names[`#c${index}`] = counterAttribute(name);
      values[`:c${index}`] = delta;
      adds.push(`#c${index} :c${index}`);
    }
    if (outcome.skipped) {
      names['#skip'] = skipAttribute(outcome.skipped);
      values[':one'] = 1;
      adds.push('#skip :one');
    }
    return this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: `SET #applied.#key = :retry, #updatedAt = :at${adds.length ? ` ADD ${adds.join(', ')}` : ''} REMOVE #started.#key`,
      ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#applied.#key)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    });
  }

  async forgetTask(id: string, taskKey: string): Promise<void> {
    await this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: 'REMOVE #applied.#key, #started.#key',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#applied': 'applied', '#started': 'started', '#key': taskKey, '#pk': 'pk' },
    });
  }

  async cancel(id: string, actor: string, at: string): Promise<ResendJob | null> {
    const cancelled = await this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: 'SET #state = :cancelled, #cancelledAt = :at, #cancelledBy = :actor, #updatedAt = :at',
      ConditionExpression: '#state IN (:queued, :running)',
      ExpressionAttributeNames: {
        '#state': 'state',
        '#cancelledAt': 'cancelledAt',
        '#cancelledBy': 'cancelledBy',
        '#updatedAt': 'updatedAt',
      },
      ExpressionAttributeValues: { ':cancelled': 'cancelled', ':queued': 'queued', ':running': 'running', ':at': at, ':actor': actor },
      ReturnValues: 'ALL_NEW',
    });
    if (cancelled) return cancelled;
    const { Item: item } = await this.table.doc.send(
      new GetCommand({ TableName: this.table.name, Key: keys.resendJob(id), ConsistentRead: true }),
    );
    return item ? toJob(item) : null;
  }

  async fail(id: string, error: string, at: string): Promise<void> {
    await this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: 'SET #state = :failed, #error = :error, #updatedAt = :at',
      ConditionExpression: '#state IN (:queued, :running)',
      ExpressionAttributeNames: { '#state': 'state', '#error': 'error', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: {
        ':failed': 'failed',
        ':error': error.slice(0, 2000),
        ':queued': 'queued',
        ':running': 'running',
        ':at': at,
      },
    });
  }

  async finish(id: string, at: string): Promise<ResendJob | null> {
    const settled = 'attribute_not_exists(#finishedAt) AND #enumerated = :true AND #done >= #total AND #deferred = :zero';
    const names = {
      '#finishedAt': 'finishedAt',
      '#enumerated': 'enumerated',
      '#done': counterAttribute('done'),
      '#total': counterAttribute('total'),
      '#deferred': counterAttribute('deferred'),
      '#state': 'state',
      '#updatedAt': 'updatedAt',
    };
    const done = await this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: 'SET #finishedAt = :at, #state = :done, #updatedAt = :at',
      ConditionExpression: `${settled} AND #state IN (:queued, :running)`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':at': at, ':done': 'done', ':true': true, ':zero': 0, ':queued': 'queued', ':running': 'running' },
      ReturnValues: 'ALL_NEW',
    });
    if (done) return done;
    // A cancelled or failed job keeps its state and only notes when its last message settled.
    return this.conditionalUpdate({
      Key: keys.resendJob(id),
      UpdateExpression: 'SET #finishedAt = :at, #updatedAt = :at',
      ConditionExpression: `${settled} AND #state IN (:cancelled, :failed)`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':at': at, ':true': true, ':zero': 0, ':cancelled': 'cancelled', ':failed': 'failed' },
      ReturnValues: 'ALL_NEW',
    });
  }

  /** The job after the update (ReturnValues ALL_NEW), or null when the condition did not hold. */
  private async conditionalUpdate(input: Omit<UpdateCommandInput, 'TableName'>): Promise<ResendJob | null> {
    try {
      const { Attributes: item } = await this.table.doc.send(new UpdateCommand({ ...input, TableName: this.table.name }));
      return item ? toJob(item) : null;
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  private async getMany(ids: string[]): Promise<ResendJob[]> {
    if (ids.length === 0) return [];
    const found = new Map<string, ResendJob>();
    for (const item of await batchGet(
      this.table,
      ids.map((id) => keys.resendJob(id)),
      READ_RETRY,
    )) {
      const job = toJob(item);
      found.set(job.id, job);
    }
    return ids.map((id) => found.get(id)).filter((job): job is ResendJob => job !== undefined);
  }
}

function toJob(item: Item): ResendJob {
  const counters = Object.fromEntries(
    RESEND_COUNTER_NAMES.map((name) => [name, Number(item[counterAttribute(name)] ?? 0)]),
  ) as unknown as ResendJob['counters'];
  const skippedBy = Object.fromEntries(
    RESEND_SKIP_REASONS.map((reason) => [reason, Number(item[skipAttribute(reason)] ?? 0)]),
  ) as ResendJob['skippedBy'];
  const text = (name: string): string | null => (typeof item[name] === 'string' ? (item[name] as string) : null);
  return {
    id: String(item.id),
    scope: item.scope as ResendScope,
    state: item.state as ResendJobState,
    createdBy: String(item.createdBy),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    startedAt: text('startedAt'),
    finishedAt: text('finishedAt'),
    cancelledBy: text('cancelledBy'),
    cancelledAt: text('cancelledAt'),
    enumerated: item.enumerated === true,
    enumSeq: Number(item.enumSeq ?? 0),
    cursor: text('cursor'),
    counters,
    skippedBy,
    error: text('error'),
    expiresAt: Number(item.expiresAt),
  };
}

function mapOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
