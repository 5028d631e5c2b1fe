// The CSV directory source (`shadowmail directory import`): what a spreadsheet export
// looks like (BOM, CRLF, quoted commas, blank lines, columns in any order), and that
// every malformed row is refused with its line number before anything is written.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvDirectorySource, parseDirectoryCsv } from '../../../../../lambdas/adapters/local/csv-directory-source.ts';
import { syncDirectory } from '../../../../../lambdas/core/directory.ts';
import { InvalidInputError } from '../../../../../lambdas/core/errors.ts';
import { MemoryDirectoryStore } from '../../../../support/memory-directory-store.ts';

const FIXTURE = resolve(import.meta.dirname, '../../../../fixtures/directory/users.csv');

function parseFailure(text: string): Error {
  try {
    parseDirectoryCsv(text, 'users.csv');
  } catch (error) {
    return error as Error;
  }
  throw new Error('the CSV was accepted');
}

describe('CsvDirectorySource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'csv-directory-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a spreadsheet export: BOM, CRLF, a quoted comma, a blank line, empty optional fields', async () => {
    // Prepare
    const source = new CsvDirectorySource(FIXTURE);
    // Act
    const { users, warnings, valueWarnings } = await source.readAll();
    // Assess
    expect(warnings).toEqual([]);
    expect(valueWarnings).toEqual([]);
    expect(users).toEqual([
      {
        id: 'alice@corp.test',
        mailbox: 'alice@corp.test',
        displayName: 'Example, Alice',
        aliases: ['a.example@corp.test', 'info@corp.test'],
        kind: 'user',
        disabled: false,
        admin: true,
      },
      {
        id: 'bob@corp.test',
        mailbox: 'bob@corp.test',
        displayName: 'Bob Example',
        aliases: [],
        kind: 'user',
        disabled: false,
        admin: false,
      },
      {
        id: 'support@corp.test',
        mailbox: 'support@corp.test',
        displayName: 'Support Team',
        aliases: ['help@corp.test'],
        kind: 'shared',
        disabled: true,
        admin: false,
      },
      {
        id: 'carol@corp.test',
        mailbox: 'carol@corp.test',
        displayName: 'Carol Gone',
        aliases: ['c.gone@corp.test'],
        kind: 'user',
        disabled: true,
        admin: false,
      },
    ]);
  });

  it('takes the columns in any order and case, with only mailbox required, and an id column when given', () => {
    // Prepare
    const text = 'Admin,MAILBOX,id\nyes,Dana@Corp.Test,emp-0042\n';
    // Act
    const { users } = parseDirectoryCsv(text);
    // Assess
    expect(users).toEqual([
      { id: 'emp-0042', mailbox: 'dana@corp.test', displayName: 'dana@corp.test', aliases: [], kind: 'user', disabled: false, admin: true },
    ]);
  });

  it('reads the mobile and private_email columns: numbers into E.164 with the default country, addresses in comparison form', () => {
    // Prepare
    const text = [
      'mailbox,mobile,private_email',
      'alice@corp.test,0170 1234567,Alice@Example.ORG',
      'bob@corp.test,"+43 664 1234567",',
      'erin@corp.test,,',
    ].join('\n');
    // Act
    const { users, valueWarnings } = parseDirectoryCsv(text, 'users.csv');
    const swiss = parseDirectoryCsv('mailbox,mobile\nzoe@corp.test,079 123 45 67\n', 'users.csv', 'CH');
    // Assess
    expect(valueWarnings).toEqual([]);
    expect(users.map(({ mailbox, mobile, privateEmail }) => ({ mailbox, mobile, privateEmail }))).toEqual([
      { mailbox: 'alice@corp.test', mobile: '+491701234567', privateEmail: 'alice@example.org' },
      { mailbox: 'bob@corp.test', mobile: '+436641234567', privateEmail: undefined },
      { mailbox: 'erin@corp.test', mobile: undefined, privateEmail: undefined },
    ]);
    expect('mobile' in users[2]!).toBe(false);
    expect(swiss.users[0]!.mobile).toBe('+41791234567');
  });

  it('keeps a user whose number or private address cannot be used, without that value, and names the user (not the number)', () => {
    // Prepare
    const text = [
      'mailbox,privateEmail,mobile',
      'alice@corp.test,,030 1234567',
      'bob@corp.test,bob at home,0170 1234567',
      'carol@corp.test,,call me',
    ].join('\n');
    // Act
    const { users, valueWarnings } = parseDirectoryCsv(text, 'users.csv');
    // Assess
    expect(users.map((user) => user.mailbox)).toEqual(['alice@corp.test', 'bob@corp.test', 'carol@corp.test']);
    expect(users.map((user) => user.mobile)).toEqual([undefined, '+491701234567', undefined]);
    expect(users[1]!.privateEmail).toBeUndefined();
    expect(valueWarnings).toEqual([
      'alice@corp.test (line 2): the mobile number is a landline, not a mobile number (an SMS cannot reach it)',
      'bob@corp.test (line 3): the private address is not a mail address',
      'carol@corp.test (line 4): the mobile number cannot be read as a phone number',
    ]);
    expect(valueWarnings.join('\n')).not.toMatch(/1234567/);
  });

  it.each([
    ['a file without a header row', 'alice@corp.test,Alice\n', /users\.csv line 1: unknown column "alice@corp\.test"/],
    ['a header without mailbox', 'displayName,aliases\nAlice,\n', /users\.csv line 1: the header row needs a "mailbox" column/],
    ['an empty file', '', /users\.csv: empty file/],
    ['a misspelt column', 'mailbox,alias\nalice@corp.test,a@corp.test\n', /line 1: unknown column "alias"/],
    [
      'a bad address',
      'mailbox,aliases\nalice@corp.test,\nbob@corp.test,bob at corp.test\n',
      /users\.csv line 3: not a mail address: "bob"/,
    ],
    ['an empty mailbox', 'mailbox,displayName\nalice@corp.test,A\n,Nobody\n', /users\.csv line 3: mailbox is empty/],
    [
      'a bad flag',
      'mailbox,disabled\nalice@corp.test,false\nbob@corp.test,maybe\n',
      /users\.csv line 3: disabled must be true or false, not "maybe"/,
    ],
    ['a bad kind', 'mailbox,kind\nalice@corp.test,room\n', /users\.csv line 2: kind must be user or shared, not "room"/],
    [
      'too few fields',
      'mailbox,displayName,admin\nalice@corp.test,Alice,true\nbob@corp.test,Bob\n',
      /users\.csv line 3: Invalid Record Length: expect 3, got 2/,
    ],
    ['an unterminated quote', 'mailbox,displayName\nalice@corp.test,Alice\nbob@corp.test,"Bob\n', /users\.csv line 3: Quote Not Closed/],
    [
      'one address on two rows',
      'mailbox,aliases\nalice@corp.test,info@corp.test\nbob@corp.test,\ncarol@corp.test,INFO@corp.test\n',
      /info@corp\.test belongs to line 2 \(alice@corp\.test\) and line 4 \(carol@corp\.test\)/,
    ],
  ])('refuses %s and names the line', (_case, text, message) => {
    // Prepare (the text)
    // Act
    const failure = parseFailure(text);
    // Assess
    expect(failure.message).toMatch(message);
  });

  it('changes nothing when one row of the import is malformed', async () => {
    // Prepare
    const store = new MemoryDirectoryStore();
    await syncDirectory(new CsvDirectorySource(FIXTURE), store, { owner: 'test:1', now: () => new Date() });
    const before = new Map(store.addresses);
    store.calls.length = 0;
    const file = join(dir, 'bad.csv');
    await writeFile(file, 'mailbox,aliases\nalice@corp.test,new@corp.test\nbob@corp.test,\nerin@corp.test,erin@@corp.test\n');
    // Act
    const failure = await syncDirectory(new CsvDirectorySource(file), store, { owner: 'test:1', now: () => new Date() }).catch(
      (error: unknown) => error,
    );
    // Assess
    expect(failure).toBeInstanceOf(InvalidInputError);
    expect((failure as Error).message).toMatch(/bad\.csv line 4: not a mail address: "erin@@corp\.test"/);
    expect(store.calls).toEqual([]);
    expect(store.addresses).toEqual(before);
  });

  it('reports a missing file as such', async () => {
    // Prepare
    const source = new CsvDirectorySource(join(dir, 'missing.csv'));
    // Act
    const failure = await source.readAll().catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(InvalidInputError);
    expect((failure as Error).message).toMatch(/cannot read .*missing\.csv: ENOENT/);
  });
});
