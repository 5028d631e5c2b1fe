// The LDAP directory source against Samba's AD domain controller (test/support/samba-dc.ts):
// AD's real schema (objectGUID, proxyAddresses, userAccountControl as AD sets them),
// rootDSE detection of AD, and nested admin groups resolved by AD itself with the
// LDAP_MATCHING_RULE_IN_CHAIN rule — the path production takes, which slapd cannot
// exercise. Mobile numbers as AD holds them (`mobile`, or another attribute such as
// `otherMobile`) and a private address (`otherMailbox`), one of them unusable. Samba has no Exchange schema (no msExchRecipientTypeDetails) and does not
// cap searches at 1,000 entries; the slapd tests cover those.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminStrategy, LdapDirectorySource } from '../../../../../lambdas/adapters/ldap/ldap-directory-source.ts';
import { DirectoryError } from '../../../../../lambdas/core/directory.ts';
import { SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD, SAMBA_SUFFIX, type SambaDc, startSambaDc } from '../../../../support/samba-dc.ts';

const STAFF = `OU=Staff,${SAMBA_SUFFIX}`;
const ADMINS = `CN=Shadowmail Admins,${STAFF}`;
// 0x200 NORMAL_ACCOUNT | 0x20 PASSWD_NOTREQD (accounts made without a password); 0x2 disables.
const ENABLED = '544';
const DISABLED = '546';

let dc: SambaDc;

beforeAll(async () => {
  dc = await startSambaDc();
  const admin = await dc.adminClient();
  try {
    await admin.add(STAFF, { objectClass: ['top', 'organizationalUnit'], ou: 'Staff' });
    const user = (cn: string, attributes: Record<string, string[] | string>) =>
      admin.add(`CN=${cn},${STAFF}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        cn,
        sAMAccountName: cn,
        ...attributes,
      });
    await user('anna', {
      displayName: 'Anna Example',
      mail: 'anna@corp.test',
      proxyAddresses: ['SMTP:Anna@Corp.Test', 'smtp:office@corp.test', 'X500:/o=Corp/cn=anna'],
      userAccountControl: ENABLED,
      mobile: '0170 1234567',
      otherMailbox: 'Anna.Private@Example.ORG',
    });
    await user('bert', { mail: 'bert@corp.test', userAccountControl: DISABLED, mobile: '+49 (170) 765-4321' });
    await user('cora', { proxyAddresses: ['SMTP:cora@corp.test'], userAccountControl: ENABLED, mobile: '030 1234567' });
    await user('dirk', { proxyAddresses: ['SMTP:dirk@corp.test'], userAccountControl: ENABLED, otherMailbox: 'dirk at home' });
    await user('emil', { proxyAddresses: ['SMTP:emil@corp.test'], userAccountControl: ENABLED, otherMobile: '0043 664 1234567' });
    const group = (cn: string, members: string[]) =>
      admin.add(`CN=${cn},${STAFF}`, { objectClass: ['top', 'group'], cn, sAMAccountName: cn, member: members });
    await group('Deep', [`CN=cora,${STAFF}`]);
    await group('Ops', [`CN=Deep,${STAFF}`]);
    await group('Shadowmail Admins', [`CN=dirk,${STAFF}`, `CN=Ops,${STAFF}`]);
    await group('Sales', [`CN=emil,${STAFF}`]);
  } finally {
    await admin.unbind();
  }
}, 180_000);

afterAll(async () => {
  await dc?.stop();
});

function source(
  strategy: AdminStrategy,
  password = SAMBA_ADMIN_PASSWORD,
  contacts: { mobileAttribute?: string; privateEmailAttribute?: string } = {},
): LdapDirectorySource {
  return new LdapDirectorySource({
    ...contacts,
    url: dc.url,
    bindDn: SAMBA_ADMIN_DN,
    bindPassword: async () => password,
    baseDn: STAFF,
    adminGroupDn: ADMINS,
    adminStrategy: strategy,
    operationTimeoutMs: 10_000,
  });
}

describe('LdapDirectorySource against a Samba AD DC', () => {
  it("reads AD's users: objectGUID ids, SMTP:/smtp: addresses, mail, disabled accounts", async () => {
    // Prepare
    const ldap = source('auto');
    // Act
    const { users, warnings } = await ldap.readAll();
    // Assess
    expect(warnings).toEqual([]);
    expect(users.map((user) => user.mailbox).sort()).toEqual([
      'anna@corp.test',
      'bert@corp.test',
      'cora@corp.test',
      'dirk@corp.test',
      'emil@corp.test',
    ]);
    for (const user of users) expect(user.id).toMatch(/^[0-9a-f]{32}$/);
    expect(users.find((user) => user.mailbox === 'anna@corp.test')).toMatchObject({
      displayName: 'Anna Example',
      aliases: ['office@corp.test'],
      disabled: false,
    });
    expect(users.find((user) => user.mailbox === 'bert@corp.test')).toMatchObject({ displayName: 'bert', disabled: true });
  });

  it('reads mobile numbers into E.164 and a private address from the attributes named, leaving out what cannot be used', async () => {
    // Prepare
    const byDefault = source('auto', SAMBA_ADMIN_PASSWORD, { privateEmailAttribute: 'otherMailbox' });
    const other = source('auto', SAMBA_ADMIN_PASSWORD, { mobileAttribute: 'otherMobile' });

    // Act
    const read = await byDefault.readAll();
    const fromOther = await other.readAll();

    // Assess
    const contact = (users: typeof read.users) =>
      Object.fromEntries(users.map((user) => [user.mailbox, [user.mobile ?? null, user.privateEmail ?? null]]));
    expect(contact(read.users)).toEqual({
      'anna@corp.test': ['+491701234567', 'anna.private@example.org'],
      'bert@corp.test': ['+491707654321', null],
      'cora@corp.test': [null, null],
      'dirk@corp.test': [null, null],
      'emil@corp.test': [null, null],
    });
    expect(read.warnings).toEqual([]);
    expect([...(read.valueWarnings ?? [])].sort()).toEqual([
      'cora@corp.test: the mobile number is a landline, not a mobile number (an SMS cannot reach it)',
      'dirk@corp.test: the private address is not a mail address',
    ]);
    expect(contact(fromOther.users)['emil@corp.test']).toEqual(['+436641234567', null]);
    expect(contact(fromOther.users)['anna@corp.test']).toEqual([null, null]);
  });

  it('refuses a mobile attribute that is no attribute name, before connecting', () => {
    // Act
    const attempt = () => source('auto', SAMBA_ADMIN_PASSWORD, { mobileAttribute: 'mobile)(objectClass=*' });

    // Assess
    expect(attempt).toThrow(DirectoryError);
    expect(attempt).toThrow(/the mobile attribute must be an LDAP attribute name/);
  });

  it('resolves nested admin groups with the in-chain rule, detected from the rootDSE, as the walk does', async () => {
    // Prepare
    const [detected, inChain, walk] = (['auto', 'in-chain', 'walk'] as const).map((strategy) => source(strategy));
    // Act
    const results = await Promise.all([detected!.readAll(), inChain!.readAll(), walk!.readAll()]);
    // Assess
    for (const { users } of results) {
      expect(
        users
          .filter((user) => user.admin)
          .map((user) => user.mailbox)
          .sort(),
      ).toEqual(['cora@corp.test', 'dirk@corp.test']);
    }
  });

  it('says "bind failed … invalid credentials" for a wrong password', async () => {
    // Prepare
    const wrong = source('auto', 'not-the-password');
    // Act
    const failure = await wrong.readAll().then(
      () => null,
      (error: unknown) => error,
    );
    // Assess
    expect(failure).toBeInstanceOf(DirectoryError);
    expect((failure as Error).message).toBe(`bind failed for ${SAMBA_ADMIN_DN}: invalid credentials`);
  });
});
