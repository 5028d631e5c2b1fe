// Local mode's stand-in for Active Directory: a JSON file of demo users under the data
// directory, created on first start. The local OIDC provider signs them in; their
// addresses (and aliases) go into the address map like a directory sync would put them.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { normalizeAddress } from '../../core/addresses.ts';
import { makeDirectoryUser } from '../../core/directory.ts';
import { InvalidInputError } from '../../core/errors.ts';
import type { DirectorySource } from '../../ports/directory.ts';
import { DUMMY_HASH, hashPassword, verifyPassword } from './scrypt-password.ts';

export const DEMO_ADMIN_GROUP = 'shadowmail-admins';

export interface DirectoryUser {
  /** Stable subject the provider puts into `sub`. */
  subject: string;
  /** Primary address: the user's mailbox. */
  email: string;
  name: string;
  groups: string[];
  /** Further addresses delivered to the same mailbox. */
  aliases: string[];
  /** `scrypt$<salt b64>$<hash b64>`. */
  passwordHash: string;
  /** E.164; where the local provider's SMS codes go (its SMS outbox). */
  mobile?: string;
}

interface DirectoryFile {
  version: 1;
  users: DirectoryUser[];
}

/**
 * The demo users of a fresh data directory; the README lists them. Password = local part.
 * Their mobile numbers (+49 1555 000000x) are made up in the form of German mobile
 * numbers, for the SMS-code sign-in: local mode only writes them to its outbox file.
 */
export function demoUsers(
  domain: string,
): { email: string; name: string; password: string; groups: string[]; aliases: string[]; mobile: string }[] {
  return [
    {
      email: `alice@${domain}`,
      name: 'Alice Example',
      password: 'alice',
      groups: [],
      aliases: [`info@${domain}`],
      mobile: '+4915550000001',
    },
    { email: `bob@${domain}`, name: 'Bob Example', password: 'bob', groups: [], aliases: [], mobile: '+4915550000002' },
    {
      email: `admin@${domain}`,
      name: 'Admin Example',
      password: 'admin',
      groups: [DEMO_ADMIN_GROUP],
      aliases: [],
      mobile: '+4915550000003',
    },
  ];
}

export class DemoDirectory {
  private constructor(
    readonly file: string,
    private readonly users: DirectoryUser[],
  ) {}

  /** Opens the directory file, creating it with the demo users of `domain` when missing. */
  static async open(file: string, domain: string): Promise<DemoDirectory> {
    try {
      return new DemoDirectory(file, parseDirectory(JSON.parse(await readFile(file, 'utf8'))));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new InvalidInputError(`the demo directory ${file} is not valid: ${(error as Error).message}`, { cause: error });
      }
    }
    const users: DirectoryUser[] = [];
    for (const user of demoUsers(domain)) {
      users.push({
        subject: randomUUID(),
        email: normalizeAddress(user.email),
        name: user.name,
        groups: user.groups,
        aliases: user.aliases.map(normalizeAddress),
        passwordHash: await hashPassword(user.password),
        mobile: user.mobile,
      });
    }
    await mkdir(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ version: 1, users } satisfies DirectoryFile, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, file);
    return new DemoDirectory(file, users);
  }

  list(): readonly DirectoryUser[] {
    return this.users;
  }

  bySubject(subject: string): DirectoryUser | null {
    return this.users.find((user) => user.subject === subject) ?? null;
  }

  /** The user whose address and password match; null otherwise (same time either way). */
  async authenticate(email: string, password: string): Promise<DirectoryUser | null> {
    const wanted = normalizeAddress(email);
    const user = this.users.find((candidate) => candidate.email === wanted);
    // Hash even for an unknown address so the answer time does not reveal who exists.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    return user && ok ? user : null;
  }

  /**
   * The demo users as a directory source: local mode syncs them into the same
   * directory store (address map + user items) that `shadowmail directory` fills from AD.
   */
  asSource(): DirectorySource {
    const users = this.users;
    return {
      description: `demo directory ${this.file}`,
      readAll: async () => ({
        users: users.map((user) =>
          makeDirectoryUser({
            id: user.subject,
            mailbox: user.email,
            displayName: user.name,
            aliases: user.aliases,
            admin: user.groups.includes(DEMO_ADMIN_GROUP),
            ...(user.mobile && { mobile: user.mobile }),
          }),
        ),
        warnings: [],
      }),
    };
  }
}

function parseDirectory(value: unknown): DirectoryUser[] {
  const file = value as Partial<DirectoryFile> | null;
  if (file?.version !== 1 || !Array.isArray(file.users)) throw new Error('expected {"version": 1, "users": [...]}');
  return file.users.map((user, position) => {
    const ok =
      user &&
      typeof user.subject === 'string' &&
      user.subject !== '' &&
      typeof user.email === 'string' &&
      user.email.includes('@') &&
      typeof user.name === 'string' &&
      typeof user.passwordHash === 'string' &&
      Array.isArray(user.groups) &&
      user.groups.every((group) => typeof group === 'string') &&
      Array.isArray(user.aliases) &&
      user.aliases.every((alias) => typeof alias === 'string') &&
      (user.mobile === undefined || typeof user.mobile === 'string');
    if (!ok) throw new Error(`user ${position} needs subject, email, name, groups, aliases and passwordHash (mobile is optional)`);
    return { ...user, email: normalizeAddress(user.email), aliases: user.aliases.map(normalizeAddress) };
  });
}
