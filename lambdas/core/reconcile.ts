// Use case: `shadowmail reconcile` — after the outage, what staff did in the webmail
// reaches Exchange over IMAP. For each mailbox (the directory's, or those named):
//  1. every message sent from the webmail in [since, until) — Sent folder, and Deleted
//     entries that are Sent copies, since deletions are never applied — is appended to
//     the mailbox's Sent folder unless a message with its Message-ID is already there
//     (the Message-ID set read from the folder is the idempotence key: a second run, or a
//     restart after a kill between APPEND's OK and the journal, appends nothing twice);
//  2. with read state: what the user read in the webmail is marked \Seen in INBOX once
//     the forward has delivered it there; not delivered yet (or not visible yet) → pending,
//     carried by the journal to later runs for `pendingDays`, then "not found".
// First every mailbox is opened read-only and planned (a dry run stops there), so a
// wrong password, an unknown named mailbox or a missing Sent folder writes nothing.
import type { AuditLog } from '../ports/audit-log.ts';
import type { Clock } from '../ports/clock.ts';
import type { DeliveryLog } from '../ports/delivery-log.ts';
import type { DirectoryStore } from '../ports/directory.ts';
import type { DateWindow, ImapMailbox, ImapMailboxes } from '../ports/imap-mailboxes.ts';
import type { Folder, MailboxEntries } from '../ports/mailbox-entries.ts';
import type { MessageRecords } from '../ports/message-records.ts';
import type { RawMailStore } from '../ports/raw-mail-store.ts';
import type { PendingRead, ReconcileJob, ReconcileJournal, ReconcileMailboxResult } from '../ports/reconcile-journal.ts';
import { normalizeAddress } from './addresses.ts';
import { audited } from './audit.ts';
import { messageIdsIn } from './compose/message-ids.ts';
import { ImapError, InvalidInputError, RawMessageMissingError } from './errors.ts';
import { MAX_INDEX_PAGE_SIZE } from './mailbox.ts';
import type { MailboxEntry, MessageRecord } from './model.ts';

/** Localized names of Exchange's Sent Items, for servers without SPECIAL-USE (`--sent-folder` adds more). */
export const DEFAULT_SENT_FOLDER_NAMES = [
  'Sent Items',
  'Gesendete Elemente',
  'Éléments envoyés',
  'Elementos enviados',
  'Posta inviata',
  'Verzonden items',
  'Sent',
] as const;

/** Without a start: this many days before the window's end (the default retention is 28 days). */
export const DEFAULT_RECONCILE_DAYS = 31;

/** How long a read stays pending (not in INBOX yet) before it is reported as not found. */
export const DEFAULT_PENDING_DAYS = 7;

const INBOX = 'INBOX';
const DAY_MS = 86_400_000;

export interface ReconcileRequest {
  /** Who runs it, for the audit entry (`cli:<user>@<host>`). */
  actor: string;
  /** The IMAP server and account as the admin named them (no password): part of the job's identity, and audited. */
  server: string;
  /** Named mailboxes (any of their addresses); empty: every mailbox of the directory. */
  mailboxes: readonly string[];
  /** Absent: DEFAULT_RECONCILE_DAYS before the end. */
  since?: Date;
  /** Absent: now (or, resuming, the interrupted run's end). */
  until?: Date;
  readState: boolean;
  dryRun: boolean;
  sentFolderNames: readonly string[];
  pendingDays?: number;
}

export interface ReconcileDeps {
  index: Pick<MailboxEntries, 'listMailboxPage'> & Pick<MessageRecords, 'getMessage'> & Pick<DeliveryLog, 'getDeliveryStates'>;
  rawStore: RawMailStore;
  directory: Pick<DirectoryStore, 'readState' | 'userForAddress'>;
  imap: ImapMailboxes;
  journal: ReconcileJournal;
  audit: AuditLog;
  clock: Clock;
  /** Where sent copies' raw bytes live (contract/raw-mail-bucket.ts SENT_PREFIX): tells a deleted Sent copy from a deleted received message. */
  sentKeyPrefix: string;
  /** Called after each message appended or read state applied (the CLI's progress bar). */
  progress?: (done: number, total: number, mailbox: string) => void;
}

/** What a dry run would do, per mailbox. */
export interface PlannedMailbox {
  mailbox: string;
  sentFolder: string | null;
  toAppend: Array<{ messageId: string; subject: string; date: string }>;
  alreadyThere: number;
  toMarkRead: Array<{ messageId: string; subject: string }>;
  pending: number;
  notFound: Array<{ messageId: string; reason: string }>;
  failed: Array<{ messageId: string | null; reason: string }>;
  deletedInWebmail: number;
}

export interface ReconcileSummary {
  appended: number;
  alreadyThere: number;
  markedRead: number;
  pending: number;
  notFound: number;
  failed: number;
  deletedInWebmail: number;
}

export interface ReconcileReport {
  dryRun: boolean;
  window: { since: string; until: string };
  /** True when this run went on with an interrupted one (its finished mailboxes are included). */
  resumed: boolean;
  summary: ReconcileSummary;
  mailboxes: ReconcileMailboxResult[];
  /** Dry run only: what would be appended and marked. */
  plan?: PlannedMailbox[];
  /** Always said: a message deleted in the webmail stays in Exchange. */
  deletions: string;
}

export const DELETIONS_NOT_APPLIED =
  'Deletions in the webmail are not applied to Exchange: what a user deleted there is still in their Exchange mailbox.';

/** A Sent copy to append: its record and Message-ID. */
interface SentMessage {
  record: MessageRecord;
  messageId: string;
  date: Date;
  subject: string;
}

interface ReadCandidate {
  entry: MailboxEntry;
  messageId: string;
  status: 'delivered' | 'waiting' | 'gone';
  reason: string;
}

interface MailboxPlan extends PlannedMailbox {
  sent: SentMessage[];
  reads: ReadCandidate[];
  inboxWindow: DateWindow;
  /** Reads still waiting for the forward (or for INBOX): the journal carries them to the next run. */
  stillPending: ReadCandidate[];
}

export async function reconcile(request: ReconcileRequest, deps: ReconcileDeps): Promise<ReconcileReport> {
  const now = deps.clock.now();
  const pendingDays = request.pendingDays ?? DEFAULT_PENDING_DAYS;
  if (!(pendingDays > 0)) throw new InvalidInputError('pendingDays must be positive');
  const mailboxes = await mailboxesOf(request, deps);
  const journal = await deps.journal.read();
  const key = jobKey(request, mailboxes);
  const resuming = journal.job !== null && !journal.job.finished && journal.job.key === key;
  const until = request.until ?? (resuming ? new Date(journal.job!.until) : now);
  const window = { since: request.since ?? new Date(until.getTime() - DEFAULT_RECONCILE_DAYS * DAY_MS), until };
  if (window.since.getTime() >= window.until.getTime()) throw new InvalidInputError('--since must be before --until');
  const done = new Map(resuming ? journal.job!.done.map((result) => [result.mailbox, result]) : []);
  const todo = mailboxes.filter((mailbox) => !done.has(mailbox));

  // Read-only pass: open every mailbox with work, find its folders, decide.
  const plans: MailboxPlan[] = [];
  for (const mailbox of todo) {
    const plan = await planMailbox(mailbox, request, window, journal.pending, pendingDays, deps, now);
    if (plan) plans.push(plan);
  }
  const base = { window: { since: window.since.toISOString(), until: window.until.toISOString() }, deletions: DELETIONS_NOT_APPLIED };
  if (request.dryRun) {
    const results = plans.map(plannedResult);
    return { ...base, dryRun: true, resumed: resuming, summary: summarize(results), mailboxes: results, plan: plans.map(publicPlan) };
  }

  const job: ReconcileJob = resuming
    ? journal.job!
    : { key, until: until.toISOString(), startedAt: now.toISOString(), done: [], finished: false };
  const state = { job, pending: journal.pending };
  await deps.journal.write(state);
  const context = {
    actor: request.actor,
    action: 'mailbox.reconcile' as const,
    target: request.mailboxes.length > 0 ? mailboxes.join(', ') : 'all mailboxes',
    details: {
      server: request.server,
      since: base.window.since,
      until: base.window.until,
      readState: request.readState,
      resumed: resuming,
    },
  };
  return audited(
    deps.audit,
    deps.clock,
    context,
    async () => {
      const total = plans.reduce((sum, plan) => sum + plan.sent.length + plan.reads.length, 0);
      let progressed = 0;
      const tick = (mailbox: string) => deps.progress?.(++progressed, total, mailbox);
      for (const plan of plans) {
        const result = plan.sent.length + plan.reads.length === 0 ? plannedResult(plan) : await applyPlan(plan, window, deps, tick);
        job.done.push(result);
        state.pending = nextPending(state.pending, plan, deps.clock.now());
        await deps.journal.write(state);
      }
      job.finished = true;
      await deps.journal.write(state);
      const results = [...done.values(), ...job.done.filter((result) => !done.has(result.mailbox))];
      return { ...base, dryRun: false, resumed: resuming, summary: summarize(results), mailboxes: results };
    },
    (report) => ({ ...report.summary, mailboxes: report.mailboxes.length }),
  );
}

/** The named mailboxes (resolved through the directory), or every mailbox of the directory. */
async function mailboxesOf(request: ReconcileRequest, deps: ReconcileDeps): Promise<string[]> {
  if (request.mailboxes.length === 0) {
    const { users } = await deps.directory.readState();
    return [...new Set(users.map((user) => user.mailbox))].sort();
  }
  const resolved: string[] = [];
  for (const address of request.mailboxes) {
    const user = await deps.directory.userForAddress(address);
    if (!user) throw new InvalidInputError(`${address}: no such mailbox in the directory`);
    resolved.push(user.mailbox);
  }
  return [...new Set(resolved)];
}

function jobKey(request: ReconcileRequest, mailboxes: readonly string[]): string {
  return JSON.stringify({
    server: request.server,
    mailboxes: request.mailboxes.length > 0 ? mailboxes : 'directory',
    since: request.since?.toISOString() ?? null,
    until: request.until?.toISOString() ?? null,
    readState: request.readState,
  });
}

async function planMailbox(
  mailbox: string,
  request: ReconcileRequest,
  window: DateWindow,
  pendingBefore: readonly PendingRead[],
  pendingDays: number,
  deps: ReconcileDeps,
  now: Date,
): Promise<MailboxPlan | null> {
  const sent: SentMessage[] = [];
  const reads: MailboxEntry[] = [];
  let deletedInWebmail = 0;
  const carried = new Map(pendingBefore.filter((p) => p.mailbox === mailbox).map((p) => [p.sesMessageId, p]));
  for (const folder of ['sent', 'inbox', 'deleted'] as const) {
    if (folder === 'inbox' && !request.readState) continue;
    for await (const entry of entriesIn(mailbox, folder, window, deps.index, now)) {
      if (folder === 'deleted') deletedInWebmail += 1;
      const record = folder === 'inbox' ? null : await deps.index.getMessage(entry.sesMessageId, now);
      const isSentCopy = folder === 'sent' || record?.raw.key.startsWith(deps.sentKeyPrefix) === true;
      if (isSentCopy) {
        if (record) sent.push(sentMessage(record));
      } else if (request.readState && entry.read && entry.visibility !== 'quarantined') reads.push(entry);
    }
  }
  // Reads pending from earlier runs, also outside this window.
  for (const [sesMessageId] of carried) {
    if (reads.some((entry) => entry.sesMessageId === sesMessageId) || !request.readState) continue;
    const entry = await entryOf(mailbox, sesMessageId, deps, now);
    if (entry?.read) reads.push(entry);
  }
  if (sent.length === 0 && reads.length === 0) return null;

  let imap: ImapMailbox;
  try {
    imap = await deps.imap.open(mailbox, { readOnly: true });
  } catch (error) {
    return mailboxFailure(mailbox, request, error, deletedInWebmail);
  }
  try {
    const sentFolder = sent.length > 0 ? await imap.findSentFolder(request.sentFolderNames) : null;
    if (sent.length > 0 && sentFolder === null) {
      return mailboxFailure(
        mailbox,
        request,
        new ImapError('mailbox', `${mailbox}: no Sent folder (no SPECIAL-USE \\Sent, none named ${request.sentFolderNames.join(', ')})`),
        deletedInWebmail,
      );
    }
    const there = sentFolder ? await imap.messageIds(sentFolder, window) : new Set<string>();
    // Oldest first, as they were sent.
    const toAppend = unique(sent)
      .filter((message) => !there.has(message.messageId))
      .sort((a, b) => a.date.getTime() - b.date.getTime());
    const inboxWindow = { since: earliest(reads, window.since), until: new Date(now.getTime() + DAY_MS) };
    const candidates = await readCandidates(reads, deps, now);
    const inInbox = candidates.length > 0 ? await imap.messageIds(INBOX, inboxWindow) : new Set<string>();
    const toMark: ReadCandidate[] = [];
    const notFound: PlannedMailbox['notFound'] = [];
    let pending = 0;
    for (const candidate of candidates) {
      const firstPending = carried.get(candidate.entry.sesMessageId)?.since ?? now.toISOString();
      const expired = now.getTime() - Date.parse(firstPending) >= pendingDays * DAY_MS;
      if (candidate.status === 'gone') notFound.push({ messageId: candidate.messageId, reason: candidate.reason });
      else if (candidate.status === 'delivered' && inInbox.has(candidate.messageId)) toMark.push(candidate);
      else if (expired)
        notFound.push({
          messageId: candidate.messageId,
          reason:
            candidate.status === 'delivered'
              ? `not in INBOX after ${pendingDays} days — an inbox rule may have moved it`
              : `not delivered to Exchange after ${pendingDays} days`,
        });
      else pending += 1;
    }
    return {
      mailbox,
      sentFolder,
      sent: toAppend,
      reads: toMark,
      inboxWindow,
      toAppend: toAppend.map((m) => ({ messageId: m.messageId, subject: m.subject, date: m.date.toISOString() })),
      alreadyThere: sent.length - toAppend.length,
      toMarkRead: toMark.map((c) => ({ messageId: c.messageId, subject: c.entry.subject })),
      pending,
      notFound,
      failed: sent.filter((m) => m.messageId === '').map(() => ({ messageId: null, reason: 'no Message-ID' })),
      deletedInWebmail,
      stillPending: candidates.filter((c) => !toMark.includes(c) && !notFound.some((n) => n.messageId === c.messageId)),
    };
  } catch (error) {
    throw inMailbox(mailbox, error);
  } finally {
    await imap.close().catch(() => undefined);
  }
}

/**
 * A mailbox that cannot be opened or has no Sent folder. Faults of the server or the
 * service account (auth, unreachable, timeout) stop the whole run, as does any fault
 * of a mailbox the admin named; a directory mailbox is reported and skipped.
 */
function mailboxFailure(mailbox: string, request: ReconcileRequest, error: unknown, deletedInWebmail: number): MailboxPlan {
  if (!(error instanceof ImapError)) throw error;
  const named = inMailbox(mailbox, error) as ImapError;
  const message = named.message;
  if (error.fault !== 'mailbox' || request.mailboxes.length > 0) throw named;
  return {
    mailbox,
    sentFolder: null,
    sent: [],
    reads: [],
    inboxWindow: { since: new Date(0), until: new Date(0) },
    toAppend: [],
    alreadyThere: 0,
    toMarkRead: [],
    pending: 0,
    notFound: [],
    failed: [{ messageId: null, reason: message }],
    deletedInWebmail,
    stillPending: [],
  };
}

async function applyPlan(
  plan: MailboxPlan,
  window: DateWindow,
  deps: ReconcileDeps,
  tick: (mailbox: string) => void,
): Promise<ReconcileMailboxResult> {
  const planned = plannedResult(plan);
  const result: ReconcileMailboxResult = { ...planned, notFound: [...planned.notFound], failed: [...planned.failed] };
  const imap = await deps.imap.open(plan.mailbox, { readOnly: false }).catch((error: unknown) => {
    throw inMailbox(plan.mailbox, error);
  });
  try {
    if (plan.sentFolder && plan.sent.length > 0) {
      // Read again right before appending: what an interrupted run appended is there now.
      const there = await imap.messageIds(plan.sentFolder, window);
      for (const message of plan.sent) {
        if (there.has(message.messageId)) result.alreadyThere += 1;
        else {
          try {
            await imap.append(plan.sentFolder, await rawBytes(message.record, deps), message.date);
            there.add(message.messageId);
            result.appended += 1;
          } catch (error) {
            if (error instanceof RawMessageMissingError) {
              result.failed.push({ messageId: message.messageId, reason: 'the stored copy is gone (expired with the retention?)' });
            } else if (error instanceof ImapError && error.fault === 'refused') {
              result.failed.push({ messageId: message.messageId, reason: error.message });
            } else throw error;
          }
        }
        tick(plan.mailbox);
      }
    }
    if (plan.reads.length > 0) {
      const ids = plan.reads.map((read) => read.messageId);
      try {
        const marked = await imap.markSeen(INBOX, ids, plan.inboxWindow);
        result.markedRead = marked.size;
        // Gone from INBOX between plan and now: wait for the next run.
        result.pending += ids.filter((id) => !marked.has(id)).length;
      } catch (error) {
        if (!(error instanceof ImapError) || error.fault !== 'refused') throw error;
        for (const id of ids) result.failed.push({ messageId: id, reason: error.message });
      }
      for (const _ of ids) tick(plan.mailbox);
    }
  } catch (error) {
    throw inMailbox(plan.mailbox, error);
  } finally {
    await imap.close().catch(() => undefined);
  }
  return result;
}

/** An IMAP failure named by its mailbox (once), so the one line the admin sees says whose it was. */
function inMailbox(mailbox: string, error: unknown): unknown {
  if (!(error instanceof ImapError) || error.message.startsWith(`${mailbox}: `)) return error;
  return new ImapError(error.fault, `${mailbox}: ${error.message}`, { cause: error });
}

/** The journal's pending reads after a mailbox: this mailbox's replaced by what is still pending now. */
function nextPending(before: readonly PendingRead[], plan: MailboxPlan, now: Date): PendingRead[] {
  const earlier = new Map(before.filter((p) => p.mailbox === plan.mailbox).map((p) => [p.sesMessageId, p.since]));
  const still = plan.stillPending.map((candidate) => ({
    mailbox: plan.mailbox,
    sesMessageId: candidate.entry.sesMessageId,
    since: earlier.get(candidate.entry.sesMessageId) ?? now.toISOString(),
  }));
  return [...before.filter((p) => p.mailbox !== plan.mailbox), ...still];
}

/** A mailbox's live entries of one folder received in the window, newest first, page by page. */
async function* entriesIn(
  mailbox: string,
  folder: Folder,
  window: DateWindow,
  index: ReconcileDeps['index'],
  now: Date,
): AsyncGenerator<MailboxEntry> {
  let cursor: string | null = null;
  do {
    const page = await index.listMailboxPage(mailbox, { folder, limit: MAX_INDEX_PAGE_SIZE, cursor, includeQuarantined: false }, now);
    for (const entry of page.entries) {
      const at = Date.parse(entry.receivedAt);
      if (at < window.since.getTime()) return;
      if (at < window.until.getTime()) yield entry;
    }
    cursor = page.nextCursor;
  } while (cursor);
}

async function entryOf(mailbox: string, sesMessageId: string, deps: ReconcileDeps, now: Date): Promise<MailboxEntry | null> {
  for (const folder of ['inbox', 'deleted'] as const) {
    for await (const entry of entriesIn(
      mailbox,
      folder,
      { since: new Date(0), until: new Date(now.getTime() + DAY_MS) },
      deps.index,
      now,
    )) {
      if (entry.sesMessageId === sesMessageId) return entry;
    }
  }
  return null;
}

/** Each read message with where its forward stands for this mailbox's recipients. */
async function readCandidates(reads: readonly MailboxEntry[], deps: ReconcileDeps, now: Date): Promise<ReadCandidate[]> {
  const candidates: ReadCandidate[] = [];
  for (const entry of reads) {
    const record = await deps.index.getMessage(entry.sesMessageId, now);
    const messageId = record && canonicalMessageId(record);
    if (!record || !messageId) continue;
    const mine = new Set(entry.recipients.map(normalizeAddress));
    const states = (await deps.index.getDeliveryStates(entry.sesMessageId, now)).filter((s) => mine.has(normalizeAddress(s.recipient)));
    if (states.some((s) => s.state === 'delivered')) candidates.push({ entry, messageId, status: 'delivered', reason: '' });
    else if (states.length > 0 && states.every((s) => s.state === 'failed'))
      candidates.push({ entry, messageId, status: 'gone', reason: `the forward gave up: ${states[0]!.reason ?? 'failed'}` });
    else candidates.push({ entry, messageId, status: 'waiting', reason: '' });
  }
  return candidates;
}

function sentMessage(record: MessageRecord): SentMessage {
  return {
    record,
    messageId: canonicalMessageId(record) ?? '',
    date: new Date(record.summary.date ?? record.receivedAt),
    subject: record.summary.subject,
  };
}

/**
 * The Message-ID as the IMAP adapter reads it from a folder (`<id>`, comments dropped,
 * brackets added): the parser's header value may carry a comment, and the two must compare equal.
 */
function canonicalMessageId(record: MessageRecord): string | null {
  return record.summary.messageIdHeader ? (messageIdsIn([record.summary.messageIdHeader])[0] ?? null) : null;
}

/** Each Message-ID once; a copy without one cannot be appended idempotently (reported as failed). */
function unique(sent: readonly SentMessage[]): SentMessage[] {
  const seen = new Set<string>();
  return sent.filter((message) => message.messageId !== '' && !seen.has(message.messageId) && seen.add(message.messageId));
}

function earliest(entries: readonly MailboxEntry[], fallback: Date): Date {
  const times = entries.map((entry) => Date.parse(entry.receivedAt));
  return new Date(Math.min(fallback.getTime(), ...times));
}

async function rawBytes(record: MessageRecord, deps: ReconcileDeps): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await deps.rawStore.open(record.raw)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function plannedResult(plan: PlannedMailbox): ReconcileMailboxResult {
  return {
    mailbox: plan.mailbox,
    sentFolder: plan.sentFolder,
    appended: 0,
    alreadyThere: plan.alreadyThere,
    markedRead: 0,
    pending: plan.pending,
    notFound: plan.notFound,
    failed: plan.failed,
    deletedInWebmail: plan.deletedInWebmail,
  };
}

function publicPlan(plan: MailboxPlan): PlannedMailbox {
  const { mailbox, sentFolder, toAppend, alreadyThere, toMarkRead, pending, notFound, failed, deletedInWebmail } = plan;
  return { mailbox, sentFolder, toAppend, alreadyThere, toMarkRead, pending, notFound, failed, deletedInWebmail };
}

export function summarize(results: readonly ReconcileMailboxResult[]): ReconcileSummary {
  const sum = (pick: (r: ReconcileMailboxResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  return {
    appended: sum((r) => r.appended),
    alreadyThere: sum((r) => r.alreadyThere),
    markedRead: sum((r) => r.markedRead),
    pending: sum((r) => r.pending),
    notFound: sum((r) => r.notFound.length),
    failed: sum((r) => r.failed.length),
    deletedInWebmail: sum((r) => r.deletedInWebmail),
  };
}
