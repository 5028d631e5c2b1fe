// Who may ask for a break-glass code, and who is a break-glass admin.
import { describe, expect, it } from 'vitest';
import { decideCodeSignIn, isBreakGlassAdmin } from '../../../../lambdas/core/break-glass.ts';
import { makeDirectoryUser } from '../../../../lambdas/core/directory.ts';
import type { DirectoryUser } from '../../../../lambdas/core/model.ts';
import { FAILOVER_OFF } from '../../../../lambdas/ports/failover-flag.ts';

const users = [
  makeDirectoryUser({ id: '1', mailbox: 'alice@corp.test', aliases: ['info@corp.test'], mobile: '+4915550000001' }),
  makeDirectoryUser({ id: '2', mailbox: 'bob@corp.test', disabled: true, mobile: '+4915550000002' }),
  makeDirectoryUser({ id: '3', mailbox: 'team@corp.test', kind: 'shared', mobile: '+4915550000003' }),
  makeDirectoryUser({ id: '4', mailbox: 'carol@corp.test' }),
];
const directory = {
  userForAddress: async (address: string): Promise<DirectoryUser | null> =>
    users.find((user) => user.mailbox === address || user.aliases.includes(address)) ?? null,
};
const flag = (on: boolean) => ({ read: async () => ({ ...FAILOVER_OFF, on }) });

describe('decideCodeSignIn', () => {
  it('allows an enabled user with a number while failover is on, by any of their addresses', async () => {
    const decision = await decideCodeSignIn(' Info@Corp.test ', { flag: flag(true), directory });
    expect(decision).toMatchObject({ allowed: true, user: { mailbox: 'alice@corp.test', mobile: '+4915550000001' } });
  });

  it('refuses everyone while failover is off', async () => {
    expect(await decideCodeSignIn('alice@corp.test', { flag: flag(false), directory })).toEqual({ allowed: false, reason: 'failover-off' });
  });

  it.each([
    ['nobody@corp.test', 'unknown-user'],
    ['bob@corp.test', 'disabled'],
    ['team@corp.test', 'shared-mailbox'],
    ['carol@corp.test', 'no-mobile'],
  ])('refuses %s: %s', async (address, reason) => {
    expect(await decideCodeSignIn(address, { flag: flag(true), directory })).toEqual({ allowed: false, reason });
  });
});

describe('isBreakGlassAdmin', () => {
  const admins = ['Anna.Admin@corp.test'];
  it('is a configured username signed in as a native account', () => {
    expect(isBreakGlassAdmin({ email: 'anna.admin@corp.test', nativeAccount: true }, admins)).toBe(true);
  });
  it('is never a federated user who claims the same address', () => {
    expect(isBreakGlassAdmin({ email: 'anna.admin@corp.test' }, admins)).toBe(false);
  });
  it('is never a native account that is not configured', () => {
    expect(isBreakGlassAdmin({ email: 'alice@corp.test', nativeAccount: true }, admins)).toBe(false);
  });
});

describe('makeDirectoryUser', () => {
  it('refuses a number that is not E.164 and an unreadable private address', () => {
    expect(() => makeDirectoryUser({ id: '9', mailbox: 'x@corp.test', mobile: '0170 1234567' })).toThrow(/E\.164/);
    expect(() => makeDirectoryUser({ id: '9', mailbox: 'x@corp.test', privateEmail: 'not an address' })).toThrow(/mail address/);
  });
});
