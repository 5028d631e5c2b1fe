// The directory from a CSV file, for sites without AD (`shadowmail directory import`).
// The file is the complete directory: users missing from it are removed.
//
//   mailbox,displayName,aliases,kind,disabled,admin,mobile,private_email
//   alice@corp.example,Alice Example,info@corp.example;a.example@corp.example,user,false,true,0170 1234567,alice@example.org
//
// A header row is required; `mailbox` is the only required column, `id` is optional
// (default: the mailbox, so renaming a mailbox in the file is remove + add), and so are
// `mobile` and `private_email` (files from before them keep working). Unknown columns
// are refused, so a typo ("alias") cannot silently drop data. Any bad row stops the
// import with its line number, before anything is written — except a mobile number or
// private address that cannot be used: that value alone is left out, with a warning
// naming the user (one mistyped number must not stop the directory).
import { readFile } from 'node:fs/promises';
import { CsvError, parse } from 'csv-parse/sync';
import type { CountryCode } from 'libphonenumber-js/max';
import { checkDirectory, makeDirectoryUser, readPrivateEmail } from '../../core/directory.ts';
import { InvalidInputError } from '../../core/errors.ts';
import type { DirectoryUser } from '../../core/model.ts';
import type { DirectoryReadResult, DirectorySource } from '../../ports/directory.ts';
import { DEFAULT_PHONE_COUNTRY, phoneCountry, readMobileNumber } from '../phone/mobile-numbers.ts';

const COLUMNS = ['id', 'mailbox', 'displayname', 'aliases', 'kind', 'disabled', 'admin', 'mobile', 'private_email'] as const;
type Column = (typeof COLUMNS)[number];
/** Other spellings of a column (as displayName is spelled in camel case). */
const COLUMN_SPELLINGS: Record<string, Column> = { privateemail: 'private_email' };
/** Far more than any site without AD has; a bound on what one file may make us hold. */
const MAX_ROWS = 200_000;

const TRUE = new Set(['true', 'yes', 'y', '1', 'x']);
const FALSE = new Set(['false', 'no', 'n', '0', '']);

export interface CsvDirectoryOptions {
  /** The country of mobile numbers written without a country code (default DE). */
  defaultCountry?: string;
}

export class CsvDirectorySource implements DirectorySource {
  readonly description: string;
  private readonly country: CountryCode;

  constructor(
    private readonly file: string,
    options: CsvDirectoryOptions = {},
  ) {
    this.description = `CSV file ${file}`;
    this.country = phoneCountry(options.defaultCountry ?? DEFAULT_PHONE_COUNTRY);
  }

  async readAll(): Promise<DirectoryReadResult> {
    const text = await readFile(this.file, 'utf8').catch((error: unknown) => {
      throw new InvalidInputError(`cannot read ${this.file}: ${(error as Error).message}`, { cause: error });
    });
    const { users, valueWarnings } = parseDirectoryCsv(text, this.file, this.country);
    return { users, warnings: [], valueWarnings };
  }
}

/**
 * Parses the whole file; throws InvalidInputError "<file> line N: …" on the first bad row.
 * `valueWarnings` name the users whose mobile number or private address was left out.
 */
export function parseDirectoryCsv(
  text: string,
  name = 'CSV',
  country: CountryCode = DEFAULT_PHONE_COUNTRY,
): { users: DirectoryUser[]; valueWarnings: string[] } {
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parse(text, {
      bom: true,
      info: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: false,
      max_record_size: 64 * 1024,
      // The header, MAX_ROWS rows and one more, so an oversized file is refused, not cut.
      to: MAX_ROWS + 2,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (error) {
    const line = error instanceof CsvError && typeof error.lines === 'number' ? ` line ${error.lines}` : '';
    throw new InvalidInputError(`${name}${line}: ${(error as Error).message}`, { cause: error });
  }
  const [header, ...body] = rows;
  if (!header) throw new InvalidInputError(`${name}: empty file; expected a header row with at least "mailbox"`);
  if (body.length > MAX_ROWS) throw new InvalidInputError(`${name}: more than ${MAX_ROWS} rows`);
  const columns = readHeader(header.record, `${name} line ${header.info.lines}`);

  const users: DirectoryUser[] = [];
  const valueWarnings: string[] = [];
  const lineOf = new Map<DirectoryUser, number>();
  for (const { record, info } of body) {
    const where = `${name} line ${info.lines}`;
    const value = (column: Column): string => {
      const index = columns.get(column);
      return index === undefined ? '' : (record[index] ?? '');
    };
    try {
      const mailbox = value('mailbox');
      if (mailbox === '') throw new InvalidInputError('mailbox is empty');
      const kind = value('kind').toLowerCase() || 'user';
      if (kind !== 'user' && kind !== 'shared')
        throw new InvalidInputError(`kind must be user or shared, not ${JSON.stringify(value('kind'))}`);
      const mobile = readMobileNumber(value('mobile'), country);
      const privateEmail = readPrivateEmail(value('private_email'));
      const user = makeDirectoryUser({
        id: value('id') || mailbox.toLowerCase(),
        mailbox,
        displayName: value('displayname'),
        aliases: value('aliases')
          .split(/[;,\s]+/)
          .filter(Boolean),
        kind,
        disabled: flag(value('disabled'), 'disabled'),
        admin: flag(value('admin'), 'admin'),
        ...(mobile && 'mobile' in mobile && { mobile: mobile.mobile }),
        ...(privateEmail && 'privateEmail' in privateEmail && { privateEmail: privateEmail.privateEmail }),
      });
      for (const reading of [mobile, privateEmail]) {
        if (reading && 'problem' in reading) valueWarnings.push(`${user.mailbox} (line ${info.lines}): ${reading.problem}`);
      }
      users.push(user);
      lineOf.set(user, info.lines);
    } catch (error) {
      throw new InvalidInputError(`${where}: ${(error as Error).message}`, { cause: error });
    }
  }
  // Duplicates are reported with the lines of both rows.
  checkDirectory(users, (user) => `line ${lineOf.get(user)} (${user.mailbox})`);
  return { users, valueWarnings };
}

function readHeader(record: string[], where: string): Map<Column, number> {
  const columns = new Map<Column, number>();
  record.forEach((raw, index) => {
    const lower = raw.trim().toLowerCase();
    const name = COLUMN_SPELLINGS[lower] ?? lower;
    if (!(COLUMNS as readonly string[]).includes(name)) {
      throw new InvalidInputError(
        `${where}: unknown column ${JSON.stringify(raw)}; the columns are mailbox, displayName, aliases, kind, disabled, admin, mobile, private_email (and id)`,
      );
    }
    if (columns.has(name as Column)) throw new InvalidInputError(`${where}: column ${JSON.stringify(raw)} appears twice`);
    columns.set(name as Column, index);
  });
  if (!columns.has('mailbox')) throw new InvalidInputError(`${where}: the header row needs a "mailbox" column`);
  return columns;
}

function flag(raw: string, column: string): boolean {
  const value = raw.toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new InvalidInputError(`${column} must be true or false, not ${JSON.stringify(raw)}`);
}
