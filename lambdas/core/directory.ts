// The directory: who has a mailbox, under which addresses, and who may sign in. planSync
// compares a complete source (AD, CSV) with the store; applySync writes only the difference,
// in an order a crash at any point leaves repairable by the next run (docs/design.md §7).

import type { DirectorySource, DirectoryStore } from '../ports/directory.ts';
import { addressesOf, domainOf, isMailAddress, normalizeAddress } from './addresses.ts';
import { type AddressClash, keepMailDomains, resolveClashes } from './directory-clashes.ts';
import { InvalidInputError, ShadowmailError } from './errors.ts';
import type { AddressAssignment, DirectoryUser, DirectoryUserKind } from './model.ts';

export interface AddressMove {
  address: string;
  from: string;
  to: string;
}

export interface UserChange {
  before: DirectoryUser;
  after: DirectoryUser;
  /** Names of the fields that differ, e.g. ['aliases', 'disabled']. */
  fields: Array<keyof DirectoryUser>;
}

export interface SyncPlan {
  /** By stable id: what an admin reads in the diff. */
  users: {
    added: DirectoryUser[];
    changed: UserChange[];
    removed: DirectoryUser[];
    unchanged: number;
  };
  /** Per address: new, now pointing to another mailbox, gone. */
  addresses: {
    set: AddressAssignment[];
    moved: AddressMove[];
    removed: AddressAssignment[];
  };
  /** Every address item is written again (the previous run was interrupted). */
  rewriteAll: boolean;
  /** The store operations that carry the plan out (user items are keyed by mailbox). */
  writes: {
    putAddresses: AddressAssignment[];
    deleteAddresses: string[];
    putUsers: DirectoryUser[];
    deleteUsers: string[];
  };
}

/** Failures of a directory sync; the code says which kind (bind, unreachable, conflict, …). */
export class DirectoryError extends ShadowmailError {
  constructor(code: DirectoryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export type DirectoryErrorCode =
  | 'DIRECTORY_BIND'
  | 'DIRECTORY_UNREACHABLE'
  | 'DIRECTORY_TLS'
  | 'DIRECTORY_SOURCE'
  | 'DIRECTORY_CONFLICT'
  | 'DIRECTORY_MASS_REMOVAL'
  | 'DIRECTORY_BUSY';

/** The only users who may sign in to the webmail: enabled, personal accounts. */
export function canSignIn(user: DirectoryUser | null): user is DirectoryUser {
  return user !== null && user.kind === 'user' && !user.disabled;
}

export { addressesOf };

export interface DirectoryUserInput {
  id: string;
  mailbox: string;
  displayName?: string;
  aliases?: readonly string[];
  kind?: DirectoryUserKind;
  disabled?: boolean;
  admin?: boolean;
  /** Already in E.164 form (core/phone-numbers.ts reads what the source holds). */
  mobile?: string | null;
  privateEmail?: string | null;
}

/**
 * A user in normal form: addresses lower-cased and checked, aliases sorted without
 * duplicates or the primary. Throws InvalidInputError naming the bad value.
 */
export function makeDirectoryUser(input: DirectoryUserInput): DirectoryUser {
  const id = input.id.trim();
  if (id === '') throw new InvalidInputError('a directory user needs an id');
  const mailbox = normalizeAddress(input.mailbox);
  if (!isMailAddress(mailbox)) throw new InvalidInputError(`not a mail address: ${JSON.stringify(input.mailbox)}`);
  const aliases = new Set<string>();
  for (const raw of input.aliases ?? []) {
    const alias = normalizeAddress(raw);
    if (!isMailAddress(alias)) throw new InvalidInputError(`not a mail address: ${JSON.stringify(raw)}`);
    if (alias !== mailbox) aliases.add(alias);
  }
  const kind = input.kind ?? 'user';
  if (kind !== 'user' && kind !== 'shared') throw new InvalidInputError(`kind must be user or shared, not ${JSON.stringify(kind)}`);
  const disabled = input.disabled ?? false;
  return {
    id,
    mailbox,
    displayName: (input.displayName ?? '').trim() || mailbox,
    aliases: [...aliases].sort(),
    kind,
    disabled,
    // Only someone who can sign in is an admin: a disabled account or a shared mailbox in the admin group is not.
    admin: (input.admin ?? false) && !disabled && kind === 'user',
    ...(input.mobile && { mobile: checkedMobile(input.mobile) }),
    ...(input.privateEmail && { privateEmail: checkedPrivateEmail(input.privateEmail) }),
  };
}

function checkedMobile(value: string): string {
  if (!/^\+[1-9]\d{6,14}$/.test(value)) throw new InvalidInputError(`not a mobile number in E.164 form: ${JSON.stringify(value)}`);
  return value;
}

function checkedPrivateEmail(value: string): string {
  const reading = readPrivateEmail(value);
  if (reading === null || 'problem' in reading) throw new InvalidInputError(`not a mail address: ${JSON.stringify(value)}`);
  return reading.privateEmail;
}

// How the directory reaches people when their mail is down: the mobile number (sign-in
// codes, notices; read by the sources with adapters/phone/mobile-numbers.ts) and an
// optional private address (notices). What the sync reports about them names users by
// their work address only, never by a phone number.

export type PrivateEmailReading = { privateEmail: string } | { problem: string };

/** A private address as a source holds it, in comparison form, or why it is not one; null when empty. */
export function readPrivateEmail(raw: string): PrivateEmailReading | null {
  if (raw.trim() === '') return null;
  const address = normalizeAddress(raw);
  return isMailAddress(address) ? { privateEmail: address } : { problem: 'the private address is not a mail address' };
}

/**
 * Drops every private address at one of the directory's own mail domains (the domains
 * of its users' addresses): mail there is exactly what is down when a notice is needed.
 * Returns the users (the same objects where nothing was dropped) and a warning per drop.
 * `domainsOf` are the users whose address domains count (default: `users`): the source's
 * own, before addresses outside the configured domains were left out — an old brand's
 * domain may be hosted on the same Exchange.
 */
export function dropPrivateAddressesAtMailDomains(
  users: readonly DirectoryUser[],
  domainsOf: readonly DirectoryUser[] = users,
): { users: DirectoryUser[]; warnings: string[] } {
  const mailDomains = new Set(domainsOf.flatMap((user) => addressesOf(user).map(domainOf)));
  const warnings: string[] = [];
  const kept = users.map((user) => {
    if (user.privateEmail === undefined || !mailDomains.has(domainOf(user.privateEmail))) return user;
    warnings.push(`${user.mailbox}: private address left out, it is at ${domainOf(user.privateEmail)}, one of the mail domains`);
    const { privateEmail: _dropped, ...rest } = user;
    return rest;
  });
  return { users: kept, warnings };
}

export interface MobileCoverage {
  /** Users who may sign in (enabled personal accounts). */
  canSignIn: number;
  /** Of those, how many have a mobile number (can get a sign-in code). */
  withMobile: number;
  /** The work addresses of the others, sorted. */
  withoutMobile: string[];
}

/** Who of the users that may sign in can get a code by SMS, and who cannot. */
export function mobileCoverage(users: readonly DirectoryUser[]): MobileCoverage {
  const signIn = users.filter((user) => canSignIn(user));
  const withoutMobile = signIn
    .filter((user) => user.mobile === undefined)
    .map((user) => user.mailbox)
    .sort();
  return { canSignIn: signIn.length, withMobile: signIn.length - withoutMobile.length, withoutMobile };
}

/** Refuses a source that gives one id to two users (AD's objectGUIDs never repeat): no user can be told apart. */
function checkIds(users: readonly DirectoryUser[], describe: (user: DirectoryUser) => string): void {
  const byId = new Map<string, DirectoryUser>();
  const problems: string[] = [];
  for (const user of users) {
    const other = byId.get(user.id);
    if (other) problems.push(`id ${user.id} belongs to ${describe(other)} and ${describe(user)}`);
    byId.set(user.id, user);
  }
  if (problems.length > 0) {
    throw new DirectoryError(
      'DIRECTORY_CONFLICT',
      `the directory is inconsistent, nothing was changed: ${problems.slice(0, 10).join('; ')}`,
    );
  }
}

/**
 * Refuses a user list that cannot become one map: the same id twice, or one address
 * belonging to two users. syncDirectory resolves address clashes first (resolveClashes),
 * so there this is the invariant that no address reaches two mailboxes.
 */
export function checkDirectory(users: readonly DirectoryUser[], describe: (user: DirectoryUser) => string = (user) => user.mailbox): void {
  const problems: string[] = [];
  const byId = new Map<string, DirectoryUser>();
  const owner = new Map<string, DirectoryUser>();
  for (const user of users) {
    const other = byId.get(user.id);
    if (other) problems.push(`id ${user.id} belongs to ${describe(other)} and ${describe(user)}`);
    byId.set(user.id, user);
    for (const address of addressesOf(user)) {
      const holder = owner.get(address);
      if (holder && holder !== user) problems.push(`${address} belongs to ${describe(holder)} and ${describe(user)}`);
      else owner.set(address, user);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join('; ');
    const more = problems.length > 10 ? ` (and ${problems.length - 10} more)` : '';
    throw new DirectoryError('DIRECTORY_CONFLICT', `the directory is inconsistent, nothing was changed: ${shown}${more}`);
  }
}

const USER_FIELDS: Array<keyof DirectoryUser> = [
  'id',
  'mailbox',
  'displayName',
  'aliases',
  'kind',
  'disabled',
  'admin',
  'mobile',
  'privateEmail',
];

function changedFields(before: DirectoryUser, after: DirectoryUser): Array<keyof DirectoryUser> {
  return USER_FIELDS.filter((field) =>
    field === 'aliases' ? before.aliases.join('\n') !== after.aliases.join('\n') : before[field] !== after[field],
  );
}

function addressMap(users: readonly DirectoryUser[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const user of users) for (const address of addressesOf(user)) map.set(address, user.mailbox);
  return map;
}

/**
 * The difference between what the store holds (`current`) and the source's complete
 * list (`incoming`, already checked with checkDirectory). `rewriteAll` puts every
 * address item again, for a store whose previous run stopped halfway.
 */
export function planSync(
  current: readonly DirectoryUser[],
  incoming: readonly DirectoryUser[],
  options: { rewriteAll?: boolean } = {},
): SyncPlan {
  const currentById = new Map(current.map((user) => [user.id, user]));
  const incomingIds = new Set(incoming.map((user) => user.id));
  const added: DirectoryUser[] = [];
  const changed: UserChange[] = [];
  let unchanged = 0;
  for (const user of incoming) {
    const before = currentById.get(user.id);
    if (!before) {
      added.push(user);
      continue;
    }
    const fields = changedFields(before, user);
    if (fields.length > 0) changed.push({ before, after: user, fields });
    else unchanged += 1;
  }
  const removed = current.filter((user) => !incomingIds.has(user.id));

  const before = addressMap(current);
  const after = addressMap(incoming);
  const set: AddressAssignment[] = [];
  const moved: AddressMove[] = [];
  const removedAddresses: AddressAssignment[] = [];
  for (const [address, mailbox] of after) {
    const previous = before.get(address);
    if (previous === undefined) set.push({ address, mailbox });
    else if (previous !== mailbox) moved.push({ address, from: previous, to: mailbox });
  }
  for (const [address, mailbox] of before) if (!after.has(address)) removedAddresses.push({ address, mailbox });
  const byAddress = (a: { address: string }, b: { address: string }) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);
  set.sort(byAddress);
  moved.sort(byAddress);
  removedAddresses.sort(byAddress);

  // User items are keyed by mailbox: a key is written when its content changes and
  // deleted only when no incoming user has that mailbox any more (a swap rewrites it).
  const currentByMailbox = new Map(current.map((user) => [user.mailbox, user]));
  const incomingMailboxes = new Set(incoming.map((user) => user.mailbox));
  const putUsers = incoming.filter((user) => {
    const stored = currentByMailbox.get(user.mailbox);
    return !stored || changedFields(stored, user).length > 0;
  });
  const deleteUsers = current.filter((user) => !incomingMailboxes.has(user.mailbox)).map((user) => user.mailbox);

  const rewriteAll = options.rewriteAll === true;
  const putAddresses = rewriteAll
    ? [...after].map(([address, mailbox]) => ({ address, mailbox })).sort(byAddress)
    : [...set, ...moved.map(({ address, to }) => ({ address, mailbox: to }))];
  const bySort =
    <T>(key: (value: T) => string) =>
    (a: T, b: T) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  return {
    users: {
      added: added.sort(bySort((user) => user.mailbox)),
      changed: changed.sort(bySort((change) => change.after.mailbox)),
      removed: removed.sort(bySort((user) => user.mailbox)),
      unchanged,
    },
    addresses: { set, moved, removed: removedAddresses },
    rewriteAll,
    writes: {
      putAddresses,
      deleteAddresses: removedAddresses.map((entry) => entry.address),
      putUsers,
      deleteUsers,
    },
  };
}

export function isEmptyPlan(plan: SyncPlan): boolean {
  const { writes } = plan;
  return writes.putAddresses.length + writes.deleteAddresses.length + writes.putUsers.length + writes.deleteUsers.length === 0;
}

/** Writes a plan through the store: addresses, then users (see the header for why). */
export async function applySync(plan: SyncPlan, store: DirectoryStore): Promise<void> {
  await store.putAddresses(plan.writes.putAddresses);
  await store.deleteAddresses(plan.writes.deleteAddresses);
  await store.putUsers(plan.writes.putUsers);
  await store.deleteUsers(plan.writes.deleteUsers);
}

export interface SyncOptions {
  dryRun?: boolean;
  /**
   * Most users one run may remove. A wrong base DN or filter reads an empty or tiny
   * directory; without this bound the run would delete the whole map. Default:
   * defaultMaxRemovals(current user count).
   */
  maxRemovals?: number;
  /** Who holds the store's sync lease (host and pid), for the busy message. */
  owner: string;
  now: () => Date;
  /** How long the lease lasts; a run that dies frees it after this. */
  leaseMs?: number;
  /**
   * Called with the complete incoming directory once the plan passed its own checks and
   * before anything is written (dry runs included); throwing refuses the whole run. What
   * follows the directory (the break-glass accounts) checks its own limits here.
   */
  beforeWrite?: (incoming: readonly DirectoryUser[]) => Promise<void>;
  /** The mail domains: addresses elsewhere are left out (keepMailDomains). Unset: every domain is kept. */
  domains?: readonly string[];
}

export interface SyncReport {
  plan: SyncPlan;
  dryRun: boolean;
  /** Users the source delivered. */
  read: number;
  /** The complete directory as the source delivered it (what the break-glass accounts follow). */
  users: DirectoryUser[];
  /** Entries the source skipped, with why (no SMTP address, unusable values). */
  warnings: string[];
  /** Users kept with a value left out (an unreadable mobile number, a private address at a mail domain). */
  valueWarnings: string[];
  /** Who of the users that may sign in has a mobile number (a break-glass sign-in code needs one). */
  mobiles: MobileCoverage;
  /** Addresses two or more accounts claim (resolveClashes): the run did everything else. */
  clashes: AddressClash[];
  /** New accounts not added because their primary address clashes (named as the source names them). */
  notAdded: string[];
  /** Milliseconds spent reading the source, reading the store, and writing. */
  timings: { readSourceMs: number; readStoreMs: number; writeMs: number };
}

export const DEFAULT_SYNC_LEASE_MS = 10 * 60_000;

/** At most 10 users or a fifth of the directory, whichever is more. */
export function defaultMaxRemovals(currentUsers: number): number {
  return Math.max(10, Math.floor(currentUsers / 5));
}

/**
 * One sync: read the whole source first (any failure there leaves the store as it
 * was), then, holding the store's lease, plan against the stored state and apply.
 */
export async function syncDirectory(source: DirectorySource, store: DirectoryStore, options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const read = await source.readAll();
  const describe = (user: DirectoryUser) => read.names?.get(user.id) ?? user.mailbox;
  const domains = options.domains
    ? keepMailDomains(read.users, options.domains, describe)
    : { users: read.users, valueWarnings: [], skipped: [] };
  const warnings = [...read.warnings, ...domains.skipped];
  const contacts = dropPrivateAddressesAtMailDomains(domains.users, read.users);
  const valueWarnings = [...(read.valueWarnings ?? []), ...domains.valueWarnings, ...contacts.warnings];
  checkIds(contacts.users, describe);
  const readSourceMs = performance.now() - started;

  const dryRun = options.dryRun === true;
  const leaseMs = options.leaseMs ?? DEFAULT_SYNC_LEASE_MS;
  const storeStarted = performance.now();
  const lease = dryRun ? null : await store.beginSync(options.owner, options.now(), leaseMs);
  let writing = false;
  try {
    const state = await store.readState();
    const { users: incoming, clashes, notAdded } = resolveClashes(contacts.users, state.users, describe);
    checkDirectory(incoming, describe);
    const plan = planSync(state.users, incoming, { rewriteAll: lease?.interrupted ?? state.interrupted });
    const readStoreMs = performance.now() - storeStarted;
    const maxRemovals = options.maxRemovals ?? defaultMaxRemovals(state.users.length);
    if (plan.users.removed.length > maxRemovals) {
      throw new DirectoryError(
        'DIRECTORY_MASS_REMOVAL',
        `the source would remove ${plan.users.removed.length} of ${state.users.length} users (more than ${maxRemovals}); ` +
          'nothing was changed. Check the base DN and filter, or allow it with --max-removals',
      );
    }
    await options.beforeWrite?.(incoming);
    const writeStarted = performance.now();
    if (!dryRun && !isEmptyPlan(plan)) {
      writing = true;
      await store.markWriting(options.owner);
      await applySync(plan, store);
    }
    const writeMs = writing ? performance.now() - writeStarted : 0;
    if (!dryRun) await store.finishSync(options.owner, options.now());
    return {
      plan,
      dryRun,
      read: read.users.length,
      users: incoming,
      warnings,
      valueWarnings,
      mobiles: mobileCoverage(incoming),
      clashes,
      notAdded,
      timings: { readSourceMs, readStoreMs, writeMs },
    };
  } catch (error) {
    // The lease is freed either way. A run that failed while writing stays marked in
    // the store, so the next run rewrites every address item; one that failed
    // before writing leaves the store exactly as it found it.
    if (lease) await store.releaseSync(options.owner).catch(() => undefined);
    throw error;
  }
}
