// The address module: the comparison form that never refuses, the parsed form we send
// to (or null), the key that compares typed and header addresses, and the SMTP path check.
import { describe, expect, it } from 'vitest';
import {
  envelopeRecipient,
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

describe('envelopeRecipient (where ingest looks an envelope recipient up)', () => {
  it.each([
    ['<"alice"@Example.com>', 'alice@example.com'],
    ['"Alice.Smith"@example.com', 'alice.smith@example.com'],
    ['"al\\ice"@example.com', 'alice@example.com'],
    ['alice@example.com', 'alice@example.com'],
  ])('%s is read as %s (quotes around a plain dot-atom carry no meaning)', (input, address) => {
    expect(envelopeRecipient(input, '+')).toEqual({ address, lookups: [address], fallback: address });
  });

  it.each([
    ['"al ice"@example.com', '"al ice"@example.com'],
    ['".alice"@example.com', '".alice"@example.com'],
    ['"a..b"@example.com', '"a..b"@example.com'],
    ['"a\\"b"@example.com', '"a\\"b"@example.com'],
  ])('%s stays as it is: unquoted it would not be a dot-atom', (input, address) => {
    expect(envelopeRecipient(input, '+')).toEqual({ address, lookups: [address], fallback: address });
  });

  it('tries local+tag first, then local, and files under local when the directory knows neither', () => {
    expect(envelopeRecipient('<Alice+Tag@example.com>', '+')).toEqual({
      address: 'alice+tag@example.com',
      lookups: ['alice+tag@example.com', 'alice@example.com'],
      fallback: 'alice@example.com',
    });
    expect(envelopeRecipient('"alice+tag"@example.com', '+').fallback).toBe('alice@example.com');
    expect(envelopeRecipient('alice+a+b@example.com', '+').lookups).toEqual(['alice+a+b@example.com', 'alice@example.com']);
  });

  it('takes the separator it is given, and none when it is empty', () => {
    expect(envelopeRecipient('alice-tag@example.com', '-').fallback).toBe('alice@example.com');
    expect(envelopeRecipient('alice+tag@example.com', '-').fallback).toBe('alice+tag@example.com');
    expect(envelopeRecipient('alice+tag@example.com', '')).toEqual({
      address: 'alice+tag@example.com',
      lookups: ['alice+tag@example.com'],
      fallback: 'alice+tag@example.com',
    });
  });

  it('keeps a local part that starts with the separator whole, and maps an empty tag', () => {
    expect(envelopeRecipient('+tag@example.com', '+').fallback).toBe('+tag@example.com');
    expect(envelopeRecipient('alice+@example.com', '+').fallback).toBe('alice@example.com');
  });

  it.each([
    ['alice%intranet.example@example.com', 'alice%intranet.example@example.com'],
    ['"bob%evil.example"@example.com', 'bob%evil.example@example.com'],
    ['carol%x+tag@example.com', 'carol%x+tag@example.com'],
  ])('%s: a %% in the local part is never looked up nor routed, filed under the address itself', (input, address) => {
    expect(envelopeRecipient(input, '+')).toEqual({ address, lookups: [], fallback: address });
  });
});
