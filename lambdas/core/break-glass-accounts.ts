// The break-glass accounts kept in step with the directory: every user who may sign in
// and has a mobile number gets a native pool account (username = work address) that takes
// an SMS code while AD FS is down; a user disabled in AD has it disabled, a user gone, or
// without a number any more, has it deleted. Runs after the directory sync, on its users.
//
// Only the sync's own accounts are touched: native accounts that carry a directory id.
// The break-glass admins' accounts and any made by hand carry none, so nothing here can
// change, disable or delete them, and a user whose address is taken by one gets no account
// (a warning says so). Each run lists the pool and plans afresh, so a run that stopped
// halfway is finished by the next: deletes first (a renamed user's old username is freed
// before it may be needed), then creates, confirmations, updates, enables and disables.
import type { BreakGlassAccount, BreakGlassAccountAttributes, BreakGlassAccounts } from '../ports/break-glass-accounts.ts';
import { normalizeAddress } from './addresses.ts';
import { DirectoryError, defaultMaxRemovals } from './directory.ts';
import type { DirectoryUser } from './model.ts';

export type AccountField = 'email' | 'phoneNumber' | 'name' | 'directoryId';

export type AccountDeletion = 'gone' | 'no-mobile' | 'shared' | 'renamed' | 'duplicate';

export type AccountChange =
  | { action: 'create'; username: string; attributes: BreakGlassAccountAttributes }
  | { action: 'confirm'; username: string }
  | { action: 'update'; username: string; attributes: BreakGlassAccountAttributes; fields: AccountField[] }
  | { action: 'enable' | 'disable'; username: string }
  | { action: 'delete'; username: string; why: AccountDeletion };

export interface AccountPlan {
  /** In the order they are applied. */
  changes: AccountChange[];
  /** The sync's accounts that stay as they are. */
  unchanged: number;
  /** Native accounts the sync does not own (admins, made by hand): left alone. */
  foreign: number;
  /** Users who get no account, and why (names only, never numbers). */
  warnings: string[];
}

const ORDER: Record<AccountChange['action'], number> = { delete: 0, create: 1, confirm: 2, update: 3, enable: 4, disable: 4 };

function attributesOf(user: DirectoryUser & { mobile: string }): BreakGlassAccountAttributes {
  return { email: user.mailbox, phoneNumber: user.mobile, name: user.displayName, directoryId: user.id };
}

/** What differs between an account and what the directory wants; an unverified address or number counts as different. */
function changedFields(account: BreakGlassAccount, wanted: BreakGlassAccountAttributes): AccountField[] {
  const fields: AccountField[] = [];
  if (account.email === null || normalizeAddress(account.email) !== wanted.email || !account.emailVerified) fields.push('email');
  if (account.phoneNumber !== wanted.phoneNumber || !account.phoneNumberVerified) fields.push('phoneNumber');
  if (account.name !== wanted.name) fields.push('name');
  if (account.directoryId !== wanted.directoryId) fields.push('directoryId');
  return fields;
}

/** Why a user has no account: null when they should have one. */
function noAccountReason(user: DirectoryUser): Exclude<AccountDeletion, 'gone' | 'renamed' | 'duplicate'> | null {
  if (user.kind === 'shared') return 'shared';
  if (user.mobile === undefined) return 'no-mobile';
  return null;
}

/** The changes that bring the pool's accounts in step with the directory's complete user list. */
export function planBreakGlassAccounts(users: readonly DirectoryUser[], accounts: readonly BreakGlassAccount[]): AccountPlan {
  const usersById = new Map(users.map((user) => [user.id, user]));
  const own = accounts.filter((account) => account.directoryId !== null);
  const foreign = accounts.filter((account) => account.directoryId === null);
  const changes: AccountChange[] = [];
  const warnings: string[] = [];
  let unchanged = 0;

  // Each user keeps at most one account: the one under their current address if there is one.
  const kept = new Map<string, BreakGlassAccount>();
  for (const account of own) {
    const user = usersById.get(account.directoryId!);
    const why = user === undefined ? 'gone' : noAccountReason(user);
    if (why !== null) {
      changes.push({ action: 'delete', username: account.username, why });
      continue;
    }
    const current = kept.get(user!.id);
    const better = current === undefined || (account.username === user!.mailbox && current.username !== user!.mailbox);
    if (current !== undefined) {
      const loser = better ? current : account;
      changes.push({ action: 'delete', username: loser.username, why: 'duplicate' });
    }
    if (better) kept.set(user!.id, account);
  }

  const deleted = new Set(changes.map((change) => change.username));
  const taken = new Set(accounts.filter((account) => !deleted.has(account.username)).map((account) => normalizeAddress(account.username)));
  for (const user of users) {
    if (noAccountReason(user) !== null) continue;
    const wanted = attributesOf(user as DirectoryUser & { mobile: string });
    let account = kept.get(user.id);
    if (account !== undefined && normalizeAddress(account.username) !== user.mailbox) {
      // The username is the address the account was made with and cannot change: a new one under the new address.
      changes.push({ action: 'delete', username: account.username, why: 'renamed' });
      taken.delete(normalizeAddress(account.username));
      account = undefined;
    }
    if (account === undefined) {
      if (user.disabled) continue;
      if (taken.has(user.mailbox)) {
        warnings.push(
          `${user.mailbox}: no break-glass account, the pool has an account of that name the sync did not create (an admin's?)`,
        );
        continue;
      }
      changes.push({ action: 'create', username: user.mailbox, attributes: wanted });
      continue;
    }
    const before = changes.length;
    if (!account.confirmed) changes.push({ action: 'confirm', username: account.username });
    const fields = changedFields(account, wanted);
    if (fields.length > 0) changes.push({ action: 'update', username: account.username, attributes: wanted, fields });
    if (account.enabled === user.disabled) changes.push({ action: user.disabled ? 'disable' : 'enable', username: account.username });
    if (changes.length === before) unchanged += 1;
  }
  changes.sort((a, b) => ORDER[a.action] - ORDER[b.action] || (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  return { changes, unchanged, foreign: foreign.length, warnings };
}

export interface AccountSyncOptions {
  dryRun?: boolean;
  /** Most accounts one run may delete; default defaultMaxRemovals(the sync's accounts). */
  maxRemovals?: number;
}

export interface AccountFailure {
  username: string;
  action: AccountChange['action'];
  reason: string;
}

export interface AccountSyncReport {
  plan: AccountPlan;
  dryRun: boolean;
  /** Changes that failed (the others were made); the next run tries them again. */
  failures: AccountFailure[];
  /** How many of each action were made (or, in a dry run, would be). */
  counts: Record<AccountChange['action'], number>;
}

/** Counts of a plan's changes by action. */
export function countChanges(changes: readonly AccountChange[]): Record<AccountChange['action'], number> {
  const counts = { create: 0, confirm: 0, update: 0, enable: 0, disable: 0, delete: 0 };
  for (const change of changes) counts[change.action] += 1;
  return counts;
}

/**
 * Lists the pool and plans against it; more deletions than allowed are refused
 * (DIRECTORY_MASS_REMOVAL) before anything changes. Run it before the directory store
 * is written, so a wrong mobile attribute that reads no numbers changes neither.
 */
export async function planBreakGlassSync(
  users: readonly DirectoryUser[],
  accounts: BreakGlassAccounts,
  options: Pick<AccountSyncOptions, 'maxRemovals'> = {},
): Promise<AccountPlan> {
  const existing = await accounts.list();
  const plan = planBreakGlassAccounts(users, existing);
  const deletions = plan.changes.filter((change) => change.action === 'delete').length;
  const owned = existing.filter((account) => account.directoryId !== null).length;
  const maxRemovals = options.maxRemovals ?? defaultMaxRemovals(owned);
  if (deletions > maxRemovals) {
    throw new DirectoryError(
      'DIRECTORY_MASS_REMOVAL',
      `the directory would delete ${deletions} of ${owned} break-glass accounts (more than ${maxRemovals}); nothing was changed. ` +
        'Check the mobile attribute (or column) and the filter, or allow it with --max-removals',
    );
  }
  return plan;
}

/**
 * Applies a plan change by change. A change the pool refuses is recorded and the rest go
 * on (one bad number must not keep everyone else out); the next run tries it again.
 */
export async function applyBreakGlassPlan(
  plan: AccountPlan,
  accounts: BreakGlassAccounts,
  options: { dryRun?: boolean } = {},
): Promise<AccountSyncReport> {
  const dryRun = options.dryRun === true;
  const failures: AccountFailure[] = [];
  if (!dryRun) {
    for (const change of plan.changes) {
      try {
        await apply(change, accounts);
      } catch (error) {
        failures.push({ username: change.username, action: change.action, reason: (error as Error).message });
      }
    }
  }
  const failed = new Set(failures.map((failure) => `${failure.action} ${failure.username}`));
  const counts = countChanges(plan.changes.filter((change) => !failed.has(`${change.action} ${change.username}`)));
  return { plan, dryRun, failures, counts };
}

/** Plans against the pool and applies the plan (planBreakGlassSync, then applyBreakGlassPlan). */
export async function syncBreakGlassAccounts(
  users: readonly DirectoryUser[],
  accounts: BreakGlassAccounts,
  options: AccountSyncOptions = {},
): Promise<AccountSyncReport> {
  const plan = await planBreakGlassSync(users, accounts, options);
  return applyBreakGlassPlan(plan, accounts, options);
}

async function apply(change: AccountChange, accounts: BreakGlassAccounts): Promise<void> {
  switch (change.action) {
    case 'create':
      return accounts.create(change.username, change.attributes);
    case 'confirm':
      return accounts.confirm(change.username);
    case 'update':
      return accounts.update(change.username, change.attributes);
    case 'enable':
    case 'disable':
      return accounts.setEnabled(change.username, change.action === 'enable');
    case 'delete':
      return accounts.delete(change.username);
  }
}
