// What the IMAP adapter decides before it connects (URL, TLS rule, login form, timeout), and
// how it reads a Message-ID from a fetched header block. The protocol itself is tested
// against Dovecot (test/system/lambdas/adapters/imap/).
import { describe, expect, it } from 'vitest';
import { ImapflowMailboxes, type ImapflowMailboxesOptions, messageIdOf } from '../../../../../lambdas/adapters/imap/imapflow-mailboxes.ts';
import { InvalidInputError } from '../../../../../lambdas/core/errors.ts';

const base: ImapflowMailboxesOptions = {
  url: 'imaps://exchange.corp.example',
  user: 'svc@corp.example',
  password: async () => 'pw',
  login: 'plain-authzid',
};
const make = (overrides: Partial<ImapflowMailboxesOptions>) => () => new ImapflowMailboxes({ ...base, ...overrides });

describe('ImapflowMailboxes options', () => {
  it('takes imaps://, and imap:// with STARTTLS or with clear text allowed outright', () => {
    expect(make({})).not.toThrow();
    expect(make({ url: 'imap://exchange.corp.example:143', startTls: true })).not.toThrow();
    expect(make({ url: 'imap://127.0.0.1:1143', allowCleartext: true })).not.toThrow();
    expect(make({ url: 'imaps://[::1]:993', login: 'exchange' })).not.toThrow();
  });

  it.each([
    ['imap:// without STARTTLS', { url: 'imap://exchange.corp.example' }, /clear text/],
    ['STARTTLS on imaps://', { startTls: true }, /encrypted already/],
    ['another scheme', { url: 'https://exchange.corp.example' }, /imaps:\/\/ or imap:\/\//],
    ['no URL at all', { url: 'exchange.corp.example:993' }, /imaps:\/\/ or imap:\/\//],
    ['credentials in the URL', { url: 'imaps://svc:secret@exchange.corp.example' }, /only a host and a port/],
    ['a path in the URL', { url: 'imaps://exchange.corp.example/INBOX' }, /only a host and a port/],
    ['an unknown login form', { login: 'ntlm' as never }, /plain-authzid or exchange/],
    ['a zero timeout', { timeoutMs: 0 }, /positive number/],
    ['a fractional timeout', { timeoutMs: 1.5 }, /positive number/],
  ])('refuses %s with one clear line', (_, overrides, message) => {
    expect(make(overrides)).toThrow(InvalidInputError);
    expect(make(overrides)).toThrow(message);
  });

  it('never puts the password of the URL into its answer', () => {
    expect(make({ url: 'imaps://svc:Secret-4711@exchange.corp.example' })).not.toThrow(/Secret-4711/);
  });
});

describe('messageIdOf', () => {
  const header = (text: string) => Buffer.from(text, 'latin1');

  it.each([
    ['Message-ID: <a.b@corp.test>\r\n\r\n', '<a.b@corp.test>'],
    ['message-id:<a@b>\r\n\r\n', '<a@b>'],
    ['Message-Id: \r\n\t<folded@corp.test>\r\n\r\n', '<folded@corp.test>'],
    ['Message-ID: (Outlook) <CAF+x=y@mail.example> (comment)\r\n\r\n', '<CAF+x=y@mail.example>'],
    ['Message-ID: <Mixed.Case@Corp.Test>\r\n\r\n', '<Mixed.Case@Corp.Test>'],
    // the forms mailparser leaves in the stored record read the same (compose/message-ids.ts)
    ['Message-ID: no-brackets@legacy\r\n\r\n', '<no-brackets@legacy>'],
    ['Message-ID: <a@b> (comment)>\r\n\r\n', '<a@b>'],
  ])('reads %j as %j', (text, id) => {
    expect(messageIdOf(header(text))).toBe(id);
  });

  it('gives null when the message has no Message-ID', () => {
    expect(messageIdOf(header('\r\n'))).toBeNull();
    expect(messageIdOf(header('Message-ID:   \r\n\r\n'))).toBeNull();
    expect(messageIdOf(undefined)).toBeNull();
  });

  it('reads the Message-ID field, not a field whose name ends in it', () => {
    expect(messageIdOf(header('X-Original-Message-ID: <other@x>\r\nMessage-ID: <real@x>\r\n\r\n'))).toBe('<real@x>');
  });
});
