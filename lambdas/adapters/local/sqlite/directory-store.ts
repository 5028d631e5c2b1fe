// The synced directory in the embedded store: the address table the address map reads
// (address-map.ts), one row per user, and one row of sync state (lease and writing mark).
// A sync writes in one transaction per call, so a batch lands whole or not at all; the
// lease's check-and-set runs in an immediate transaction (the write lock taken first), so
// a sync in the CLI and one in the running stack cannot both get it.
import { addressesOf, isMailAddress, normalizeAddress } from '../../../core/addresses.ts';
import { DirectoryError } from '../../../core/directory.ts';
import type { AddressAssignment, DirectoryUser } from '../../../core/model.ts';
import type { DirectoryState, DirectoryStore } from '../../../ports/directory.ts';
import { ADDRESS_SCHEMA } from './address-map.ts';
import { ensureSchema, type LocalDatabase } from './database.ts';

export const DIRECTORY_SCHEMA = [
  ...ADDRESS_SCHEMA,
  `CREATE TABLE IF NOT EXISTS directory_user (
    mailbox TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    aliases TEXT NOT NULL CHECK (json_type(aliases) = 'array'),
    kind TEXT NOT NULL CHECK (kind IN ('user', 'shared')),
    disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    admin INTEGER NOT NULL CHECK (admin IN (0, 1)),
    mobile TEXT,
    private_email TEXT,
    synced_at TEXT NOT NULL
  ) WITHOUT ROWID`,
  // One row (id 1); lease_until in epoch milliseconds.
  `CREATE TABLE IF NOT EXISTS directory_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    lease_owner TEXT,
    lease_until INTEGER,
    writing INTEGER NOT NULL DEFAULT 0 CHECK (writing IN (0, 1)),
    last_sync_at TEXT
  )`,
  'INSERT OR IGNORE INTO directory_state (id) VALUES (1)',
] as const;

interface UserRow {
  mailbox: string;
  id: string;
  display_name: string;
  aliases: string;
  kind: 'user' | 'shared';
  disabled: number;
  admin: number;
  mobile: string | null;
  private_email: string | null;
}

interface StateRow {
  lease_owner: string | null;
  lease_until: number | null;
  writing: number;
  last_sync_at: string | null;
}

export class SqliteDirectoryStore implements DirectoryStore {
  private readonly db: LocalDatabase;
  private readonly statements;
  /** Once a sync has finished, one always has: asked for every RCPT, read until then. */
  private synced = false;

  constructor(db: LocalDatabase) {
    ensureSchema(db, DIRECTORY_SCHEMA);
    this.db = db;
    this.statements = {
      users: db.prepare<[], UserRow>('SELECT * FROM directory_user ORDER BY mailbox'),
      user: db.prepare<[string], UserRow>('SELECT * FROM directory_user WHERE mailbox = ?'),
      state: db.prepare<[], StateRow>('SELECT lease_owner, lease_until, writing, last_sync_at FROM directory_state WHERE id = 1'),
      takeLease: db.prepare('UPDATE directory_state SET lease_owner = ?, lease_until = ? WHERE id = 1'),
      setWriting: db.prepare('UPDATE directory_state SET writing = 1 WHERE id = 1'),
      finish: db.prepare('UPDATE directory_state SET writing = 0, last_sync_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = 1'),
      release: db.prepare('UPDATE directory_state SET lease_owner = NULL, lease_until = NULL WHERE id = 1'),
      mailboxOf: db.prepare<[string], { mailbox: string }>('SELECT mailbox FROM address WHERE address = ?'),
      putAddress: db.prepare('INSERT OR REPLACE INTO address (address, mailbox) VALUES (?, ?)'),
      deleteAddress: db.prepare('DELETE FROM address WHERE address = ?'),
      putUser: db.prepare(
        `INSERT OR REPLACE INTO directory_user (mailbox, id, display_name, aliases, kind, disabled, admin, mobile, private_email, synced_at)
         VALUES (@mailbox, @id, @displayName, @aliases, @kind, @disabled, @admin, @mobile, @privateEmail, @syncedAt)`,
      ),
      deleteUser: db.prepare('DELETE FROM directory_user WHERE mailbox = ?'),
    } as const;
  }

  async readState(): Promise<DirectoryState> {
    // One read transaction: the users and the mark as of one moment.
    return this.db.transaction(() => ({
      users: this.statements.users.all().map(toUser),
      interrupted: this.state().writing === 1,
    }))();
  }

  async beginSync(owner: string, now: Date, leaseMs: number): Promise<{ interrupted: boolean }> {
    return this.db
      .transaction(() => {
        const state = this.state();
        if (state.lease_until !== null && state.lease_until >= now.getTime() && state.lease_owner !== owner) {
          throw new DirectoryError(
            'DIRECTORY_BUSY',
            `another directory sync is running (${state.lease_owner ?? 'unknown'}, lease until ${new Date(state.lease_until).toISOString()}); nothing was changed`,
          );
        }
        this.statements.takeLease.run(owner, now.getTime() + leaseMs);
        return { interrupted: state.writing === 1 };
      })
      .immediate();
  }

  async markWriting(owner: string): Promise<void> {
    this.asOwner(owner, () => this.statements.setWriting.run());
  }

  async finishSync(owner: string, now: Date): Promise<void> {
    this.asOwner(owner, () => this.statements.finish.run(now.toISOString()));
  }

  async releaseSync(owner: string): Promise<void> {
    this.asOwner(owner, () => this.statements.release.run());
  }

  async hasSynced(): Promise<boolean> {
    this.synced ||= this.state().last_sync_at !== null;
    return this.synced;
  }

  async putAddresses(entries: readonly AddressAssignment[]): Promise<void> {
    this.db.transaction(() => {
      for (const { address, mailbox } of entries) this.statements.putAddress.run(normalizeAddress(address), mailbox);
    })();
  }

  async deleteAddresses(addresses: readonly string[]): Promise<void> {
    this.db.transaction(() => {
      for (const address of addresses) this.statements.deleteAddress.run(normalizeAddress(address));
    })();
  }

  async putUsers(users: readonly DirectoryUser[]): Promise<void> {
    const syncedAt = new Date().toISOString();
    this.db.transaction(() => {
      for (const user of users) {
        this.statements.putUser.run({
          mailbox: user.mailbox,
          id: user.id,
          displayName: user.displayName,
          aliases: JSON.stringify(user.aliases),
          kind: user.kind,
          disabled: user.disabled ? 1 : 0,
          admin: user.admin ? 1 : 0,
          mobile: user.mobile ?? null,
          privateEmail: user.privateEmail ?? null,
          syncedAt,
        });
      }
    })();
  }

  async deleteUsers(mailboxes: readonly string[]): Promise<void> {
    this.db.transaction(() => {
      for (const mailbox of mailboxes) this.statements.deleteUser.run(mailbox);
    })();
  }

  async userForAddress(address: string): Promise<DirectoryUser | null> {
    const normalized = normalizeAddress(address);
    if (!isMailAddress(normalized)) return null;
    const entry = this.statements.mailboxOf.get(normalized);
    const row = entry ? this.statements.user.get(entry.mailbox) : undefined;
    const user = row ? toUser(row) : null;
    // An address row pointing at a mailbox does not make the mailbox's owner the owner
    // of that address: it has to be one of their own addresses.
    return user && addressesOf(user).includes(normalized) ? user : null;
  }

  private state(): StateRow {
    const state = this.statements.state.get();
    if (!state) throw new Error('directory_state has no row');
    return state;
  }

  /** Runs `write` only while `owner` holds the lease (expired or not: nobody took it over). */
  private asOwner(owner: string, write: () => unknown): void {
    this.db
      .transaction(() => {
        if (this.state().lease_owner !== owner) {
          throw new DirectoryError('DIRECTORY_BUSY', `the sync lease of ${owner} ran out and another sync took over`);
        }
        write();
      })
      .immediate();
  }
}

function toUser(row: UserRow): DirectoryUser {
  return {
    id: row.id,
    mailbox: row.mailbox,
    displayName: row.display_name,
    aliases: JSON.parse(row.aliases) as string[],
    kind: row.kind,
    disabled: row.disabled === 1,
    admin: row.admin === 1,
    ...(row.mobile !== null && { mobile: row.mobile }),
    ...(row.private_email !== null && { privateEmail: row.private_email }),
  };
}
