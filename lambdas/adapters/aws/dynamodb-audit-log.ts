// The audit log in the message table: one item per event, AUDIT#<yyyy-mm-dd> /
// <at ISO>#<eventId>, written with a condition so an existing event is never
// overwritten, and without `expiresAt`: the table's TTL never deletes audit items,
// so they outlive the mail retention (core/audit.ts says how they are kept longer).
// The class has append and list only — nothing here can change or delete an entry.
//
// list reads the day partitions newest first with the actor/action filter on the
// server, re-checks every item with the shared predicate, and stops after a bounded
// number of requests with a cursor (a page may then be short, even empty).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys } from '../../contract/message-table.ts';
import { auditCursor, auditCursorPosition, auditPosition, matchesAuditFilter } from '../../core/audit.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { checkPageLimit } from '../../core/mailbox.ts';
import { dayOf, daysBetween } from '../../core/trace.ts';
import type { AuditEvent, AuditFilter, AuditLog, AuditPage } from '../../ports/audit-log.ts';
import { type DynamoTable, isConditionFailure, openTable } from './dynamodb-toolkit.ts';

export const DEFAULT_AUDIT_BUDGET = { requests: 40 };

export interface DynamoDbAuditLogOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Items per Query page; unset means DynamoDB's own 1 MB pages. Tests set it small. */
  queryPageSize?: number;
  /** Query requests one list call may make. */
  budget?: { requests: number };
}

export class DynamoDbAuditLog implements AuditLog {
  private readonly table: DynamoTable;
  private readonly pageSize: number | undefined;
  private readonly budget: { requests: number };

  constructor(options: DynamoDbAuditLogOptions) {
    this.table = openTable(options.client, options.tableName);
    this.pageSize = options.queryPageSize;
    this.budget = options.budget ?? DEFAULT_AUDIT_BUDGET;
  }

  async append(event: AuditEvent): Promise<void> {
    try {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.name,
          Item: {
            ...keys.auditEvent(dayOf(event.at), auditPosition(event)),
            type: 'audit',
            id: event.id,
            at: event.at,
            actor: event.actor,
            action: event.action,
            target: event.target,
            outcome: event.outcome,
            details: event.details,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new InvalidInputError(`audit event ${event.id} exists and is never overwritten`);
      throw error;
    }
  }

  async list(filter: AuditFilter): Promise<AuditPage> {
    checkPageLimit(filter.limit);
    const before = auditCursorPosition(filter.cursor);
    const upper = before !== null && before < filter.until ? before : filter.until;
    const events: AuditEvent[] = [];
    if (filter.since > upper) return { events, nextCursor: null };
    const names: Record<string, string> = { '#pk': 'pk', '#sk': 'sk' };
    const values: Record<string, unknown> = { ':lo': filter.since, ':hi': upper };
    const conditions: string[] = [];
    if (filter.actor !== undefined) {
      names['#actor'] = 'actor';
      values[':actor'] = filter.actor;
      conditions.push('#actor = :actor');
    }
    if (filter.action !== undefined) {
      names['#action'] = 'action';
      values[':action'] = filter.action;
      conditions.push('#action = :action');
    }
    let requests = 0;
    // Everything from the top of the range down to `resume` has been looked at.
    let resume: string | null = null;
    for (const day of daysBetween(dayOf(filter.since), dayOf(upper), true)) {
      let startKey: Record<string, unknown> | undefined;
      do {
        if (requests >= this.budget.requests) return { events, nextCursor: resume === null ? null : auditCursor(resume) };
        requests += 1;
        const page = await this.table.doc.send(
          new QueryCommand({
            TableName: this.table.name,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ...(conditions.length > 0 && { FilterExpression: conditions.join(' AND ') }),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ...values, ':pk': keys.auditDay(day) },
            ScanIndexForward: false,
            ConsistentRead: true,
            ...(this.pageSize !== undefined && { Limit: this.pageSize }),
            ...(startKey && { ExclusiveStartKey: startKey }),
          }),
        );
        for (const item of page.Items ?? []) {
          const event = toEvent(item);
          const position = String(item.sk);
          if (position === before) continue;
          resume = position;
          if (!matchesAuditFilter(event, filter)) continue;
          events.push(event);
          if (events.length >= filter.limit) return { events, nextCursor: auditCursor(position) };
        }
        startKey = page.LastEvaluatedKey;
        if (startKey) resume = String(startKey.sk);
      } while (startKey);
      resume = `${day}T00:00:00.000Z`;
    }
    return { events, nextCursor: null };
  }
}

function toEvent(item: Record<string, unknown>): AuditEvent {
  return {
    id: String(item.id),
    at: String(item.at),
    actor: String(item.actor),
    action: item.action as AuditEvent['action'],
    target: typeof item.target === 'string' ? item.target : null,
    outcome: item.outcome as AuditEvent['outcome'],
    details: (item.details ?? {}) as AuditEvent['details'],
  };
}
