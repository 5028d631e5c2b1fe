// How one AD entry becomes a directory user (userFromEntry), for the values real AD data
// holds (issue 16): a junk `mail` beside valid proxyAddresses, room and equipment
// mailboxes (msExchRecipientTypeDetails), a disabled account in the admin group.
// The entries are shaped as ldapts returns them; against real servers: test/system/….
import type { Entry } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { userFromEntry } from '../../../../../lambdas/adapters/ldap/ldap-directory-source.ts';

function entry(attributes: Record<string, string | string[]>): Entry {
  return { dn: 'CN=x,OU=Staff,DC=corp,DC=example', objectGUID: Buffer.from('0123456789abcdef'), ...attributes };
}

describe('userFromEntry', () => {
  it('keeps a user whose mail is junk and whose proxyAddresses are valid, and says what was left out', () => {
    // Act
    const result = userFromEntry(
      entry({ mail: 'john.doe', proxyAddresses: ['SMTP:John.Doe@corp.example', 'smtp:jd@corp.example'] }),
      false,
    );
    // Assess
    expect(result).toMatchObject({
      user: { mailbox: 'john.doe@corp.example', aliases: ['jd@corp.example'] },
      leftOut: ['mail "john.doe" is not a mail address, left out'],
    });
  });

  it('leaves out a junk proxy address alone, and skips a user with no usable address, saying why', () => {
    // Act
    const alias = userFromEntry(entry({ proxyAddresses: ['SMTP:ann@corp.example', 'smtp:ann at corp'] }), false);
    const none = userFromEntry(entry({ mail: 'john.doe' }), false);
    // Assess
    expect(alias).toMatchObject({
      user: { mailbox: 'ann@corp.example', aliases: [] },
      leftOut: ['proxyAddresses smtp: "ann at corp" is not a mail address, left out'],
    });
    expect(none).toEqual({
      skipped: 'no SMTP address (neither proxyAddresses SMTP: nor mail) (mail "john.doe" is not a mail address, left out)',
    });
  });

  it.each([
    ['4', 'shared'],
    ['16', 'shared'],
    ['32', 'shared'],
    ['1', 'user'],
    ['2', 'user'],
  ])('reads msExchRecipientTypeDetails %s as kind %s (shared, room and equipment mailboxes: nobody signs in)', (type, kind) => {
    // Act
    const result = userFromEntry(entry({ mail: 'room@corp.example', msExchRecipientTypeDetails: type }), false);
    // Assess
    expect(result).toMatchObject({ user: { kind } });
  });

  it('makes no admin of a disabled account or a shared mailbox in the admin group', () => {
    // Act
    const disabled = userFromEntry(entry({ mail: 'old@corp.example', userAccountControl: '514' }), true);
    const room = userFromEntry(entry({ mail: 'room@corp.example', msExchRecipientTypeDetails: '16' }), true);
    const enabled = userFromEntry(entry({ mail: 'adm@corp.example', userAccountControl: '512' }), true);
    // Assess
    expect(disabled).toMatchObject({ user: { disabled: true, admin: false } });
    expect(room).toMatchObject({ user: { kind: 'shared', admin: false } });
    expect(enabled).toMatchObject({ user: { disabled: false, admin: true } });
  });
});
