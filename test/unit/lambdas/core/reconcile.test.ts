// The reconcile use case against an in-memory IMAP server that behaves like folders
// (test/support/memory-imap-mailboxes.ts) and the in-memory index: Sent copies appended
// byte for byte once, read state only for delivered messages, pending carried and
// bounded, a kill after an APPEND and a restart, dry run, and each bad input.
import { beforeEach, describe, expect, it } from 'vitest';
import { SENT_PREFIX } from '../../../../lambdas/contract/raw-mail-bucket.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import { ImapError, InvalidInputError } from '../../../../lambdas/core/errors.ts';
import type { DeliveryStateName, MailboxEntry } from '../../../../lambdas/core/model.ts';
import {
  DEFAULT_SENT_FOLDER_NAMES,
  DELETIONS_NOT_APPLIED,
  type ReconcileDeps,
  type ReconcileRequest,
  reconcile,
} from '../../../../lambdas/core/reconcile.ts';
import type { ReconcileJournal, ReconcileJournalState } from '../../../../lambdas/ports/reconcile-journal.ts';
import { ManualClock, MemoryRawMailStore } from '../../../support/memory-adapters.ts';
import { MemoryDirectoryStore } from '../../../support/memory-directory-store.ts';
import { MemoryImapMailboxes } from '../../../support/memory-imap-mailboxes.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { MemoryAuditLog } from '../../../support/memory-resend.ts';
import { putReceived, putSentCopy } from '../../../support/reconcile-mail.ts';

const BUCKET = 'raw-bucket';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const EXPIRES = Date.parse('2031-01-01T00:00:00Z') / 1000;

class MemoryJournal implements ReconcileJournal {
  readonly where = 'memory';
  state: ReconcileJournalState = { job: null, pending: [] };
  writes = 0;
  async read(): Promise<ReconcileJournalState> {
    return structuredClone(this.state);
  }
  async write(state: ReconcileJournalState): Promise<void> {
    this.writes += 1;
    this.state = structuredClone(state);
  }
}

function raw(messageId: string, subject: string, extra = ''): string {
  return `${extra}From: x@example.com\r\nTo: y@example.org\r\nSubject: ${subject}\r\nMessage-ID: ${messageId}\r\nDate: Tue, 4 Mar 2031 10:00:00 +0000\r\n\r\nbody of ${subject}\r\n`;
}

describe('reconcile', () => {
  let index: MemoryMessageIndex;
  let store: MemoryRawMailStore;
  let directory: MemoryDirectoryStore;
  let imap: MemoryImapMailboxes;
  let journal: MemoryJournal;
  let audit: MemoryAuditLog;
  let clock: ManualClock;

  beforeEach(async () => {
    index = new MemoryMessageIndex();
    store = new MemoryRawMailStore();
    directory = new MemoryDirectoryStore();
    imap = new MemoryImapMailboxes().addUser(ALICE).addUser(BOB, { sentName: 'Gesendete Elemente', sentSpecialUse: false });
    journal = new MemoryJournal();
    audit = new MemoryAuditLog();
    clock = new ManualClock('2030-03-05T12:00:00Z');
    await directory.putUsers([
      makeDirectoryUser({ id: 'a', mailbox: ALICE, aliases: ['info@example.com'] }),
      makeDirectoryUser({ id: 'b', mailbox: BOB }),
    ]);
    await directory.putAddresses([
      { address: ALICE, mailbox: ALICE },
      { address: 'info@example.com', mailbox: ALICE },
      { address: BOB, mailbox: BOB },
    ]);
  });

  const deps = (): ReconcileDeps => ({
    index,
    rawStore: store,
    directory,
    imap,
    journal,
    audit,
    clock,
    sentKeyPrefix: SENT_PREFIX,
  });

  const request = (overrides: Partial<ReconcileRequest> = {}): ReconcileRequest => ({
    actor: 'cli:ops@host',
    server: 'imaps://exchange.corp.example:993 as svc',
    mailboxes: [],
    since: new Date('2030-03-01T00:00:00Z'),
    readState: false,
    dryRun: false,
    sentFolderNames: DEFAULT_SENT_FOLDER_NAMES,
    ...overrides,
  });

  const mail = () => ({
    index,
    raw: { put: async (location: { bucket: string; key: string }, body: unknown) => store.put(location, body as Buffer) },
    bucket: BUCKET,
    expiresAt: EXPIRES,
  });

  /** A message sent from the webmail: a Sent copy under sent/ (with the Bcc line the sender's copy keeps). */
  const sent = (mailbox: string, n: string, at: string, folder: MailboxEntry['folder'] = 'sent') =>
    putSentCopy(mail(), mailbox, `sent-${n}`, raw(`<${n}@example.com>`, `sent ${n}`, 'Bcc: hidden@example.org\r\n'), new Date(at), folder);

  /** A received message the user read (or not), with the forward's state for the mailbox. */
  const received = (mailbox: string, n: string, at: string, state: DeliveryStateName, read = true) =>
    putReceived(mail(), mailbox, `in-${n}`, raw(`<${n}@partner.example>`, `in ${n}`), new Date(at), { read, state });

  describe('Sent copies', () => {
    it('appends every message sent in the window byte for byte, \\Seen, with its date, to the SPECIAL-USE or localized Sent folder', async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await sent(ALICE, 'a2', '2030-03-03T09:00:00.000Z');
      await sent(BOB, 'b1', '2030-03-04T09:00:00.000Z');
      await sent(ALICE, 'old', '2030-02-27T09:00:00.000Z');
      // Act
      const report = await reconcile(request(), deps());
      // Assess
      const aliceSent = imap.folder(ALICE, 'Sent').messages;
      expect(aliceSent.map((m) => m.raw.toString())).toEqual([
        raw('<a1@example.com>', 'sent a1', 'Bcc: hidden@example.org\r\n'),
        raw('<a2@example.com>', 'sent a2', 'Bcc: hidden@example.org\r\n'),
      ]);
      expect(aliceSent.map((m) => [[...m.flags], m.internalDate.toISOString()])).toEqual([
        [['\\Seen'], '2030-03-02T09:00:00.000Z'],
        [['\\Seen'], '2030-03-03T09:00:00.000Z'],
      ]);
      expect(imap.folder(BOB, 'Gesendete Elemente').messages).toHaveLength(1);
      expect(report.summary).toMatchObject({ appended: 3, alreadyThere: 0, failed: 0 });
      expect(report.mailboxes.map((m) => [m.mailbox, m.sentFolder])).toEqual([
        [ALICE, 'Sent'],
        [BOB, 'Gesendete Elemente'],
      ]);
      expect(report.deletions).toBe(DELETIONS_NOT_APPLIED);
    });

    it('appends nothing on a second run: what the folder holds is already there', async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await reconcile(request(), deps());
      clock.advance(60_000);
      // Act
      const second = await reconcile(request(), deps());
      // Assess
      expect(imap.folder(ALICE, 'Sent').messages).toHaveLength(1);
      expect(second.summary).toMatchObject({ appended: 0, alreadyThere: 1 });
    });

    it('compares Message-IDs as the folder shows them: a header value with a comment is found again, not appended twice', async () => {
      // Prepare
      await putSentCopy(mail(), ALICE, 'sent-c1', raw('<c1@example.com> (webmail)', 'sent c1'), new Date('2030-03-02T09:00:00.000Z'));
      index.messages.get('sent-c1')!.summary.messageIdHeader = '<c1@example.com> (webmail)>';
      // Act
      const first = await reconcile(request(), deps());
      const second = await reconcile(request(), deps());
      // Assess
      expect([first.summary.appended, second.summary.appended, second.summary.alreadyThere]).toEqual([1, 0, 1]);
    });

    it('appends a Sent copy deleted in the webmail (deletions are not applied), never a deleted received message', async () => {
      // Prepare
      await sent(ALICE, 'gone', '2030-03-02T09:00:00.000Z', 'deleted');
      await received(ALICE, 'junk', '2030-03-02T10:00:00.000Z', 'delivered');
      await index.updateMailboxEntry(ALICE, 'in-junk', { folder: 'deleted' });
      // Act
      const report = await reconcile(request(), deps());
      // Assess
      expect(imap.folder(ALICE, 'Sent').messages.map((m) => m.raw.toString())).toEqual([
        raw('<gone@example.com>', 'sent gone', 'Bcc: hidden@example.org\r\n'),
      ]);
      expect(report.summary).toMatchObject({ appended: 1, deletedInWebmail: 2 });
    });

    it('opens no mailbox that has nothing to reconcile', async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      // Act
      await reconcile(request(), deps());
      // Assess
      expect(imap.log.filter((line) => line.startsWith('open'))).toEqual([`open ${ALICE} ro`, `open ${ALICE} rw`]);
    });

    it('records the server refusing one append with its reply, and a stored copy gone, and appends the rest', async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await sent(ALICE, 'a2', '2030-03-03T09:00:00.000Z');
      imap.refuseAppend.add('<a1@example.com>');
      await sent(ALICE, 'gone', '2030-03-04T09:00:00.000Z');
      store.objects.delete(`${BUCKET}/${SENT_PREFIX}sent-gone`);
      // Act
      const report = await reconcile(request(), deps());
      // Assess
      expect(report.summary).toMatchObject({ appended: 1, failed: 2 });
      expect(report.mailboxes[0]!.failed).toEqual([
        { messageId: '<a1@example.com>', reason: 'NO [OVERQUOTA] append of <a1@example.com> refused' },
        { messageId: '<gone@example.com>', reason: 'the stored copy is gone (expired with the retention?)' },
      ]);
    });
  });

  describe('the resumable job', () => {
    it('after a kill between an APPEND and its record, a restart appends nothing twice and misses nothing', async () => {
      // Prepare: alice done, bob's first append stored, then the process dies.
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await sent(BOB, 'b1', '2030-03-02T09:00:00.000Z');
      await sent(BOB, 'b2', '2030-03-03T09:00:00.000Z');
      imap.afterAppend = (_mailbox, messageId) => {
        if (messageId === '<b1@example.com>') throw new Error('SIGKILL');
      };
      await expect(reconcile(request(), deps())).rejects.toThrow('SIGKILL');
      imap.afterAppend = null;
      imap.log.length = 0;
      clock.advance(5 * 60_000);
      // Act
      const report = await reconcile(request(), deps());
      // Assess
      expect(imap.folder(ALICE, 'Sent').messages).toHaveLength(1);
      expect(imap.folder(BOB, 'Gesendete Elemente').messages.map((m) => m.raw.toString().match(/<(\w+)@/)?.[1])).toEqual(['b1', 'b2']);
      expect(imap.log.some((line) => line.includes(ALICE))).toBe(false);
      expect(report.resumed).toBe(true);
      expect(report.summary).toMatchObject({ appended: 2, alreadyThere: 1 });
      expect(report.window.until).toBe('2030-03-05T12:00:00.000Z');
      expect(journal.state.job?.finished).toBe(true);
    });

    it("resumes a run started without --since: the window is the interrupted run's", async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await sent(BOB, 'b1', '2030-03-02T09:00:00.000Z');
      imap.afterAppend = (mailbox) => {
        if (mailbox === BOB) throw new Error('SIGKILL');
      };
      await expect(reconcile(request({ since: undefined }), deps())).rejects.toThrow('SIGKILL');
      imap.afterAppend = null;
      clock.advance(3_600_000);
      // Act
      const report = await reconcile(request({ since: undefined }), deps());
      // Assess
      expect(report.resumed).toBe(true);
      expect(report.window).toEqual({ since: '2030-02-02T12:00:00.000Z', until: '2030-03-05T12:00:00.000Z' });
      expect(imap.folder(BOB, 'Gesendete Elemente').messages).toHaveLength(1);
    });

    it('starts afresh (a new window end) when the last run finished or was another command', async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await reconcile(request(), deps());
      clock.advance(3_600_000);
      // Act
      const report = await reconcile(request(), deps());
      // Assess
      expect(report.resumed).toBe(false);
      expect(report.window.until).toBe('2030-03-05T13:00:00.000Z');
    });
  });

  describe('read state', () => {
    it('marks read in INBOX what the user read and the forward delivered; unread, undelivered and failed are not marked', async () => {
      // Prepare
      await received(ALICE, 'r1', '2030-03-02T08:00:00.000Z', 'delivered');
      await received(ALICE, 'unread', '2030-03-02T08:30:00.000Z', 'delivered', false);
      await received(ALICE, 'waiting', '2030-03-02T09:00:00.000Z', 'deferred');
      await received(ALICE, 'bounced', '2030-03-02T09:30:00.000Z', 'failed');
      for (const n of ['r1', 'unread']) imap.deliver(ALICE, raw(`<${n}@partner.example>`, n), new Date('2030-03-05T10:00:00Z'));
      // Act
      const report = await reconcile(request({ readState: true }), deps());
      // Assess
      expect(imap.folder(ALICE, 'INBOX').messages.map((m) => [...m.flags])).toEqual([['\\Seen'], []]);
      expect(report.summary).toMatchObject({ markedRead: 1, pending: 1, notFound: 1 });
      expect(report.mailboxes[0]!.notFound).toEqual([
        { messageId: '<bounced@partner.example>', reason: 'the forward gave up: 550 5.1.1 mailbox unavailable' },
      ]);
      expect(journal.state.pending).toEqual([{ mailbox: ALICE, sesMessageId: 'in-waiting', since: '2030-03-05T12:00:00.000Z' }]);
    });

    it('picks a pending read up in a later run, also outside that run’s window, once the forward delivered it', async () => {
      // Prepare
      await received(ALICE, 'waiting', '2030-03-02T09:00:00.000Z', 'queued');
      await reconcile(request({ readState: true }), deps());
      await index.recordDeliveryAttempt(
        'in-waiting',
        ALICE,
        { at: '2030-03-06T00:00:00Z', code: 250, response: '250 ok', outcome: 'delivered' },
        'delivered',
        null,
      );
      imap.deliver(ALICE, raw('<waiting@partner.example>', 'waiting'), new Date('2030-03-06T00:00:00Z'));
      clock.advance(86_400_000);
      // Act
      const report = await reconcile(request({ readState: true, since: new Date('2030-03-05T00:00:00Z') }), deps());
      // Assess
      expect(report.summary).toMatchObject({ markedRead: 1, pending: 0 });
      expect([...imap.folder(ALICE, 'INBOX').messages[0]!.flags]).toEqual(['\\Seen']);
      expect(journal.state.pending).toEqual([]);
    });

    it('reports a read as not found once it has been pending for the bounded days', async () => {
      // Prepare: delivered, but not in INBOX (an inbox rule moved it).
      await received(ALICE, 'moved', '2030-03-02T09:00:00.000Z', 'delivered');
      const first = await reconcile(request({ readState: true, pendingDays: 2 }), deps());
      clock.advance(2 * 86_400_000);
      // Act
      const later = await reconcile(request({ readState: true, pendingDays: 2 }), deps());
      // Assess
      expect(first.summary).toMatchObject({ pending: 1, notFound: 0 });
      expect(later.summary).toMatchObject({ pending: 0, notFound: 1 });
      expect(later.mailboxes[0]!.notFound[0]!.reason).toBe('not in INBOX after 2 days — an inbox rule may have moved it');
      expect(journal.state.pending).toEqual([]);
    });
  });

  describe('dry run', () => {
    it('opens read-only, lists what it would do, and writes nothing: no APPEND, no \\Seen, no journal, no audit entry', async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await received(ALICE, 'r1', '2030-03-02T08:00:00.000Z', 'delivered');
      imap.deliver(ALICE, raw('<r1@partner.example>', 'r1'), new Date('2030-03-05T10:00:00Z'));
      // Act
      const report = await reconcile(request({ readState: true, dryRun: true }), deps());
      // Assess
      expect(imap.log).toEqual([`open ${ALICE} ro`]);
      expect(imap.folder(ALICE, 'Sent').messages).toEqual([]);
      expect(report.plan).toEqual([
        expect.objectContaining({
          mailbox: ALICE,
          sentFolder: 'Sent',
          toAppend: [{ messageId: '<a1@example.com>', subject: 'sent-a1', date: '2030-03-02T09:00:00.000Z' }],
          toMarkRead: [{ messageId: '<r1@partner.example>', subject: 'in-r1' }],
        }),
      ]);
      expect([journal.writes, audit.events.length]).toEqual([0, 0]);
    });
  });

  describe('bad input: one clear error, nothing written', () => {
    it('refuses a named address the directory does not know', async () => {
      await expect(reconcile(request({ mailboxes: ['nobody@example.com'] }), deps())).rejects.toThrow(
        new InvalidInputError('nobody@example.com: no such mailbox in the directory'),
      );
    });

    it('stops before writing anything when a named mailbox cannot be opened or has no Sent folder', async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await sent(BOB, 'b1', '2030-03-02T09:00:00.000Z');
      imap.mailboxes.delete(BOB);
      const noSent = new MemoryImapMailboxes().addUser(ALICE).addUserWithoutSent(BOB);
      // Act
      const unknown = await reconcile(request({ mailboxes: [ALICE, BOB] }), deps()).catch((error: unknown) => error);
      const missingSent = await reconcile(request({ mailboxes: [ALICE, BOB] }), { ...deps(), imap: noSent }).catch((e: unknown) => e);
      // Assess
      expect(unknown).toBeInstanceOf(ImapError);
      expect((unknown as ImapError).message).toBe(`${BOB}: NO [AUTHORIZATIONFAILED] no access to ${BOB}`);
      expect((missingSent as ImapError).message).toMatch(new RegExp(`^${BOB}: no Sent folder \\(no SPECIAL-USE`));
      expect(imap.folder(ALICE, 'Sent').messages).toEqual([]);
      expect(noSent.folder(ALICE, 'Sent').messages).toEqual([]);
      expect(journal.writes).toBe(0);
    });

    it('stops on a refused service login, an unreachable or hanging server; a directory mailbox without access is reported and skipped', async () => {
      // Prepare
      await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
      await sent(BOB, 'b1', '2030-03-02T09:00:00.000Z');
      imap.openFault = new ImapError('timeout', 'no answer from exchange.corp.example:993 within 30 s');
      const hung = await reconcile(request(), deps()).catch((error: unknown) => error);
      imap.openFault = null;
      imap.mailboxes.delete(BOB);
      // Act
      const report = await reconcile(request(), deps());
      // Assess
      expect(hung).toMatchObject({ fault: 'timeout', message: `${ALICE}: no answer from exchange.corp.example:993 within 30 s` });
      expect(report.summary).toMatchObject({ appended: 1, failed: 1 });
      expect(report.mailboxes[1]!.failed).toEqual([{ messageId: null, reason: `${BOB}: NO [AUTHORIZATIONFAILED] no access to ${BOB}` }]);
    });
  });

  it('leaves one audit entry per run with the counts, naming who ran it against which server', async () => {
    // Prepare
    await sent(ALICE, 'a1', '2030-03-02T09:00:00.000Z');
    // Act
    await reconcile(request({ mailboxes: ['info@example.com'] }), deps());
    // Assess
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({
      actor: 'cli:ops@host',
      action: 'mailbox.reconcile',
      target: ALICE,
      outcome: 'ok',
      details: { server: 'imaps://exchange.corp.example:993 as svc', appended: 1, alreadyThere: 0, failed: 0, mailboxes: 1 },
    });
  });
});
