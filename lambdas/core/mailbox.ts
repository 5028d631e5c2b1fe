// Use cases of the webmail's mailbox: which mailboxes a signed-in user may see, one
// page of a folder, opening one message, and the user's flags (read, deleted).
// openEntry is the authorization check every message, body, attachment and action
// route goes through: a message id that is not in one of the caller's mailboxes is
// answered exactly like an unknown one (NotFoundError), so ids leak nothing.
//
// The second half holds the page semantics both index adapters share (search
// matching, the searchable text, the opaque cursor), so the in-memory reference and
// DynamoDB cannot drift apart.

import type { AddressMap } from '../ports/address-map.ts';
import type { Clock } from '../ports/clock.ts';
import type { Folder, MailboxEntries, MailboxPageQuery } from '../ports/mailbox-entries.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type { Identity } from '../ports/sign-in.ts';
import { hasAddressShape, normalizeAddress } from './addresses.ts';
import { InvalidInputError, NotFoundError } from './errors.ts';
import type { MailboxEntry, MessageRecord } from './model.ts';
import { isLive } from './retention.ts';

export const FOLDERS: readonly Folder[] = ['inbox', 'sent', 'deleted'];
export const DEFAULT_PAGE_SIZE = 50;
/** The largest page the webmail asks for. */
export const MAX_PAGE_SIZE = 100;
/** The largest page an index adapter accepts (admin tools may ask for more than the webmail). */
export const MAX_INDEX_PAGE_SIZE = 1000;
export const MAX_SEARCH_CHARS = 200;

export interface MailboxDeps {
  index: AddressMap & MessageRecords & MailboxEntries;
  clock: Clock;
}

export interface ListFolderInput {
  /** One of the caller's mailboxes; the first one when absent. */
  mailbox?: string;
  /** Checked at runtime: it usually comes from a URL. */
  folder: string;
  cursor?: string | null;
  search?: string;
  limit?: number;
}

export interface FolderPage {
  mailbox: string;
  /** Every mailbox the caller may open (for a switcher); `mailbox` is one of them. */
  mailboxes: string[];
  folder: Folder;
  entries: MailboxEntry[];
  nextCursor: string | null;
}

export interface OpenedEntry {
  mailbox: string;
  entry: MailboxEntry;
  record: MessageRecord;
}

/**
 * The mailboxes the directory maps the token's address to: the mailbox of that
 * address, or the address itself when the directory does not know it (as ingest
 * files mail for unknown recipients). A list, for shared mailboxes later.
 */
export async function mailboxesOf(identity: Identity, index: AddressMap): Promise<string[]> {
  const email = normalizeAddress(identity.email);
  // Without a usable address there is no mailbox to map to; never fall back to ''.
  if (!hasAddressShape(email)) return [];
  const mapped = await index.mailboxFor(email);
  return [normalizeAddress(mapped ?? email)];
}

export async function listFolder(identity: Identity, input: ListFolderInput, deps: MailboxDeps): Promise<FolderPage> {
  const folder = parseFolder(input.folder);
  const limit = input.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidInputError(`page size must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  const mailboxes = await mailboxesOf(identity, deps.index);
  const mailbox = input.mailbox === undefined ? mailboxes[0] : mailboxes.find((own) => own === normalizeAddress(input.mailbox ?? ''));
  if (mailbox === undefined) throw new NotFoundError('no such mailbox');
  const query: MailboxPageQuery = {
    folder,
    limit,
    cursor: input.cursor ?? null,
    ...(input.search !== undefined && { search: input.search }),
    includeQuarantined: false,
  };
  const page = await deps.index.listMailboxPage(mailbox, query, deps.clock.now());
  return { mailbox, mailboxes, folder, entries: page.entries, nextCursor: page.nextCursor };
}

/**
 * The message with this id in one of the caller's mailboxes, with its record (raw
 * location, headers). Expired, quarantined, unknown and other people's messages all
 * answer NotFoundError, so a caller cannot tell them apart.
 */
export async function openEntry(identity: Identity, sesMessageId: string, deps: MailboxDeps): Promise<OpenedEntry> {
  if (!isPlausibleMessageId(sesMessageId)) throw new NotFoundError('no such message');
  const now = deps.clock.now();
  for (const mailbox of await mailboxesOf(identity, deps.index)) {
    const entry = await deps.index.getMailboxEntry(mailbox, sesMessageId, now);
    if (!entry || entry.visibility === 'quarantined' || !isLive(entry, now)) continue;
    const record = await deps.index.getMessage(sesMessageId, now);
    if (!record || record.visibility === 'quarantined') break;
    return { mailbox, entry, record };
  }
  throw new NotFoundError('no such message');
}

export async function markRead(identity: Identity, sesMessageId: string, deps: MailboxDeps): Promise<void> {
  await changeEntry(identity, sesMessageId, { read: true }, deps);
}

export async function markUnread(identity: Identity, sesMessageId: string, deps: MailboxDeps): Promise<void> {
  await changeEntry(identity, sesMessageId, { read: false }, deps);
}

/** The copy in AWS goes to the Deleted folder; Exchange keeps its own copy regardless. */
export async function moveToDeleted(identity: Identity, sesMessageId: string, deps: MailboxDeps): Promise<void> {
  await changeEntry(identity, sesMessageId, { folder: 'deleted' }, deps);
}

export async function restoreToInbox(identity: Identity, sesMessageId: string, deps: MailboxDeps): Promise<void> {
  await changeEntry(identity, sesMessageId, { folder: 'inbox' }, deps);
}

async function changeEntry(
  identity: Identity,
  sesMessageId: string,
  changes: { read?: boolean; folder?: Folder },
  deps: MailboxDeps,
): Promise<void> {
  const { mailbox } = await openEntry(identity, sesMessageId, deps);
  await deps.index.updateMailboxEntry(mailbox, sesMessageId, changes);
}

export function isFolder(value: unknown): value is Folder {
  return typeof value === 'string' && (FOLDERS as readonly string[]).includes(value);
}

function parseFolder(value: string): Folder {
  if (!isFolder(value)) throw new InvalidInputError(`unknown folder (one of ${FOLDERS.join(', ')})`);
  return value;
}

/** SES message ids are short printable ASCII; anything else cannot name a message of ours. */
function isPlausibleMessageId(value: string): boolean {
  return /^[\x21-\x7e]{1,256}$/.test(value);
}

// ---- page semantics shared by the index adapters ---------------------------------

/** At most this many From mailboxes and characters per field are searchable. */
const SEARCHABLE_FROM_COUNT = 20;
const SEARCHABLE_FIELD_CHARS = 500;

/** Comparison form for search: NFC (so a decomposed ü matches a composed one), one space per whitespace run, lower case. */
function foldForSearch(text: string): string {
  return text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The search term in comparison form; '' means no search. Too long a term is refused. */
export function normalizeSearch(search: string | undefined): string {
  if (search === undefined) return '';
  const folded = foldForSearch(search);
  if (folded.length > MAX_SEARCH_CHARS) throw new InvalidInputError(`search term longer than ${MAX_SEARCH_CHARS} characters`);
  return folded;
}

/** What a search looks at: the sender mailboxes (display name and address) and the subject. */
function searchableFields(entry: Pick<MailboxEntry, 'from' | 'subject'>): string[] {
  return [...entry.from.slice(0, SEARCHABLE_FROM_COUNT), entry.subject].map((field) =>
    foldForSearch(field).slice(0, SEARCHABLE_FIELD_CHARS),
  );
}

/**
 * One string holding every searchable field, for stores that filter server-side
 * (DynamoDB `contains`). A match in it is necessary, not sufficient (a term could
 * span two fields), so adapters re-check with matchesSearch. Stores keep it from the
 * first write: changing what is searchable means rewriting the stored texts.
 */
export function searchTextOf(entry: Pick<MailboxEntry, 'from' | 'subject'>): string {
  return searchableFields(entry).join('\n');
}

/** `needle` in comparison form (normalizeSearch); '' matches everything. */
export function matchesSearch(entry: Pick<MailboxEntry, 'from' | 'subject'>, needle: string): boolean {
  return needle === '' || searchableFields(entry).some((field) => field.includes(needle));
}

/** Whether an entry belongs on a page of this query (everything but the cursor). */
export function matchesPageQuery(entry: MailboxEntry, query: MailboxPageQuery, needle: string, now: Date): boolean {
  return (
    isLive(entry, now) &&
    entry.folder === query.folder &&
    (query.includeQuarantined === true || entry.visibility !== 'quarantined') &&
    matchesSearch(entry, needle)
  );
}

/** Checks the page size an adapter is asked for. */
export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_INDEX_PAGE_SIZE) {
    throw new InvalidInputError(`page size must be a whole number from 1 to ${MAX_INDEX_PAGE_SIZE}`);
  }
}

/**
 * Where an entry sits in its mailbox: newest first means descending order of this
 * string (it is the DynamoDB sort key without its `MSG#` prefix, so both stores agree).
 */
export function mailboxPosition(entry: Pick<MailboxEntry, 'receivedAt' | 'sesMessageId'>): string {
  return `${entry.receivedAt}#${entry.sesMessageId}`;
}

/** DynamoDB sort keys are at most 1024 bytes; a position beyond this cannot be one of ours. */
const MAX_POSITION_BYTES = 900;
const CURSOR_VERSION = 1;

/** The cursor of a page that ends at `position`: the next page holds what sorts below it. */
export function encodeCursor(position: string): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, before: position }), 'utf8').toString('base64url');
}

/**
 * The position a cursor continues below, or null for the first page. A cursor that
 * is not one we issued is an InvalidInputError; a well-formed one naming any
 * position is harmless, because it only moves within the caller's own mailbox.
 */
export function decodeCursor(cursor: string | null | undefined): string | null {
  if (cursor === null || cursor === undefined || cursor === '') return null;
  const invalid = (cause?: unknown) => new InvalidInputError('invalid page cursor', { cause });
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw invalid(error);
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { v, before } = parsed as { v?: unknown; before?: unknown };
  if (v !== CURSOR_VERSION || typeof before !== 'string' || before === '' || Buffer.byteLength(before, 'utf8') > MAX_POSITION_BYTES) {
    throw invalid();
  }
  return before;
}
