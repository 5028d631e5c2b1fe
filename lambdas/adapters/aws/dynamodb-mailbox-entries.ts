// Mailbox entries on the message table (MBX#<mailbox> / MSG#<receivedAt>#<id>). User
// flags, visibility and search text are top-level attributes so pages filter on the
// server and flags change with one UpdateItem; a page reads at most its budget and
// answers with a cursor; a pointer item (ID#<id>) finds an entry by id. Details:
// docs/design.md (the data model).
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { messageTableKeys as keys, MESSAGE_TABLE } from '../../contract/message-table.ts';
import { normalizeAddress } from '../../core/addresses.ts';
import { InvalidInputError, NotFoundError } from '../../core/errors.ts';
import {
  checkPageLimit,
  decodeCursor,
  encodeCursor,
  isFolder,
  matchesPageQuery,
  normalizeSearch,
  searchTextOf,
} from '../../core/mailbox.ts';
import type { MailboxEntry, MessageRecord } from '../../core/model.ts';
import type { Folder, MailboxEntries, MailboxPage, MailboxPageQuery } from '../../ports/mailbox-entries.ts';
import { decodePayload, fitPayload, shrinkEntry } from './dynamodb-payload.ts';
import {
  type DynamoTable,
  getItem,
  type Item,
  type ItemKey,
  isConditionFailure,
  isLiveItem,
  type PageBudget,
  putIfAbsent,
} from './dynamodb-toolkit.ts';

export const ENTRY_PREFIX = 'MSG#';
/** Ids longer than this cannot be SES message ids (and would not fit a key). */
const MAX_ID_BYTES = 512;
const PAGE_REQUEST_GROWTH = 4;
export const DEFAULT_PAGE_BUDGET: PageBudget = { items: 10_000, requests: 16 };

export class DynamoDbMailboxEntries implements MailboxEntries {
  constructor(
    private readonly table: DynamoTable,
    /** Items per Query page; unset means DynamoDB's own 1 MB pages. */
    private readonly pageSize: number | undefined,
    private readonly pageBudget: PageBudget = DEFAULT_PAGE_BUDGET,
  ) {}

  async putMailboxEntry(entry: MailboxEntry): Promise<void> {
    const mailbox = normalizeAddress(entry.mailbox);
    const { value, payload } = fitPayload(entry, shrinkEntry);
    // Both at once: a pointer without its entry finds nothing, as if neither were written,
    // and a crash between is repaired by the re-ingest (each is written unless it exists).
    await Promise.all([
      putIfAbsent(this.table, {
        ...keys.mailboxEntry(mailbox, entry.receivedAt, entry.sesMessageId),
        type: 'entry',
        expiresAt: entry.expiresAt,
        folder: entry.folder,
        read: entry.read,
        visibility: entry.visibility,
        searchText: searchTextOf(value),
        ...payload,
      }),
      putIfAbsent(this.table, {
        ...keys.mailboxEntryPointer(mailbox, entry.sesMessageId),
        type: 'entry-pointer',
        receivedAt: entry.receivedAt,
        expiresAt: entry.expiresAt,
      }),
    ]);
  }

  async listMailboxPage(mailbox: string, query: MailboxPageQuery, now: Date): Promise<MailboxPage> {
    checkPageLimit(query.limit);
    if (!isFolder(query.folder)) throw new InvalidInputError('unknown folder');
    const before = decodeCursor(query.cursor);
    const needle = normalizeSearch(query.search);
    const upper = before === null ? null : `${ENTRY_PREFIX}${before}`;

    const names: Record<string, string> = { '#pk': 'pk', '#sk': 'sk', '#expiresAt': MESSAGE_TABLE.ttlAttribute, '#folder': 'folder' };
    const values: Record<string, unknown> = {
      ':pk': keys.mailboxPartition(normalizeAddress(mailbox)),
      ':prefix': ENTRY_PREFIX,
      ':now': Math.floor(now.getTime() / 1000),
      ':folder': query.folder,
    };
    const filters = ['#expiresAt > :now', '#folder = :folder'];
    if (query.includeQuarantined !== true) {
      names['#visibility'] = 'visibility';
      values[':quarantined'] = 'quarantined';
      filters.push('(attribute_not_exists(#visibility) OR #visibility <> :quarantined)');
    }
    if (needle !== '') {
      names['#searchText'] = 'searchText';
      values[':needle'] = needle;
      filters.push('(attribute_not_exists(#searchText) OR contains(#searchText, :needle))');
    }
    if (upper !== null) values[':upper'] = upper;

    const entries: MailboxEntry[] = [];
    let lastSk = '';
    let startKey: Record<string, unknown> | undefined;
    let scanned = 0;
    let requestLimit = query.limit + 1;
    for (let requests = 1; ; requests += 1) {
      const page = await this.table.doc.send(
        new QueryCommand({
          TableName: this.table.name,
          KeyConditionExpression:
            upper === null ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk AND #sk BETWEEN :prefix AND :upper',
          FilterExpression: filters.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          ConsistentRead: true,
          // One item beyond the budget tells a partition that ends exactly there from a longer one.
          Limit: Math.max(1, Math.min(requestLimit, this.pageSize ?? requestLimit, this.pageBudget.items + 1 - scanned)),
          ...(startKey && { ExclusiveStartKey: startKey }),
        }),
      );
      scanned += page.ScannedCount ?? 0;
      let moreMatches = false;
      for (const item of page.Items ?? []) {
        if (item.sk === upper) continue;
        const entry = toEntry(item);
        if (!matchesPageQuery(entry, query, needle, now)) continue;
        if (entries.length === query.limit) {
          moreMatches = true;
          break;
        }
        entries.push(entry);
        lastSk = String(item.sk);
      }
      startKey = page.LastEvaluatedKey;
      if (entries.length === query.limit) {
        return { entries, nextCursor: moreMatches || startKey ? cursorAt(lastSk) : null };
      }
      if (!startKey) return { entries, nextCursor: null };
      if (scanned >= this.pageBudget.items || requests >= this.pageBudget.requests) {
        return { entries, nextCursor: cursorAt(String(startKey.sk)) };
      }
      requestLimit *= PAGE_REQUEST_GROWTH;
    }
  }

  async getMailboxEntry(mailbox: string, sesMessageId: string, now: Date): Promise<MailboxEntry | null> {
    const key = await this.entryKeyOf(normalizeAddress(mailbox), sesMessageId);
    const item = key && (await getItem(this.table, key));
    if (!item || !isLiveItem(item, now)) return null;
    return toEntry(item);
  }

  async updateMailboxEntry(mailbox: string, sesMessageId: string, changes: { read?: boolean; folder?: Folder }): Promise<void> {
    if (changes.folder !== undefined && !isFolder(changes.folder)) throw new InvalidInputError('unknown folder');
    const key = await this.entryKeyOf(normalizeAddress(mailbox), sesMessageId);
    const notFound = () => new NotFoundError(`no entry ${sesMessageId} in ${mailbox}`);
    if (!key) throw notFound();
    const sets: string[] = [];
    const names: Record<string, string> = { '#pk': 'pk' };
    const values: Record<string, unknown> = {};
    if (changes.read !== undefined) {
      sets.push('#read = :read');
      names['#read'] = 'read';
      values[':read'] = changes.read === true;
    }
    if (changes.folder !== undefined) {
      sets.push('#folder = :folder');
      names['#folder'] = 'folder';
      values[':folder'] = changes.folder;
    }
    if (sets.length === 0) {
      if (!(await getItem(this.table, key))) throw notFound();
      return;
    }
    try {
      await this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key,
          UpdateExpression: `SET ${sets.join(', ')}`,
          // Without it UpdateItem would create a bare item where none is.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw notFound();
      throw error;
    }
  }

  /** The key of a mailbox entry by id: through its pointer, else through the message record. */
  private async entryKeyOf(mailbox: string, sesMessageId: string): Promise<ItemKey | null> {
    if (sesMessageId === '' || Buffer.byteLength(sesMessageId, 'utf8') > MAX_ID_BYTES) return null;
    const pointer = await getItem(this.table, keys.mailboxEntryPointer(mailbox, sesMessageId));
    let receivedAt = typeof pointer?.receivedAt === 'string' ? pointer.receivedAt : null;
    if (receivedAt === null) {
      const record = await getItem(this.table, keys.message(sesMessageId));
      if (record) receivedAt = decodePayload<MessageRecord>(record).receivedAt;
    }
    return receivedAt === null ? null : keys.mailboxEntry(mailbox, receivedAt, sesMessageId);
  }
}

/** A stored entry; the top-level user flags win over the payload written at ingest. */
export function toEntry(item: Item): MailboxEntry {
  const entry = decodePayload<MailboxEntry>(item);
  return {
    ...entry,
    folder: (typeof item.folder === 'string' ? item.folder : entry.folder) as Folder,
    read: typeof item.read === 'boolean' ? item.read : entry.read,
  };
}

/** The cursor that continues below a sort key. */
function cursorAt(sk: string): string {
  return encodeCursor(sk.slice(ENTRY_PREFIX.length));
}
