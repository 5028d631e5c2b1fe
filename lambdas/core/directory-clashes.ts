// What real AD data holds and one map cannot (issue 16): two accounts claiming one address,
// an alias equal to another's primary, addresses at domains that are not ours. None of it
// may stop the sync — disabled accounts would keep access and new staff never appear — and
// none of it may hand someone's mail to someone else. So an address claimed twice stays
// with the account that had it before this run (or goes to none), every clash is reported
// naming the accounts (their DNs), and everything else syncs.
import { addressesOf, domainOf } from './addresses.ts';
import type { DirectoryUser } from './model.ts';

export interface AddressClash {
  address: string;
  /** The accounts that claim it, as the source names them (DNs), sorted (a source's order is arbitrary). */
  claimants: string[];
  /** The one that keeps it (it had it before this run), or null: nobody gets it. */
  keptBy: string | null;
}

export interface ClashResolution {
  /** The users with every clash resolved: one map, checkDirectory passes. */
  users: DirectoryUser[];
  /** Sorted by address. */
  clashes: AddressClash[];
  /** New accounts left out of this run: their primary address is someone else's. */
  notAdded: string[];
}

/**
 * Resolves the addresses `incoming` users claim more than once against what the store holds
 * (`current`). A user losing an alias keeps everything else. A user losing its primary keeps
 * the mailbox it had (and everything else from the source, a disable included); a new user
 * losing its primary is not added. No stored user is dropped for a clash, so clashes never
 * count against the removal bound, and the break-glass accounts follow the same list.
 */
export function resolveClashes(
  incoming: readonly DirectoryUser[],
  current: readonly DirectoryUser[],
  describe: (user: DirectoryUser) => string,
): ClashResolution {
  const currentById = new Map(current.map((user) => [user.id, user]));
  const previousOwner = new Map<string, string>();
  for (const user of current) for (const address of addressesOf(user)) previousOwner.set(address, user.id);
  const claims = new Map<string, DirectoryUser[]>();
  for (const user of incoming) {
    for (const address of addressesOf(user)) claims.set(address, [...(claims.get(address) ?? []), user]);
  }

  const lost = new Map<DirectoryUser, Set<string>>();
  const clashes: AddressClash[] = [];
  for (const [address, claimants] of claims) {
    if (claimants.length < 2) continue;
    const keeper = claimants.find((user) => user.id === previousOwner.get(address)) ?? null;
    for (const user of claimants) if (user !== keeper) lost.set(user, (lost.get(user) ?? new Set()).add(address));
    clashes.push({ address, claimants: claimants.map(describe).sort(), keptBy: keeper && describe(keeper) });
  }
  clashes.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));

  const users: DirectoryUser[] = [];
  const notAdded: string[] = [];
  for (const user of incoming) {
    const gone = lost.get(user);
    if (!gone) {
      users.push(user);
      continue;
    }
    const aliases = user.aliases.filter((alias) => !gone.has(alias));
    if (!gone.has(user.mailbox)) {
      users.push({ ...user, aliases });
      continue;
    }
    const before = currentById.get(user.id);
    const othersClaim = (address: string) => (claims.get(address) ?? []).some((other) => other !== user);
    if (before && !othersClaim(before.mailbox)) {
      users.push({ ...user, mailbox: before.mailbox, aliases: aliases.filter((alias) => alias !== before.mailbox) });
    } else {
      // A new account, or one whose old mailbox someone else now claims: not in this run's map.
      notAdded.push(describe(user));
    }
  }
  return { users, clashes, notAdded };
}

export interface DomainFilter {
  users: DirectoryUser[];
  /** Users kept with addresses left out, or another mailbox than the source's primary. */
  valueWarnings: string[];
  /** Users left out: no address at the mail domains. */
  skipped: string[];
}

/**
 * Keeps the addresses at the mail domains (the domains shadowmail receives for): the others
 * cannot reach this mailbox and must not claim anything in the map. A user whose primary
 * is elsewhere gets an address at one of the domains as mailbox (the same local part first,
 * else the first in order); a user with none is left out and reported.
 */
export function keepMailDomains(
  users: readonly DirectoryUser[],
  domains: readonly string[],
  describe: (user: DirectoryUser) => string,
): DomainFilter {
  const ours = new Set(domains.map((domain) => domain.toLowerCase()));
  const list = domains.join(', ');
  const inDomain = (address: string) => ours.has(domainOf(address));
  const result: DomainFilter = { users: [], valueWarnings: [], skipped: [] };
  for (const user of users) {
    const outside = addressesOf(user).filter((address) => !inDomain(address));
    if (outside.length === 0) {
      result.users.push(user);
      continue;
    }
    const kept = user.aliases.filter(inDomain);
    if (inDomain(user.mailbox)) {
      result.users.push({ ...user, aliases: kept });
      result.valueWarnings.push(`${user.mailbox}: ${outside.join(', ')} left out, not at one of the mail domains (${list})`);
      continue;
    }
    if (kept.length === 0) {
      result.skipped.push(`${describe(user)}: no address at the mail domains (${list}), only ${outside.join(', ')}`);
      continue;
    }
    const localPart = user.mailbox.slice(0, user.mailbox.lastIndexOf('@'));
    const mailbox = kept.find((alias) => alias.slice(0, alias.lastIndexOf('@')) === localPart) ?? kept[0]!;
    result.users.push({ ...user, mailbox, aliases: kept.filter((alias) => alias !== mailbox) });
    const others = outside.filter((address) => address !== user.mailbox);
    result.valueWarnings.push(
      `${mailbox}: the primary address ${user.mailbox} is not at one of the mail domains (${list}); ${mailbox} is the mailbox` +
        (others.length > 0 ? `; ${others.join(', ')} left out` : ''),
    );
  }
  return result;
}
