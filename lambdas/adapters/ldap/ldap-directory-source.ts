// The directory from Active Directory (or any LDAP server with AD's attributes) via
// ldapts: ldap:// with optional StartTLS, or ldaps://; a simple bind; one paged search
// of the users; then the admin group's members, nested groups included. How AD's
// attributes are read (addresses, disabled and shared mailboxes, ids, nested groups):
// docs/design.md §7.
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import {
  AndFilter,
  Client,
  type Entry,
  ExtensibleFilter,
  type Filter,
  FilterParser,
  InvalidCredentialsError,
  NoSuchObjectError,
  ResultCodeError,
} from 'ldapts';
import type { CountryCode } from 'libphonenumber-js/max';
import { isMailAddress, normalizeAddress } from '../../core/addresses.ts';
import { DirectoryError, makeDirectoryUser, readPrivateEmail } from '../../core/directory.ts';
import type { DirectoryUser } from '../../core/model.ts';
import type { DirectoryReadResult, DirectorySource } from '../../ports/directory.ts';
import { DEFAULT_PHONE_COUNTRY, phoneCountry, readMobileNumber } from '../phone/mobile-numbers.ts';

export const DEFAULT_USER_FILTER = '(&(objectClass=user)(|(mail=*)(proxyAddresses=*)))';
export const DEFAULT_PAGE_SIZE = 500;
/** How long connecting takes at most, unless the options say otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * How long one LDAP request (bind, one page of a search) may go unanswered: a domain
 * controller that accepts and hangs fails the run in seconds, not minutes (issue 16).
 */
export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';
const AD_CAPABILITY = '1.2.840.113556.1.4.800';
const DISABLED_BIT = 0x2;
/**
 * msExchRecipientTypeDetails of mailboxes nobody signs in as (RecipientTypeDetails, a flags
 * enum: SharedMailbox 0x4, RoomMailbox 0x10, EquipmentMailbox 0x20;
 * https://learn.microsoft.com/en-us/previous-versions/office/developer/exchange-server-2010/ff344739(v=exchg.140)):
 * read as kind `shared` — their mail is kept, no one can sign in as them.
 */
export const SHARED_RECIPIENT_TYPES: ReadonlyMap<number, string> = new Map([
  [0x4, 'shared'],
  [0x10, 'room'],
  [0x20, 'equipment'],
]);
/** Entries read while walking nested admin groups before we call the structure unreasonable. */
export const MAX_GROUP_WALK_READS = 2_000;
/** Users one search may return; a bound on memory, far above any AD we serve. */
const DEFAULT_MAX_ENTRIES = 500_000;

const USER_ATTRIBUTES = ['objectGUID', 'mail', 'proxyAddresses', 'displayName', 'cn', 'userAccountControl', 'msExchRecipientTypeDetails'];
/** AD's attribute for the mobile number (Active Directory Users and Computers: Telephones → Mobile). */
export const DEFAULT_MOBILE_ATTRIBUTE = 'mobile';
/** An LDAP attribute description: a name (letters, digits, hyphens) or an OID. */
const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]{0,63}|\d+(?:\.\d+)+)$/;

export type AdminStrategy = 'auto' | 'in-chain' | 'walk';

export interface LdapDirectorySourceOptions {
  /** ldap://host[:port] or ldaps://host[:port]. */
  url: string;
  bindDn: string;
  /** Read when a sync starts (a file or a secret), so a rotated password is picked up. */
  bindPassword: () => Promise<string>;
  baseDn: string;
  filter?: string;
  adminGroupDn?: string;
  adminStrategy?: AdminStrategy;
  /** PEM of the CA that signed the server's certificate (ldaps:// or StartTLS). */
  ca?: string;
  /** Upgrade an ldap:// connection with StartTLS before binding. */
  startTls?: boolean;
  /** Name to check the server certificate against, when it differs from the URL's host. */
  tlsServername?: string;
  pageSize?: number;
  connectTimeoutMs?: number;
  /** Bound on each LDAP request (bind, one page of a search). */
  operationTimeoutMs?: number;
  maxEntries?: number;
  /** Where the mobile number is (default `mobile`). */
  mobileAttribute?: string;
  /** Where a private mail address is, if the directory has one (no default). */
  privateEmailAttribute?: string;
  /** The country of numbers written without a country code (default DE). */
  defaultCountry?: string;
}

/** Which attributes hold a user's contact values, and how numbers without a country code are read. */
export interface ContactAttributes {
  mobile: string;
  privateEmail?: string;
  country: CountryCode;
}

interface Candidate {
  dn: string;
  entry: Entry;
}

export class LdapDirectorySource implements DirectorySource {
  readonly description: string;
  private readonly options: LdapDirectorySourceOptions;
  private readonly host: string;
  private readonly secure: boolean;
  private readonly contacts: ContactAttributes;

  constructor(options: LdapDirectorySourceOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch (error) {
      throw new DirectoryError('DIRECTORY_SOURCE', `not an LDAP URL: ${JSON.stringify(options.url)}`, { cause: error });
    }
    if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') {
      throw new DirectoryError('DIRECTORY_SOURCE', `the URL must start with ldap:// or ldaps://, not ${JSON.stringify(options.url)}`);
    }
    if (options.startTls && parsed.protocol === 'ldaps:') {
      throw new DirectoryError('DIRECTORY_SOURCE', 'StartTLS is for ldap:// URLs; an ldaps:// connection is encrypted already');
    }
    this.contacts = contactAttributes(options);
    this.options = options;
    this.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    this.secure = parsed.protocol === 'ldaps:';
    this.description = `${options.url} (${options.baseDn})`;
  }

  async readAll(): Promise<DirectoryReadResult> {
    const options = this.options;
    const password = await options.bindPassword();
    // ldapts breaks an ldap:// connection given tlsOptions, so they go only to
    // ldaps:// connections and to startTLS.
    const client = new Client({
      url: options.url,
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      timeout: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
      ...(this.secure && { tlsOptions: this.tlsOptions() }),
    });
    let phase: 'connect' | 'bind' | 'search' = 'connect';
    try {
      if (options.startTls) await client.startTLS(this.tlsOptions());
      phase = 'bind';
      await client.bind(options.bindDn, password);
      phase = 'search';
      const candidates = await this.searchUsers(client);
      const admins = options.adminGroupDn ? await this.adminDns(client, options.adminGroupDn, candidates) : new Set<string>();
      const users: DirectoryUser[] = [];
      const warnings: string[] = [];
      const valueWarnings: string[] = [];
      // Reports about a user (an address clash) name the AD object to fix: its DN.
      const names = new Map<string, string>();
      for (const { dn, entry } of candidates) {
        const result = userFromEntry(entry, admins.has(normalizeDn(dn)), this.contacts);
        if ('user' in result) {
          users.push(result.user);
          names.set(result.user.id, dn);
          for (const problem of result.leftOut) valueWarnings.push(`${result.user.mailbox}: ${problem}`);
        } else warnings.push(`${dn}: ${result.skipped}`);
      }
      return { users, warnings, valueWarnings, names };
    } catch (error) {
      throw this.explain(error, phase);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private tlsOptions(): ConnectionOptions {
    // Node checks the certificate against servername, else host. SNI takes no IP address.
    const servername = this.options.tlsServername ?? (isIP(this.host) ? undefined : this.host);
    return {
      // Only StartTLS needs the host here (it upgrades a socket); for ldaps:// a host
      // in these options would replace the URL's host as the address to connect to.
      ...(!this.secure && { host: this.host }),
      ...(servername !== undefined && { servername }),
      ...(this.options.ca !== undefined && { ca: [this.options.ca] }),
      minVersion: 'TLSv1.2',
    };
  }

  private async searchUsers(client: Client): Promise<Candidate[]> {
    const { baseDn } = this.options;
    const maxEntries = this.options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const candidates: Candidate[] = [];
    try {
      for await (const page of client.searchPaginated(baseDn, {
        scope: 'sub',
        filter: this.userFilter(),
        attributes: [...USER_ATTRIBUTES, this.contacts.mobile, ...(this.contacts.privateEmail ? [this.contacts.privateEmail] : [])],
        explicitBufferAttributes: ['objectGUID'],
        paged: { pageSize: this.options.pageSize ?? DEFAULT_PAGE_SIZE },
      })) {
        for (const entry of page.searchEntries) candidates.push({ dn: entry.dn, entry });
        if (candidates.length > maxEntries) {
          throw new DirectoryError(
            'DIRECTORY_SOURCE',
            `the search under ${baseDn} returned more than ${maxEntries} entries; narrow the filter`,
          );
        }
      }
    } catch (error) {
      if (error instanceof NoSuchObjectError) {
        throw new DirectoryError('DIRECTORY_SOURCE', `the base DN ${baseDn} does not exist on ${this.options.url}`, { cause: error });
      }
      throw error;
    }
    return candidates;
  }

  private userFilter(): Filter {
    const text = this.options.filter ?? DEFAULT_USER_FILTER;
    try {
      return FilterParser.parseString(text);
    } catch (error) {
      throw new DirectoryError('DIRECTORY_SOURCE', `not an LDAP filter: ${text} (${(error as Error).message})`, { cause: error });
    }
  }

  /** Normalized DNs of the candidates that are admins. */
  private async adminDns(client: Client, groupDn: string, candidates: Candidate[]): Promise<Set<string>> {
    const group = await readEntry(client, groupDn, ['member']);
    if (!group) throw new DirectoryError('DIRECTORY_SOURCE', `the admin group ${groupDn} does not exist on ${this.options.url}`);
    const strategy = this.options.adminStrategy ?? 'auto';
    const inChain = strategy === 'in-chain' || (strategy === 'auto' && (await isActiveDirectory(client)));
    const known = new Set(candidates.map(({ dn }) => normalizeDn(dn)));
    return inChain ? this.adminsInChain(client, groupDn) : walkGroup(client, group, known);
  }

  private async adminsInChain(client: Client, groupDn: string): Promise<Set<string>> {
    const filter = new AndFilter({
      filters: [this.userFilter(), new ExtensibleFilter({ matchType: 'memberOf', rule: IN_CHAIN_RULE, value: groupDn })],
    });
    const admins = new Set<string>();
    for await (const page of client.searchPaginated(this.options.baseDn, {
      scope: 'sub',
      filter,
      attributes: ['1.1'],
      paged: { pageSize: this.options.pageSize ?? DEFAULT_PAGE_SIZE },
    })) {
      for (const entry of page.searchEntries) admins.add(normalizeDn(entry.dn));
    }
    return admins;
  }

  private explain(error: unknown, phase: 'connect' | 'bind' | 'search'): Error {
    if (error instanceof DirectoryError) return error;
    const { url, bindDn } = this.options;
    const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof InvalidCredentialsError) {
      return new DirectoryError('DIRECTORY_BIND', `bind failed for ${bindDn}: invalid credentials`, { cause: error });
    }
    if (phase === 'bind' && error instanceof ResultCodeError) {
      return new DirectoryError('DIRECTORY_BIND', `bind failed for ${bindDn}: ${message}`, { cause: error });
    }
    if (/^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY))/.test(code) || /certificate|TLS|SSL/i.test(message)) {
      return new DirectoryError(
        'DIRECTORY_TLS',
        `TLS with ${url} failed: ${message} (is --ca-file the CA that signed the server's certificate, and does it name ${this.options.tlsServername ?? this.host}?)`,
        { cause: error },
      );
    }
    if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE'].includes(code)) {
      return new DirectoryError('DIRECTORY_UNREACHABLE', `cannot reach ${url}: ${describeCode(code)}`, { cause: error });
    }
    if (/Connection timeout/i.test(message)) {
      return new DirectoryError(
        'DIRECTORY_UNREACHABLE',
        `cannot reach ${url}: no connection within ${seconds(this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS)}`,
        { cause: error },
      );
    }
    if (/Operation timed out/i.test(message)) {
      return new DirectoryError(
        'DIRECTORY_UNREACHABLE',
        `cannot reach ${url}: no answer within ${seconds(this.options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS)} (${phase})`,
        { cause: error },
      );
    }
    if (/Connection closed|Socket error|socket connection not established/i.test(message)) {
      return new DirectoryError('DIRECTORY_UNREACHABLE', `cannot reach ${url}: the connection was lost (${phase})`, { cause: error });
    }
    return new DirectoryError('DIRECTORY_SOURCE', `LDAP ${phase} on ${url} failed: ${message}`, { cause: error });
  }
}

/** `30 s`, `0.5 s`: how the timeouts are given (--timeout SECONDS). */
function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

function describeCode(code: string): string {
  const texts: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed',
    ETIMEDOUT: 'connection timed out',
    EPIPE: 'connection closed',
  };
  return texts[code] ?? code;
}

async function isActiveDirectory(client: Client): Promise<boolean> {
  const { searchEntries } = await client.search('', { scope: 'base', attributes: ['supportedCapabilities'] });
  return searchEntries.some((entry) => valuesOf(entry, 'supportedCapabilities').includes(AD_CAPABILITY));
}

/** One entry by DN, or null when it does not exist. */
async function readEntry(client: Client, dn: string, attributes: string[]): Promise<Entry | null> {
  // A dropped connection would be re-opened by ldapts without our bind.
  if (!client.isBound) throw new Error('Connection closed before message response was received (not bound)');
  try {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes });
    return searchEntries[0] ?? null;
  } catch (error) {
    if (error instanceof NoSuchObjectError) return null;
    throw error;
  }
}

/**
 * Members of a group, nested groups followed: breadth-first over `member` values,
 * each DN read at most once (cycles end), at most MAX_GROUP_WALK_READS reads.
 * Members that are known users are not read; anything else is read once to see
 * whether it is a group (an entry without `member` is a leaf).
 */
export async function walkGroup(client: Client, group: Entry, knownUsers: ReadonlySet<string>): Promise<Set<string>> {
  const members = new Set<string>();
  const visited = new Set<string>([normalizeDn(group.dn)]);
  const queue: Entry[] = [group];
  let reads = 0;
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const member of valuesOf(current, 'member')) {
      const dn = normalizeDn(member);
      if (visited.has(dn)) continue;
      visited.add(dn);
      if (knownUsers.has(dn)) {
        members.add(dn);
        continue;
      }
      reads += 1;
      if (reads > MAX_GROUP_WALK_READS) {
        throw new DirectoryError('DIRECTORY_SOURCE', `the admin group ${group.dn} nests more than ${MAX_GROUP_WALK_READS} entries`);
      }
      const entry = await readEntry(client, member, ['member']);
      if (entry) queue.push(entry);
    }
  }
  return members;
}

/** The contact attributes of the options, checked (a bad name or country is DIRECTORY_SOURCE). */
function contactAttributes(options: LdapDirectorySourceOptions): ContactAttributes {
  const check = (name: string, flag: string): string => {
    if (!ATTRIBUTE_NAME.test(name))
      throw new DirectoryError('DIRECTORY_SOURCE', `${flag} must be an LDAP attribute name, not ${JSON.stringify(name)}`);
    return name;
  };
  let country: CountryCode;
  try {
    country = phoneCountry(options.defaultCountry ?? DEFAULT_PHONE_COUNTRY);
  } catch (error) {
    throw new DirectoryError('DIRECTORY_SOURCE', (error as Error).message, { cause: error });
  }
  return {
    mobile: check(options.mobileAttribute ?? DEFAULT_MOBILE_ATTRIBUTE, 'the mobile attribute'),
    ...(options.privateEmailAttribute !== undefined && {
      privateEmail: check(options.privateEmailAttribute, 'the private address attribute'),
    }),
    country,
  };
}

export type EntryResult = { user: DirectoryUser; leftOut: string[] } | { skipped: string };

const NO_CONTACTS: ContactAttributes = { mobile: DEFAULT_MOBILE_ATTRIBUTE, country: DEFAULT_PHONE_COUNTRY };

/**
 * One search entry as a directory user, or why it is left out. A mobile number or
 * private address that cannot be used is left out alone (`leftOut` says why); the
 * user is kept.
 */
export function userFromEntry(entry: Entry, admin: boolean, contacts: ContactAttributes = NO_CONTACTS): EntryResult {
  const leftOut: string[] = [];
  // A value that is no address (`mail: john.doe`) is left out alone, with a warning: the
  // user's other addresses still deliver, and the user is not removed for it.
  const usable = (values: string[], what: string) =>
    values.filter((value) => {
      if (value.trim() === '') return false;
      if (isMailAddress(normalizeAddress(value))) return true;
      leftOut.push(`${what} ${JSON.stringify(value)} is not a mail address, left out`);
      return false;
    });
  const proxies = valuesOf(entry, 'proxyAddresses');
  const primaries = usable(
    proxies.filter((value) => value.startsWith('SMTP:')).map((value) => value.slice(5)),
    'proxyAddresses SMTP:',
  );
  const secondaries = usable(
    proxies.filter((value) => value.startsWith('smtp:')).map((value) => value.slice(5)),
    'proxyAddresses smtp:',
  );
  const mail = usable(valuesOf(entry, 'mail').slice(0, 1), 'mail')[0];
  const primary = primaries[0] ?? mail;
  if (primary === undefined) {
    const why = leftOut.length > 0 ? ` (${leftOut.join('; ')})` : '';
    return { skipped: `no SMTP address (neither proxyAddresses SMTP: nor mail)${why}` };
  }
  // Exchange allows one SMTP: value; should there be more, the others still deliver here.
  const aliases = [...primaries.slice(1), ...secondaries, ...(mail !== undefined ? [mail] : [])];
  const guid = bufferOf(entry, 'objectGUID');
  const uac = Number.parseInt(valuesOf(entry, 'userAccountControl')[0] ?? '0', 10);
  const recipientType = Number(valuesOf(entry, 'msExchRecipientTypeDetails')[0] ?? '0');
  const mobile = readMobileNumber(valuesOf(entry, contacts.mobile)[0] ?? '', contacts.country);
  if (mobile && 'problem' in mobile) leftOut.push(mobile.problem);
  const privateEmail = contacts.privateEmail ? readPrivateEmail(valuesOf(entry, contacts.privateEmail)[0] ?? '') : null;
  if (privateEmail && 'problem' in privateEmail) leftOut.push(privateEmail.problem);
  try {
    return {
      leftOut,
      user: makeDirectoryUser({
        id: guid && guid.length > 0 ? guid.toString('hex') : `dn:${normalizeDn(entry.dn)}`,
        mailbox: primary,
        displayName: valuesOf(entry, 'displayName')[0] ?? valuesOf(entry, 'cn')[0] ?? '',
        aliases,
        kind: SHARED_RECIPIENT_TYPES.has(recipientType) ? 'shared' : 'user',
        disabled: Number.isInteger(uac) && (uac & DISABLED_BIT) !== 0,
        admin,
        ...(mobile && 'mobile' in mobile && { mobile: mobile.mobile }),
        ...(privateEmail && 'privateEmail' in privateEmail && { privateEmail: privateEmail.privateEmail }),
      }),
    };
  } catch (error) {
    return { skipped: (error as Error).message };
  }
}

/** Attribute values as strings, whatever the case of the name the server used. */
function valuesOf(entry: Entry, name: string): string[] {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(entry)) {
    if (key.toLowerCase() !== wanted || key === 'dn') continue;
    const list = Array.isArray(value) ? value : [value];
    return list.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : String(item)));
  }
  return [];
}

function bufferOf(entry: Entry, name: string): Buffer | null {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(entry)) {
    if (key.toLowerCase() !== wanted) continue;
    const first = Array.isArray(value) ? value[0] : value;
    return Buffer.isBuffer(first) ? first : null;
  }
  return null;
}

/** DNs compare case-insensitively and without blanks around separators (AD and slapd spell them differently). */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*(?<!\\)([,=+])\s*/g, '$1')
    .toLowerCase();
}
