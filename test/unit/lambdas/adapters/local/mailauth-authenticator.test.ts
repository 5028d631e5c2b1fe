// What local mode's authenticator hands mailauth: the header block alone for an unsigned
// message, the whole message when a DKIM or ARC signature needs the body hashed.
import { describe, expect, it } from 'vitest';
import { whatMailauthReads } from '../../../../../lambdas/adapters/local/mailauth-authenticator.ts';

const HEAD = 'From: a@partner.test\r\nTo: b@corp.test\r\nSubject: hi\r\n';
const BODY = 'line one\r\n\r\nline three after a blank line\r\n';

const read = (raw: string) => whatMailauthReads(Buffer.from(raw, 'latin1')).toString('latin1');

describe('whatMailauthReads', () => {
  it('cuts an unsigned message after the blank line that ends its header block', () => {
    expect(read(`${HEAD}\r\n${BODY}`)).toBe(`${HEAD}\r\n`);
  });

  it('ends the header block where mailauth does: the first LF followed by LF or CRLF', () => {
    expect(read('From: a@x.test\nTo: b@y.test\n\nbody\n\nmore')).toBe('From: a@x.test\nTo: b@y.test\n\n');
    expect(read('From: a@x.test\r\n\nbody')).toBe('From: a@x.test\r\n\n');
    expect(read('From: a@x.test\n\r\nbody\n\nmore')).toBe('From: a@x.test\n\r\n');
    // a lone CR is no line break for mailauth, so CR CR LF does not end the block
    expect(read('From: a@x.test\n\r\r\nX: y\r\n\r\nbody')).toBe('From: a@x.test\n\r\r\nX: y\r\n\r\n');
  });

  it('hands over the whole message when its header names a DKIM or ARC signature, in any case', () => {
    for (const field of ['DKIM-Signature: v=1; d=x', 'dkim-signature:v=1', 'ARC-Seal: i=1', 'Arc-Message-Signature: i=1']) {
      const raw = `${field}\r\n${HEAD}\r\n${BODY}`;
      expect(read(raw)).toBe(raw);
    }
  });

  it('does not look for signatures in the body', () => {
    expect(read(`${HEAD}\r\nDKIM-Signature: in the body\r\n`)).toBe(`${HEAD}\r\n`);
  });

  it('hands over a message without a blank line whole', () => {
    expect(read(HEAD)).toBe(HEAD);
    expect(read('')).toBe('');
  });
});
