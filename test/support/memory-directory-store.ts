// An in-memory DirectoryStore for the core's unit tests: the same semantics as the
// DynamoDB store (address items, user items by mailbox, lease and writing mark),
// plus a log of the calls and a way to make one call fail (a crash halfway).
import { normalizeAddress } from '../../lambdas/core/addresses.ts';
import { addressesOf, DirectoryError } from '../../lambdas/core/directory.ts';
import type { AddressAssignment, DirectoryUser } from '../../lambdas/core/model.ts';
import type { DirectoryState, DirectoryStore } from '../../lambdas/ports/directory.ts';

export class MemoryDirectoryStore implements DirectoryStore {
  readonly addresses = new Map<string, string>();
  readonly users = new Map<string, DirectoryUser>();
  readonly calls: string[] = [];
  writing = false;
  synced = false;
  lease: { owner: string; until: number } | null = null;
  /** The next call with this name throws (once). */
  failOn: string | null = null;

  private enter(name: string): void {
    this.calls.push(name);
    if (this.failOn === name) {
      this.failOn = null;
      throw new Error(`injected failure in ${name}`);
    }
  }

  async readState(): Promise<DirectoryState> {
    this.enter('readState');
    return { users: [...this.users.values()].map((user) => structuredClone(user)), interrupted: this.writing };
  }

  async beginSync(owner: string, now: Date, leaseMs: number): Promise<{ interrupted: boolean }> {
    this.enter('beginSync');
    if (this.lease && this.lease.until >= now.getTime() && this.lease.owner !== owner) {
      throw new DirectoryError('DIRECTORY_BUSY', `another directory sync is running (${this.lease.owner})`);
    }
    this.lease = { owner, until: now.getTime() + leaseMs };
    return { interrupted: this.writing };
  }

  async markWriting(owner: string): Promise<void> {
    this.enter('markWriting');
    this.checkOwner(owner);
    this.writing = true;
  }

  async finishSync(owner: string): Promise<void> {
    this.enter('finishSync');
    this.checkOwner(owner);
    this.writing = false;
    this.synced = true;
    this.lease = null;
  }

  async hasSynced(): Promise<boolean> {
    return this.synced;
  }

  async releaseSync(owner: string): Promise<void> {
    this.enter('releaseSync');
    this.checkOwner(owner);
    this.lease = null;
  }

  async putAddresses(entries: readonly AddressAssignment[]): Promise<void> {
    this.enter('putAddresses');
    for (const { address, mailbox } of entries) this.addresses.set(address, mailbox);
  }

  async deleteAddresses(addresses: readonly string[]): Promise<void> {
    this.enter('deleteAddresses');
    for (const address of addresses) this.addresses.delete(address);
  }

  async putUsers(users: readonly DirectoryUser[]): Promise<void> {
    this.enter('putUsers');
    for (const user of users) this.users.set(user.mailbox, structuredClone(user));
  }

  async deleteUsers(mailboxes: readonly string[]): Promise<void> {
    this.enter('deleteUsers');
    for (const mailbox of mailboxes) this.users.delete(mailbox);
  }

  async userForAddress(address: string): Promise<DirectoryUser | null> {
    const normalized = normalizeAddress(address);
    const mailbox = this.addresses.get(normalized);
    const user = mailbox === undefined ? undefined : this.users.get(mailbox);
    return user && addressesOf(user).includes(normalized) ? structuredClone(user) : null;
  }

  private checkOwner(owner: string): void {
    if (this.lease?.owner !== owner) throw new DirectoryError('DIRECTORY_BUSY', `lease of ${owner} lost`);
  }
}
