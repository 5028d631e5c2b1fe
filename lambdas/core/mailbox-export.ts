// Export of one mailbox (`shadowmail export`): its messages in a time window as files of
// an archive — the stored raw bytes unchanged, one file per message (.eml, which Outlook
// opens and takes by drag and drop), one folder per mailbox folder — for a site without
// IMAP for reconcile, or for a single user. Reads go through the same ports and TTL
// filter as the webmail's. Quarantined messages only when asked for, in a folder of
// their own. Recorded in the audit log (mailbox.export: who, which mailbox, what came out);
// the archive appears under its name only after that entry is written.
import type { AddressMap } from '../ports/address-map.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { Folder, MailboxEntries } from '../ports/mailbox-entries.ts';
import type { MessageArchive } from '../ports/message-archive.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import { hasAddressShape, normalizeAddress } from './addresses.ts';
import { audited } from './audit.ts';
import { InvalidInputError, NotFoundError, RawMessageMissingError } from './errors.ts';
import { safeFileNameSegment } from './file-names.ts';
import { MAX_INDEX_PAGE_SIZE } from './mailbox.ts';
import type { MailboxEntry } from './model.ts';
import { parseTime } from './time-input.ts';

/** What `--folder` may name; `all` is every folder of the mailbox, Deleted included. */
export const EXPORT_FOLDER_CHOICES = ['inbox', 'sent', 'all'] as const;
export type ExportFolderChoice = (typeof EXPORT_FOLDER_CHOICES)[number];
const FOLDERS_OF: Record<ExportFolderChoice, readonly Folder[]> = {
  inbox: ['inbox'],
  sent: ['sent'],
  all: ['inbox', 'sent', 'deleted'],
};

/** Where quarantined messages go in the archive (`quarantined/<folder>/`), apart from the rest. */
export const QUARANTINE_FOLDER = 'quarantined';
/** UTF-16 units of the subject in a file name: the whole path stays well inside Windows' 260. */
export const MAX_SUBJECT_UNITS = 60;

export interface MailboxExportInput {
  /** An address of the mailbox (an alias names the mailbox it belongs to). */
  mailbox: string;
  /** receivedAt ≥ since (ISO 8601); no bound when absent. */
  since?: string | Date;
  /** receivedAt < until; no bound when absent. */
  until?: string | Date;
  /** One of EXPORT_FOLDER_CHOICES (checked here: it comes from a command line); default `all`. */
  folder?: string;
  includeQuarantined?: boolean;
  /** Where the archive goes (a file name), for the audit entry. */
  destination: string;
}

export interface MailboxExportDeps {
  index: AddressMap & MailboxEntries & MessageRecords;
  rawStore: RawMailStore;
  audit: AuditLog;
  clock: Clock;
  /** Opens the archive: called once the first message is found, never for an export of nothing. */
  openArchive(): Promise<MessageArchive>;
  /** After each message written (a progress line). */
  onProgress?(exported: number): void;
}

export interface MailboxExportResult {
  mailbox: string;
  folders: Folder[];
  since: string | null;
  until: string | null;
  /** Files in the archive. */
  exported: number;
  archiveBytes: number;
  /** Quarantined messages in the archive (under quarantined/), or left out for want of the flag. */
  quarantinedIncluded: number;
  quarantinedLeftOut: number;
  /** Listed, but gone before their bytes could be read (expired meanwhile, raw object missing): not in the archive. */
  missing: string[];
}

interface ExportRequest {
  mailbox: string;
  /** Whether the directory knows the address (else only mail kept for it makes it a mailbox). */
  known: boolean;
  folders: readonly Folder[];
  since: Date | null;
  until: Date | null;
  includeQuarantined: boolean;
}

/** Exports the mailbox into the archive deps.openArchive() gives, recorded as mailbox.export by `actor`. */
export async function exportMailbox(actor: string, input: MailboxExportInput, deps: MailboxExportDeps): Promise<MailboxExportResult> {
  const opened: { archive?: MessageArchive } = {};
  const details = {
    folder: input.folder ?? 'all',
    since: input.since === undefined ? null : timeText(input.since),
    until: input.until === undefined ? null : timeText(input.until),
    includeQuarantined: input.includeQuarantined ?? false,
    destination: input.destination,
  };
  try {
    const result = await audited(
      deps.audit,
      deps.clock,
      { actor, action: 'mailbox.export', target: normalizeAddress(input.mailbox) || input.mailbox, details },
      async () => writeArchive(await normalizeExport(input, deps.index), deps, opened),
      (written) => ({
        mailbox: written.mailbox,
        exported: written.exported,
        quarantinedIncluded: written.quarantinedIncluded,
        missing: written.missing.length,
      }),
    );
    // Only now, with the entry written, does the archive appear under its name.
    const { bytes } = await opened.archive!.commit();
    return { ...result, archiveBytes: bytes };
  } catch (error) {
    await opened.archive?.abort();
    throw error;
  }
}

async function normalizeExport(input: MailboxExportInput, index: AddressMap): Promise<ExportRequest> {
  const address = normalizeAddress(input.mailbox);
  if (!hasAddressShape(address)) throw new InvalidInputError(`the mailbox must be an address, not ${JSON.stringify(input.mailbox)}`);
  const choice = input.folder ?? 'all';
  if (!(EXPORT_FOLDER_CHOICES as readonly string[]).includes(choice))
    throw new InvalidInputError(`the folder must be one of ${EXPORT_FOLDER_CHOICES.join(', ')}, not ${JSON.stringify(choice)}`);
  const since = input.since === undefined ? null : parseTime(input.since, 'since');
  const until = input.until === undefined ? null : parseTime(input.until, 'until');
  if (since && until && since.getTime() >= until.getTime()) throw new InvalidInputError('since must be before until');
  const mapped = await index.mailboxFor(address);
  return {
    mailbox: normalizeAddress(mapped ?? address),
    known: mapped !== null,
    folders: FOLDERS_OF[choice as ExportFolderChoice],
    since,
    until,
    includeQuarantined: input.includeQuarantined ?? false,
  };
}

async function writeArchive(
  request: ExportRequest,
  deps: MailboxExportDeps,
  opened: { archive?: MessageArchive },
): Promise<Omit<MailboxExportResult, 'archiveBytes'>> {
  const now = deps.clock.now();
  const names = new UniqueNames();
  const result: Omit<MailboxExportResult, 'archiveBytes'> = {
    mailbox: request.mailbox,
    folders: [...request.folders],
    since: request.since?.toISOString() ?? null,
    until: request.until?.toISOString() ?? null,
    exported: 0,
    quarantinedIncluded: 0,
    quarantinedLeftOut: 0,
    missing: [],
  };
  for (const folder of request.folders) {
    for await (const entry of entriesInWindow(request, folder, deps.index, now)) {
      const record =
        entry.visibility === 'quarantined' && !request.includeQuarantined ? null : await deps.index.getMessage(entry.sesMessageId, now);
      const quarantined = entry.visibility === 'quarantined' || record?.visibility === 'quarantined';
      if (quarantined && !request.includeQuarantined) {
        result.quarantinedLeftOut += 1;
        continue;
      }
      const body = record ? await deps.rawStore.open(record.raw).catch(missingAsNull) : null;
      if (!record || !body) {
        result.missing.push(entry.sesMessageId);
        continue;
      }
      opened.archive ??= await deps.openArchive().catch((error: unknown) => {
        body.destroy();
        throw error;
      });
      const path = names.claim(quarantined ? `${QUARANTINE_FOLDER}/${folder}` : folder, entry);
      await opened.archive.add(path, body, new Date(entry.receivedAt));
      result.exported += 1;
      if (quarantined) result.quarantinedIncluded += 1;
      deps.onProgress?.(result.exported);
    }
  }
  if (result.exported === 0) throw await nothingToExport(request, deps.index, now, result);
  return result;
}

/** The folder's entries in the window, newest first (quarantined ones included: the caller decides). */
async function* entriesInWindow(request: ExportRequest, folder: Folder, index: MailboxEntries, now: Date): AsyncGenerator<MailboxEntry> {
  let cursor: string | null = null;
  do {
    const page = await index.listMailboxPage(
      request.mailbox,
      { folder, limit: MAX_INDEX_PAGE_SIZE, cursor, includeQuarantined: true },
      now,
    );
    for (const entry of page.entries) {
      const at = Date.parse(entry.receivedAt);
      if (request.until && at >= request.until.getTime()) continue;
      // Newest first: everything after this one is older still.
      if (request.since && at < request.since.getTime()) return;
      yield entry;
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
}

/** Why nothing was exported: an address with no mailbox at all, or a window without messages. */
async function nothingToExport(
  request: ExportRequest,
  index: MailboxEntries,
  now: Date,
  result: Omit<MailboxExportResult, 'archiveBytes'>,
): Promise<NotFoundError> {
  let anyMail = false;
  for (const folder of FOLDERS_OF.all) {
    if (anyMail) break;
    anyMail = (await index.listMailboxPage(request.mailbox, { folder, limit: 1, includeQuarantined: true }, now)).entries.length > 0;
  }
  if (!request.known && !anyMail)
    return new NotFoundError(`no mailbox ${request.mailbox}: the directory does not know it and no mail is kept for it`);
  const window = `${request.since ? `from ${result.since}` : 'from the oldest kept'} ${request.until ? `until ${result.until}` : 'until now'}`;
  const leftOut = [
    result.quarantinedLeftOut > 0 && `${result.quarantinedLeftOut} quarantined left out (--include-quarantined)`,
    result.missing.length > 0 && `${result.missing.length} gone before they could be read`,
  ].filter(Boolean);
  return new NotFoundError(
    `no messages to export in ${request.folders.join(', ')} of ${request.mailbox} ${window}${leftOut.length ? ` (${leftOut.join(', ')})` : ''}: nothing written`,
  );
}

/**
 * File names in the archive: `<folder>/<YYYY-MM-DD HHMM (UTC)> <subject> <short id>.eml`,
 * sorted by time, unique even on a case-insensitive file system (Windows): on a clash
 * the whole message id, then a number.
 */
class UniqueNames {
  private readonly taken = new Set<string>();

  claim(folder: string, entry: Pick<MailboxEntry, 'receivedAt' | 'subject' | 'sesMessageId'>): string {
    const iso = new Date(entry.receivedAt).toISOString();
    const stamp = `${iso.slice(0, 10)} ${iso.slice(11, 13)}${iso.slice(14, 16)}`;
    const subject = safeFileNameSegment(entry.subject, MAX_SUBJECT_UNITS, 'no subject');
    const id = entry.sesMessageId.replace(/[^A-Za-z0-9]/g, '').slice(-64) || 'message';
    for (let attempt = 0; ; attempt += 1) {
      const suffix = attempt === 0 ? id.slice(-8) : attempt === 1 ? id : `${id}-${attempt}`;
      const path = `${folder}/${stamp} ${subject} ${suffix}.eml`;
      if (this.taken.has(path.toLowerCase())) continue;
      this.taken.add(path.toLowerCase());
      return path;
    }
  }
}

function missingAsNull(error: unknown): null {
  if (error instanceof RawMessageMissingError) return null;
  throw error;
}

function timeText(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}
