// The webmail's mailbox use cases (lambdas/core/mailbox.ts) against the in-memory
// index: which mailboxes a user sees, folder pages, and above all that no use case
// lets one user reach another mailbox's message — every such attempt is a 404.
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../../../../lambdas/core/errors.ts';
import {
  listFolder,
  type MailboxDeps,
  mailboxesOf,
  markRead,
  markUnread,
  moveToDeleted,
  openEntry,
  restoreToInbox,
} from '../../../../lambdas/core/mailbox.ts';
import type { Identity } from '../../../../lambdas/ports/sign-in.ts';
import { EXPIRED, makeEntry, makeRecord, minutesAgo, NOW } from '../../../support/index-contract/fixtures.ts';
import { ManualClock } from '../../../support/memory-adapters.ts';
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';

const ALICE = 'alice@corp.test';
const BOB = 'bob@corp.test';

function identity(email: string, more: Partial<Identity> = {}): Identity {
  return { subject: `sub-${email}`, email, name: email, groups: [], ...more };
}

const alice = identity(ALICE);
const bob = identity(BOB);

describe('mailbox use cases', () => {
  let index: MemoryMessageIndex;
  let deps: MailboxDeps;

  /** A received message: its record and its entry in one mailbox. */
  async function deliver(mailbox: string, id: string, minutes: number, more: Parameters<typeof makeEntry>[2] = {}): Promise<void> {
    await index.putMessage(
      makeRecord(id, {
        receivedAt: minutesAgo(minutes),
        envelopeRecipients: [mailbox],
        ...(more.visibility !== undefined && { visibility: more.visibility }),
        ...(more.expiresAt !== undefined && { expiresAt: more.expiresAt }),
      }),
    );
    await index.putMailboxEntry(makeEntry(mailbox, id, { receivedAt: minutesAgo(minutes), ...more }));
  }

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: unknown) => error,
    );

  beforeEach(() => {
    index = new MemoryMessageIndex();
    deps = { index, clock: new ManualClock(NOW.toISOString()) };
  });

  describe('mailboxesOf', () => {
    it('maps the token address through the directory, case-insensitively, and falls back to the address itself', async () => {
      // Prepare
      await index.putAddresses([{ address: 'sales@corp.test', mailbox: ALICE }]);
      // Act
      const own = await mailboxesOf(identity('Bob@CORP.test'), index);
      const alias = await mailboxesOf(identity('SALES@corp.test'), index);
      const mapped = await mailboxesOf(identity(' <Alice@Corp.Test> '), index);
      // Assess
      expect(own).toEqual([BOB]);
      expect(alias).toEqual([ALICE]);
      expect(mapped).toEqual([ALICE]);
    });

    it('gives no mailbox to a token without a usable address', async () => {
      // Act
      const results = await Promise.all(['', '   ', 'not-an-address', '@corp.test'].map((email) => mailboxesOf(identity(email), index)));
      // Assess
      expect(results).toEqual([[], [], [], []]);
    });
  });

  describe('listFolder', () => {
    it("lists the caller's inbox newest first, without quarantined or expired mail", async () => {
      // Prepare
      await deliver(ALICE, 'a1', 30);
      await deliver(ALICE, 'a2', 20);
      await deliver(ALICE, 'a-quarantined', 10, { visibility: 'quarantined' });
      await deliver(ALICE, 'a-expired', 5, { expiresAt: EXPIRED });
      await deliver(BOB, 'b1', 1);
      // Act
      const page = await listFolder(identity('Alice@Corp.Test'), { folder: 'inbox' }, deps);
      // Assess
      expect(page.mailbox).toBe(ALICE);
      expect(page.mailboxes).toEqual([ALICE]);
      expect(page.folder).toBe('inbox');
      expect(page.entries.map((entry) => entry.sesMessageId)).toEqual(['a2', 'a1']);
      expect(page.nextCursor).toBeNull();
    });

    it('pages with the cursor and searches sender and subject', async () => {
      // Prepare
      for (let i = 0; i < 7; i += 1) await deliver(ALICE, `p${i}`, 100 - i, { subject: i % 2 === 0 ? `Invoice ${i}` : `News ${i}` });
      // Act
      const first = await listFolder(alice, { folder: 'inbox', limit: 3 }, deps);
      const second = await listFolder(alice, { folder: 'inbox', limit: 3, cursor: first.nextCursor }, deps);
      const search = await listFolder(alice, { folder: 'inbox', search: 'INVOICE' }, deps);
      // Assess
      expect(first.entries.map((entry) => entry.sesMessageId)).toEqual(['p6', 'p5', 'p4']);
      expect(second.entries.map((entry) => entry.sesMessageId)).toEqual(['p3', 'p2', 'p1']);
      expect(search.entries.map((entry) => entry.sesMessageId)).toEqual(['p6', 'p4', 'p2', 'p0']);
    });

    it('lets a user whose address is an alias list the mailbox it maps to', async () => {
      // Prepare
      await index.putAddresses([{ address: 'sales@corp.test', mailbox: ALICE }]);
      await deliver(ALICE, 'a1', 10);
      // Act
      const page = await listFolder(identity('Sales@Corp.Test'), { folder: 'inbox', mailbox: 'ALICE@corp.test' }, deps);
      // Assess
      expect(page.mailbox).toBe(ALICE);
      expect(page.entries.map((entry) => entry.sesMessageId)).toEqual(['a1']);
    });

    it('answers NotFoundError for a mailbox the caller may not see, and for a caller without any', async () => {
      // Prepare
      await deliver(BOB, 'b1', 10);
      // Act
      const other = await failure(listFolder(alice, { folder: 'inbox', mailbox: BOB }, deps));
      const none = await failure(listFolder(identity(''), { folder: 'inbox' }, deps));
      // Assess
      expect(other).toBeInstanceOf(NotFoundError);
      expect(none).toBeInstanceOf(NotFoundError);
    });

    it('refuses unknown folders, bad page sizes, long searches and forged cursors with InvalidInputError', async () => {
      // Act
      const outcomes = await Promise.all([
        failure(listFolder(alice, { folder: 'junk' }, deps)),
        failure(listFolder(alice, { folder: '__proto__' }, deps)),
        failure(listFolder(alice, { folder: 'inbox', limit: 0 }, deps)),
        failure(listFolder(alice, { folder: 'inbox', limit: 101 }, deps)),
        failure(listFolder(alice, { folder: 'inbox', search: 'x'.repeat(201) }, deps)),
        failure(listFolder(alice, { folder: 'inbox', cursor: 'forged!' }, deps)),
      ]);
      // Assess
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(InvalidInputError);
    });
  });

  describe('openEntry', () => {
    it("opens a message of the caller's mailbox with its entry and record", async () => {
      // Prepare
      await deliver(ALICE, 'a1', 10);
      // Act
      const opened = await openEntry(identity('ALICE@corp.test'), 'a1', deps);
      // Assess
      expect(opened.mailbox).toBe(ALICE);
      expect(opened.entry).toEqual(makeEntry(ALICE, 'a1', { receivedAt: minutesAgo(10) }));
      expect(opened.record.sesMessageId).toBe('a1');
    });

    it('opens a message for a user whose address is an alias of the mailbox', async () => {
      // Prepare
      await index.putAddresses([{ address: 'sales@corp.test', mailbox: ALICE }]);
      await deliver(ALICE, 'a1', 10);
      // Act
      const opened = await openEntry(identity('sales@corp.test'), 'a1', deps);
      // Assess
      expect(opened.mailbox).toBe(ALICE);
    });

    it('answers NotFoundError alike for unknown, expired, quarantined, record-less and malformed ids', async () => {
      // Prepare
      await deliver(ALICE, 'a-expired', 10, { expiresAt: EXPIRED });
      await deliver(ALICE, 'a-quarantined', 10, { visibility: 'quarantined' });
      await index.putMailboxEntry(makeEntry(ALICE, 'a-norecord'));
      // Act
      const outcomes = await Promise.all(
        ['a-unknown', 'a-expired', 'a-quarantined', 'a-norecord', '', 'a b', 'x'.repeat(300), 'a1\n'].map((id) =>
          failure(openEntry(alice, id, deps)),
        ),
      );
      // Assess
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(NotFoundError);
    });

    it('no longer opens a message once its retention has passed', async () => {
      // Prepare
      await deliver(ALICE, 'a1', 10, { expiresAt: Math.floor(NOW.getTime() / 1000) + 60 });
      const before = await openEntry(alice, 'a1', deps);
      // Act
      (deps.clock as ManualClock).advance(61_000);
      const after = await failure(openEntry(alice, 'a1', deps));
      // Assess
      expect(before.entry.sesMessageId).toBe('a1');
      expect(after).toBeInstanceOf(NotFoundError);
    });
  });

  describe('flags', () => {
    it('marks read and unread', async () => {
      // Prepare
      await deliver(ALICE, 'a1', 10);
      // Act
      await markRead(alice, 'a1', deps);
      const afterRead = await index.getMailboxEntry(ALICE, 'a1', NOW);
      await markUnread(alice, 'a1', deps);
      const afterUnread = await index.getMailboxEntry(ALICE, 'a1', NOW);
      // Assess
      expect(afterRead?.read).toBe(true);
      expect(afterUnread?.read).toBe(false);
    });

    it('moves to Deleted and restores to the inbox; the folders list it accordingly', async () => {
      // Prepare
      await deliver(ALICE, 'a1', 10);
      await deliver(ALICE, 'a2', 5);
      // Act
      await moveToDeleted(alice, 'a1', deps);
      const inboxAfterDelete = await listFolder(alice, { folder: 'inbox' }, deps);
      const deleted = await listFolder(alice, { folder: 'deleted' }, deps);
      const reopened = await openEntry(alice, 'a1', deps);
      await restoreToInbox(alice, 'a1', deps);
      const inboxAfterRestore = await listFolder(alice, { folder: 'inbox' }, deps);
      // Assess
      expect(inboxAfterDelete.entries.map((entry) => entry.sesMessageId)).toEqual(['a2']);
      expect(deleted.entries.map((entry) => entry.sesMessageId)).toEqual(['a1']);
      expect(reopened.entry.folder).toBe('deleted');
      expect(inboxAfterRestore.entries.map((entry) => entry.sesMessageId)).toEqual(['a2', 'a1']);
    });

    it('changes nothing for expired or quarantined messages', async () => {
      // Prepare
      await deliver(ALICE, 'a-expired', 10, { expiresAt: EXPIRED });
      await deliver(ALICE, 'a-quarantined', 10, { visibility: 'quarantined' });
      // Act
      const outcomes = await Promise.all([
        failure(markRead(alice, 'a-expired', deps)),
        failure(moveToDeleted(alice, 'a-quarantined', deps)),
      ]);
      // Assess
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(NotFoundError);
      expect(index.entries.get(`${ALICE}|a-expired`)).toMatchObject({ read: false, folder: 'inbox' });
      expect(index.entries.get(`${ALICE}|a-quarantined`)).toMatchObject({ read: false, folder: 'inbox' });
    });
  });

  describe('cross-mailbox attempts', () => {
    const useCases: Array<[string, (who: Identity, id: string) => Promise<unknown>]> = [
      ['openEntry', (who, id) => openEntry(who, id, deps)],
      ['markRead', (who, id) => markRead(who, id, deps)],
      ['markUnread', (who, id) => markUnread(who, id, deps)],
      ['moveToDeleted', (who, id) => moveToDeleted(who, id, deps)],
      ['restoreToInbox', (who, id) => restoreToInbox(who, id, deps)],
    ];

    it.each(useCases)("%s on bob's message id answers NotFoundError to alice and changes nothing", async (_name, useCase) => {
      // Prepare
      await deliver(ALICE, 'a1', 20);
      await deliver(BOB, 'b1', 10);
      await deliver(BOB, 'b-deleted', 5, { folder: 'deleted', read: true });
      const bobBefore = structuredClone([...index.entries.values()].filter((entry) => entry.mailbox === BOB));
      // Act
      const outcomes = await Promise.all([
        failure(useCase(alice, 'b1')),
        failure(useCase(alice, 'b-deleted')),
        failure(useCase(identity('ALICE@CORP.TEST'), 'b1')),
      ]);
      // Assess
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(NotFoundError);
      expect([...index.entries.values()].filter((entry) => entry.mailbox === BOB)).toEqual(bobBefore);
      // the same id works for its owner: alice's answer is about her, not about the id
      await expect(useCase(bob, 'b1')).resolves.not.toBeInstanceOf(Error);
    });

    it("answers a message id in both mailboxes from the caller's own copy only", async () => {
      // Prepare: one message sent to both; bob deleted his copy
      await deliver(ALICE, 'm-both', 10);
      await deliver(BOB, 'm-both', 10);
      await moveToDeleted(bob, 'm-both', deps);
      // Act
      const opened = await openEntry(alice, 'm-both', deps);
      await markRead(alice, 'm-both', deps);
      // Assess
      expect(opened).toMatchObject({ mailbox: ALICE, entry: { folder: 'inbox' } });
      expect(await index.getMailboxEntry(BOB, 'm-both', NOW)).toMatchObject({ read: false, folder: 'deleted' });
      expect(await index.getMailboxEntry(ALICE, 'm-both', NOW)).toMatchObject({ read: true, folder: 'inbox' });
    });

    it('does not give an alias user more than the mailbox the alias maps to', async () => {
      // Prepare
      await index.putAddresses([{ address: 'sales@corp.test', mailbox: ALICE }]);
      await deliver(BOB, 'b1', 10);
      await deliver('sales@corp.test', 'stray', 10);
      // Act
      const outcomes = await Promise.all([
        failure(openEntry(identity('sales@corp.test'), 'b1', deps)),
        failure(openEntry(identity('sales@corp.test'), 'stray', deps)),
        failure(listFolder(identity('sales@corp.test'), { folder: 'inbox', mailbox: 'sales@corp.test' }, deps)),
      ]);
      // Assess
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(NotFoundError);
    });
  });
});
