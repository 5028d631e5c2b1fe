// The claims of a verified ID token → the identity: email_verified is required where the
// token carries it (Cognito sends a string for federated users), and the directory id
// custom attribute is carried along.
import { describe, expect, it } from 'vitest';
import { identityOf } from '../../../../../lambdas/adapters/oidc/oidc-sign-in.ts';
import { DIRECTORY_ID_CLAIM } from '../../../../../lambdas/contract/sign-in.ts';

// A federated user's token: Cognito adds `identities` (the IdP's name and the user's id there).
const CLAIMS = {
  sub: 'sub-bob',
  email: 'Bob@Corp.test',
  name: 'Bob',
  'cognito:groups': ['g'],
  identities: [{ providerName: 'ADFS', providerType: 'SAML', userId: 'bob@corp.test', primary: 'true' }],
};

describe('identityOf', () => {
  it('refuses a token whose address is not verified, as boolean or as string', () => {
    expect(() => identityOf({ ...CLAIMS, email_verified: false })).toThrow(/not verified/);
    expect(() => identityOf({ ...CLAIMS, email_verified: 'false' })).toThrow(/not verified/);
  });

  it('accepts a verified address, and a token that does not say (then the address maps, as before)', () => {
    expect(identityOf({ ...CLAIMS, email_verified: true }).email).toBe('bob@corp.test');
    expect(identityOf({ ...CLAIMS, email_verified: 'true' }).email).toBe('bob@corp.test');
    expect(identityOf(CLAIMS)).toEqual({ subject: 'sub-bob', email: 'bob@corp.test', name: 'Bob', groups: ['g'] });
  });

  it('carries the directory id the pool maps from the IdP (objectGUID)', () => {
    expect(identityOf({ ...CLAIMS, [DIRECTORY_ID_CLAIM]: ' 4AQlP4lP0xGaDAMF6CwzAQ== ' }).directoryId).toBe('4AQlP4lP0xGaDAMF6CwzAQ==');
  });

  it("marks the pool's own (break-glass) accounts: a token without `identities`", () => {
    const { identities: _federated, ...native } = { ...CLAIMS, 'cognito:username': 'bob@corp.test' };
    expect(identityOf(native).nativeAccount).toBe(true);
    expect(identityOf(CLAIMS).nativeAccount).toBeUndefined();
  });

  it("takes a native account's address from its username, which the user cannot change, not from the email attribute", () => {
    const { identities: _federated, ...native } = { ...CLAIMS, 'cognito:username': 'bob@corp.test' };
    // bob rewrote his email attribute (UpdateUserAttributes with his own access token) to alice's address
    expect(identityOf({ ...native, email: 'alice@corp.test', email_verified: 'true' }).email).toBe('bob@corp.test');
    expect(() => identityOf({ ...native, 'cognito:username': 'f3a1c2d4-uuid' })).toThrow(/username is no email address/);
    // a federated user's username is <IdP>_<id>: the email claim (mapped by the IdP) is the address
    expect(identityOf({ ...CLAIMS, 'cognito:username': 'ADFS_bob' }).email).toBe('bob@corp.test');
  });
});
