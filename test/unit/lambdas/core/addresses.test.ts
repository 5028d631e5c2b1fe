// The address module: the comparison form that never refuses, the parsed form we send
// to (or null), the key that compares typed and header addresses, and the SMTP path check.
import { describe, expect, it } from 'vitest';
import {
  fitsSmtpPath,
  hasAddressShape,
  isMailAddress,
  mailAddressKey,
  normalizeAddress,
  parseMailAddress,
} from '../../../../lambdas/core/addresses.ts';

describe('normalizeAddress (comparison form)', () => {
  it('trims, drops angle brackets and lower-cases, and refuses nothing', () => {
    expect(normalizeAddress(' <Alice@Corp.TEST> ')).toBe('alice@corp.test');
    expect(normalizeAddress('not an address')).toBe('not an address');
  });
});

describe('parseMailAddress (the form we send to)', () => {
  it.each([
    ['Alice@Corp.TEST', 'Alice@corp.test'],
    ['bob@bücher.example', 'bob@xn--bcher-kva.example'],
    ['carol@corp.test.', 'carol@corp.test'],
    ['first.last+tag@corp.test', 'first.last+tag@corp.test'],
  ])('%s → %s (local part as typed, domain in lower-case A-labels)', (input, expected) => {
    expect(parseMailAddress(input)).toBe(expected);
  });

  it.each([
    'no-at-sign',
    '@corp.test',
    'alice@',
    '"quoted local"@corp.test',
    'alice@[192.0.2.1]',
    'alice@localhost',
    'a..b@corp.test',
    'ümlaut@corp.test',
    ' alice@corp.test',
    `${'x'.repeat(65)}@corp.test`,
  ])('refuses %s', (input) => {
    expect(parseMailAddress(input)).toBeNull();
  });
});

describe('mailAddressKey', () => {
  it('compares an IDN domain with its A-label spelling, case-insensitively', () => {
    expect(mailAddressKey(' Bob@Bücher.example')).toBe(mailAddressKey('bob@xn--bcher-kva.example'));
    expect(mailAddressKey('Bob@Bücher.example')).toBe('bob@xn--bcher-kva.example');
  });

  it('falls back to the comparison form for what does not parse', () => {
    expect(mailAddressKey('<Not Parsable>')).toBe('not parsable');
  });
});

describe('fitsSmtpPath', () => {
  it('refuses what ends the command or the path early: CR, LF, NUL, < and >', () => {
    expect(['a\r@b', 'a\n@b', 'a\u0000@b', 'a<@b', 'a>@b'].map(fitsSmtpPath)).toEqual([false, false, false, false, false]);
    expect(['alice@corp.test', '', 'a b@c'].map(fitsSmtpPath)).toEqual([true, true, true]);
  });
});

describe('hasAddressShape', () => {
  it('asks for local@domain without blanks and nothing more', () => {
    expect(['alice@corp.test', 'a@b', 'ü@ß'].map(hasAddressShape)).toEqual([true, true, true]);
    expect(['alice', 'a@b@c', 'a b@c', '@corp.test', 'alice@'].map(hasAddressShape)).toEqual([false, false, false, false, false]);
  });
});

describe('the three checks, loose to strict', () => {
  it.each([
    ['alice@corp.test', true, true, true],
    ['ü@corp.test', true, true, false],
    ['alice@localhost', true, true, false],
    ['alice@corp', true, false, false],
    ['a,b@corp.test', true, false, false],
    ['a b@corp.test', false, false, false],
  ])('%s: shape %s, directory %s, sendable %s', (address, shape, directory, sendable) => {
    expect(hasAddressShape(address)).toBe(shape);
    expect(isMailAddress(address)).toBe(directory);
    expect(parseMailAddress(address) !== null).toBe(sendable);
  });
});
