// The header block local mode puts into its SES-shaped receipt notification, read from the
// message in memory: only the block is converted, and it is the block of the whole message.
import { describe, expect, it } from 'vitest';
import { headerBlockOf, parseHeaderBlock } from '../../../../../lambdas/adapters/local/rfc5322-header-block.ts';

const body = `${'Not: a header\r\n'.repeat(2000)}\r\nSubject: still the body\r\n`;

describe('headerBlockOf', () => {
  it.each([
    ['CRLF', 'From: a@b.test\r\nSubject: Hello\r\n world\r\nTo: c@d.test\r\n\r\n'],
    ['LF', 'From: a@b.test\nSubject: Hello\n world\nTo: c@d.test\n\n'],
    ['LF then CRLF', 'From: a@b.test\nSubject: Hello\n world\nTo: c@d.test\n\r\n'],
  ])('reads the fields of the block and nothing of the body (%s)', (_kind, head) => {
    // Arrange
    const message = Buffer.from(head + body, 'latin1');
    // Act
    const fields = headerBlockOf(message);
    // Assess
    expect(fields).toEqual([
      { name: 'From', value: 'a@b.test' },
      { name: 'Subject', value: 'Hello world' },
      { name: 'To', value: 'c@d.test' },
    ]);
    expect(fields).toEqual(parseHeaderBlock(message.toString('latin1')));
  });

  it('takes the whole message as the block when it has no blank line', () => {
    const message = Buffer.from('From: a@b.test\r\nSubject: no body', 'latin1');
    expect(headerBlockOf(message)).toEqual([
      { name: 'From', value: 'a@b.test' },
      { name: 'Subject', value: 'no body' },
    ]);
  });

  it('keeps 8-bit bytes of a raw header as latin1 characters', () => {
    const message = Buffer.concat([Buffer.from('Subject: '), Buffer.from([0xe4, 0xf6]), Buffer.from('\r\n\r\nbody')]);
    expect(headerBlockOf(message)).toEqual([{ name: 'Subject', value: 'äö' }]);
  });
});
