// An in-memory IMAP server behind the port ports/imap-mailboxes.ts, for the reconcile
// use case's unit tests. It behaves like folders do: APPEND stores the bytes with the
// flags and internal date given, Message-IDs are read from the stored headers (as the
// adapter reads fetched headers), the date window uses the internal date with a day of
// slack, a read-only session refuses APPEND and STORE, and every failure is an ImapError
// with a fault. Hooks let a test fail one command or "kill" the run right after an
// APPEND was stored (the hazard the resumable job must survive).
import { messageIdsIn } from '../../lambdas/core/compose/message-ids.ts';
import { ImapError } from '../../lambdas/core/errors.ts';
import type { DateWindow, ImapMailbox, ImapMailboxes } from '../../lambdas/ports/imap-mailboxes.ts';
import { topLevelHeaders } from './mime-headers.ts';

export interface StoredImapMessage {
  raw: Buffer;
  flags: Set<string>;
  internalDate: Date;
}

export interface MemoryImapFolder {
  specialUse: string | null;
  messages: StoredImapMessage[];
}

const DAY_MS = 86_400_000;

export class MemoryImapMailboxes implements ImapMailboxes {
  /** mailbox → folder name → folder. */
  readonly mailboxes = new Map<string, Map<string, MemoryImapFolder>>();
  /** What every session did, in order (`open alice ro`, `append alice Sent`, …). */
  readonly log: string[] = [];
  /** Thrown by open() when set: a wrong service password, an unreachable server. */
  openFault: ImapError | null = null;
  /** Called after each stored APPEND; throw from it to simulate a kill before the caller records it. */
  afterAppend: ((mailbox: string, messageId: string | null) => void) | null = null;
  /** Message-IDs whose APPEND the server refuses (NO). */
  readonly refuseAppend = new Set<string>();

  /** A user with INBOX and a Sent folder (SPECIAL-USE `\Sent` unless `sentSpecialUse` is false). */
  addUser(mailbox: string, options: { sentName?: string; sentSpecialUse?: boolean } = {}): this {
    const folders = new Map<string, MemoryImapFolder>([['INBOX', { specialUse: null, messages: [] }]]);
    if (options.sentName !== null) {
      folders.set(options.sentName ?? 'Sent', { specialUse: options.sentSpecialUse === false ? null : '\\Sent', messages: [] });
    }
    this.mailboxes.set(mailbox, folders);
    return this;
  }

  /** A user without any Sent folder. */
  addUserWithoutSent(mailbox: string): this {
    this.mailboxes.set(mailbox, new Map([['INBOX', { specialUse: null, messages: [] }]]));
    return this;
  }

  folder(mailbox: string, name: string): MemoryImapFolder {
    const folder = this.mailboxes.get(mailbox)?.get(name);
    if (!folder) throw new Error(`test setup: no folder ${name} for ${mailbox}`);
    return folder;
  }

  /** Delivers a message as the forward would (unseen, in INBOX). */
  deliver(mailbox: string, raw: string | Buffer, internalDate: Date): void {
    this.folder(mailbox, 'INBOX').messages.push({ raw: Buffer.from(raw), flags: new Set(), internalDate });
  }

  async open(mailbox: string, options: { readOnly: boolean }): Promise<ImapMailbox> {
    if (this.openFault) throw this.openFault;
    const folders = this.mailboxes.get(mailbox);
    if (!folders) throw new ImapError('mailbox', `NO [AUTHORIZATIONFAILED] no access to ${mailbox}`);
    this.log.push(`open ${mailbox} ${options.readOnly ? 'ro' : 'rw'}`);
    let open = true;
    const folderOf = (name: string) => {
      if (!open) throw new ImapError('refused', 'BAD session closed');
      const folder = folders.get(name);
      if (!folder) throw new ImapError('refused', `NO [NONEXISTENT] ${name}`);
      return folder;
    };
    const writable = () => {
      if (options.readOnly) throw new ImapError('refused', 'NO read-only session');
    };
    return {
      findSentFolder: async (names) => {
        for (const [name, folder] of folders) if (folder.specialUse === '\\Sent') return name;
        const wanted = names.map((name) => name.toLowerCase());
        for (const want of wanted) for (const name of folders.keys()) if (name.toLowerCase() === want) return name;
        return null;
      },
      messageIds: async (name, window) => new Set(inWindow(folderOf(name), window).flatMap((m) => messageIdOf(m.raw) ?? [])),
      append: async (name, raw, date) => {
        writable();
        const folder = folderOf(name);
        const messageId = messageIdOf(Buffer.from(raw));
        if (messageId && this.refuseAppend.has(messageId)) throw new ImapError('refused', `NO [OVERQUOTA] append of ${messageId} refused`);
        folder.messages.push({ raw: Buffer.from(raw), flags: new Set(['\\Seen']), internalDate: date });
        this.log.push(`append ${mailbox} ${name} ${messageId}`);
        this.afterAppend?.(mailbox, messageId);
      },
      markSeen: async (name, ids, window) => {
        writable();
        const wanted = new Set(ids);
        const found = new Set<string>();
        for (const message of inWindow(folderOf(name), window)) {
          const id = messageIdOf(message.raw);
          if (id && wanted.has(id)) {
            message.flags.add('\\Seen');
            found.add(id);
          }
        }
        this.log.push(`seen ${mailbox} ${name} ${[...found].join(' ')}`);
        return found;
      },
      close: async () => {
        open = false;
      },
    };
  }
}

function inWindow(folder: MemoryImapFolder, window: DateWindow): StoredImapMessage[] {
  return folder.messages.filter(
    (m) => m.internalDate.getTime() >= window.since.getTime() - DAY_MS && m.internalDate.getTime() < window.until.getTime() + DAY_MS,
  );
}

/** As the adapter reads it: the header's `<id>` (comments dropped, brackets added). */
function messageIdOf(raw: Buffer): string | null {
  const value = topLevelHeaders(raw).find((header) => header.name.toLowerCase() === 'message-id')?.value;
  return value === undefined ? null : (messageIdsIn([value])[0] ?? null);
}
