// An in-memory BreakGlassAccounts for the core's unit tests: accounts by username with
// Cognito's states (created → unconfirmed until confirmed), a log of the calls, and a way
// to make one call fail (a refused number, a crash halfway).
import type { BreakGlassAccount, BreakGlassAccountAttributes, BreakGlassAccounts } from '../../lambdas/ports/break-glass-accounts.ts';

export class MemoryBreakGlassAccounts implements BreakGlassAccounts {
  readonly description = 'memory pool';
  readonly accounts = new Map<string, BreakGlassAccount>();
  readonly calls: string[] = [];
  /** Calls named `<method> <username>` throw while listed here (each once). */
  readonly failures = new Set<string>();

  /** An account as it exists before the test (an admin's has directoryId null). */
  seed(account: Partial<BreakGlassAccount> & { username: string }): void {
    this.accounts.set(account.username, {
      directoryId: null,
      email: account.username,
      emailVerified: true,
      phoneNumber: null,
      phoneNumberVerified: false,
      name: null,
      enabled: true,
      confirmed: true,
      ...account,
    });
  }

  private enter(method: string, username: string): void {
    const call = `${method} ${username}`;
    this.calls.push(call);
    if (this.failures.delete(call)) throw new Error(`injected failure in ${call}`);
  }

  private existing(username: string): BreakGlassAccount {
    const account = this.accounts.get(username);
    if (!account) throw new Error(`UserNotFoundException: ${username}`);
    return account;
  }

  async list(): Promise<BreakGlassAccount[]> {
    this.calls.push('list');
    return [...this.accounts.values()].map((account) => ({ ...account }));
  }

  async create(username: string, attributes: BreakGlassAccountAttributes): Promise<void> {
    this.enter('create', username);
    if (this.accounts.has(username)) throw new Error(`UsernameExistsException: ${username}`);
    this.accounts.set(username, { username, ...this.fromAttributes(attributes), enabled: true, confirmed: false });
    this.enter('confirm', username);
    this.existing(username).confirmed = true;
  }

  async confirm(username: string): Promise<void> {
    this.enter('confirm', username);
    this.existing(username).confirmed = true;
  }

  async update(username: string, attributes: BreakGlassAccountAttributes): Promise<void> {
    this.enter('update', username);
    Object.assign(this.existing(username), this.fromAttributes(attributes));
  }

  async setEnabled(username: string, enabled: boolean): Promise<void> {
    this.enter(enabled ? 'enable' : 'disable', username);
    this.existing(username).enabled = enabled;
  }

  async delete(username: string): Promise<void> {
    this.enter('delete', username);
    this.accounts.delete(username);
  }

  private fromAttributes(attributes: BreakGlassAccountAttributes): Omit<BreakGlassAccount, 'username' | 'enabled' | 'confirmed'> {
    return {
      directoryId: attributes.directoryId,
      email: attributes.email,
      emailVerified: true,
      phoneNumber: attributes.phoneNumber,
      phoneNumberVerified: true,
      name: attributes.name,
    };
  }
}
