// Real AD data that must not stop a sync (issue 16): two accounts claiming one address,
// an alias equal to another's primary, addresses outside the mail domains. The clashing
// address stays with its previous owner or goes to none, everything else syncs, every
// clash is reported naming both accounts; an address at another domain is left out, a
// primary at another domain gives way to an address at one of ours.
import { describe, expect, it } from 'vitest';
import { type DirectoryUserInput, makeDirectoryUser, syncDirectory } from '../../../../lambdas/core/directory.ts';
import { keepMailDomains, resolveClashes } from '../../../../lambdas/core/directory-clashes.ts';
import type { DirectoryUser } from '../../../../lambdas/core/model.ts';
import type { DirectorySource } from '../../../../lambdas/ports/directory.ts';
import { MemoryDirectoryStore } from '../../../support/memory-directory-store.ts';

function user(mailbox: string, extra: Partial<DirectoryUserInput> = {}): DirectoryUser {
  return makeDirectoryUser({ id: `id-${mailbox.split('@')[0]}`, mailbox, ...extra });
}

/** The AD object's DN, as the LDAP source names its users. */
const dn = (u: DirectoryUser) => `CN=${u.id.slice(3)},OU=Staff,DC=corp,DC=example`;

function sourceOf(users: DirectoryUser[]): DirectorySource {
  return {
    description: 'test source',
    readAll: async () => ({ users, warnings: [], names: new Map(users.map((u) => [u.id, dn(u)])) }),
  };
}

const options = { owner: 'host-a:1', now: () => new Date('2030-05-01T10:00:00Z') };

describe('resolveClashes', () => {
  it('leaves an alias two users claim with its previous owner, and syncs the rest of both', () => {
    // Prepare
    const before = [user('alice@corp.example', { aliases: ['info@corp.example'] }), user('bob@corp.example')];
    const incoming = [
      user('alice@corp.example', { aliases: ['info@corp.example', 'a@corp.example'] }),
      user('bob@corp.example', { aliases: ['info@corp.example', 'b@corp.example'], disabled: true }),
    ];
    // Act
    const result = resolveClashes(incoming, before, dn);
    // Assess
    expect(result.users).toEqual([incoming[0], { ...incoming[1], aliases: ['b@corp.example'] }]);
    expect(result.clashes).toEqual([
      {
        address: 'info@corp.example',
        claimants: ['CN=alice,OU=Staff,DC=corp,DC=example', 'CN=bob,OU=Staff,DC=corp,DC=example'],
        keptBy: 'CN=alice,OU=Staff,DC=corp,DC=example',
      },
    ]);
    expect(result.notAdded).toEqual([]);
  });

  it('gives an address nobody had before to none of its claimants', () => {
    // Prepare
    const incoming = [
      user('alice@corp.example', { aliases: ['new@corp.example'] }),
      user('bob@corp.example', { aliases: ['new@corp.example'] }),
    ];
    // Act
    const result = resolveClashes(incoming, [], dn);
    // Assess
    expect(result.users.map((u) => u.aliases)).toEqual([[], []]);
    expect(result.clashes[0]).toMatchObject({ address: 'new@corp.example', keptBy: null });
  });

  it("does not add a new account whose primary is another's address, and keeps the owner as it was", () => {
    // Prepare: a new hire made with an existing colleague's alias as mail address.
    const before = [user('john@corp.example', { aliases: ['j.smith@corp.example'] })];
    const incoming = [
      user('john@corp.example', { aliases: ['j.smith@corp.example'] }),
      makeDirectoryUser({ id: 'id-jane', mailbox: 'j.smith@corp.example', aliases: ['jane@corp.example'] }),
    ];
    // Act
    const result = resolveClashes(incoming, before, dn);
    // Assess
    expect(result.users).toEqual([incoming[0]]);
    expect(result.clashes).toEqual([
      {
        address: 'j.smith@corp.example',
        claimants: ['CN=jane,OU=Staff,DC=corp,DC=example', 'CN=john,OU=Staff,DC=corp,DC=example'],
        keptBy: 'CN=john,OU=Staff,DC=corp,DC=example',
      },
    ]);
    expect(result.notAdded).toEqual(['CN=jane,OU=Staff,DC=corp,DC=example']);
  });

  it('keeps the previous mailbox of a known user whose new primary clashes, and applies the rest (a disable included)', () => {
    // Prepare
    const before = [user('alice@corp.example'), user('bob@corp.example')];
    const incoming = [
      user('alice@corp.example'),
      makeDirectoryUser({
        id: 'id-bob',
        mailbox: 'alice@corp.example',
        displayName: 'Bob',
        aliases: ['bob@corp.example', 'rb@corp.example'],
        disabled: true,
      }),
    ];
    // Act
    const result = resolveClashes(incoming, before, dn);
    // Assess
    expect(result.users).toEqual([
      incoming[0],
      makeDirectoryUser({ id: 'id-bob', mailbox: 'bob@corp.example', displayName: 'Bob', aliases: ['rb@corp.example'], disabled: true }),
    ]);
    expect(result.clashes.map((clash) => clash.keptBy)).toEqual(['CN=alice,OU=Staff,DC=corp,DC=example']);
  });

  it('changes nothing where nothing clashes', () => {
    // Prepare
    const incoming = [user('alice@corp.example', { aliases: ['info@corp.example'] }), user('bob@corp.example')];
    // Act
    const result = resolveClashes(incoming, [], dn);
    // Assess
    expect(result).toEqual({ users: incoming, clashes: [], notAdded: [] });
  });
});

describe('keepMailDomains', () => {
  const domains = ['corp.example', 'sub.corp.example'];

  it('leaves out aliases at other domains and names the user', () => {
    // Prepare
    const alice = user('alice@corp.example', { aliases: ['alice@old-brand.example', 'a@sub.corp.example'] });
    // Act
    const result = keepMailDomains([alice], domains, dn);
    // Assess
    expect(result.users).toEqual([{ ...alice, aliases: ['a@sub.corp.example'] }]);
    expect(result.valueWarnings).toEqual([
      'alice@corp.example: alice@old-brand.example left out, not at one of the mail domains (corp.example, sub.corp.example)',
    ]);
    expect(result.skipped).toEqual([]);
  });

  it('makes an address at one of the domains the mailbox when the primary is elsewhere, preferring the same local part', () => {
    // Prepare
    const brand = makeDirectoryUser({
      id: 'id-carl',
      mailbox: 'carl@new-brand.example',
      aliases: ['c.example@corp.example', 'carl@corp.example'],
    });
    // Act
    const result = keepMailDomains([brand], domains, dn);
    // Assess
    expect(result.users).toEqual([{ ...brand, mailbox: 'carl@corp.example', aliases: ['c.example@corp.example'] }]);
    expect(result.valueWarnings).toEqual([
      'carl@corp.example: the primary address carl@new-brand.example is not at one of the mail domains (corp.example, sub.corp.example); carl@corp.example is the mailbox',
    ]);
  });

  it('reports a user with no address at the mail domains, by DN, and leaves them out', () => {
    // Prepare
    const partner = makeDirectoryUser({ id: 'id-pat', mailbox: 'pat@partner.example' });
    // Act
    const result = keepMailDomains([partner], domains, dn);
    // Assess
    expect(result.users).toEqual([]);
    expect(result.skipped).toEqual([
      'CN=pat,OU=Staff,DC=corp,DC=example: no address at the mail domains (corp.example, sub.corp.example), only pat@partner.example',
    ]);
  });
});

describe('syncDirectory with clashes', () => {
  it('syncs everything else, reports the clash by DN, and counts no removal for it', async () => {
    // Prepare
    const store = new MemoryDirectoryStore();
    await syncDirectory(
      sourceOf([user('alice@corp.example', { aliases: ['info@corp.example'] }), user('bob@corp.example')]),
      store,
      options,
    );
    const incoming = [
      user('alice@corp.example', { aliases: ['info@corp.example'] }),
      user('bob@corp.example', { aliases: ['info@corp.example'], disabled: true }),
      makeDirectoryUser({ id: 'id-new', mailbox: 'bob@corp.example' }),
      user('carol@corp.example'),
    ];
    let handedOver: readonly DirectoryUser[] = [];
    // Act
    const report = await syncDirectory(sourceOf(incoming), store, {
      ...options,
      maxRemovals: 0,
      beforeWrite: async (users) => {
        handedOver = users;
      },
    });
    // Assess
    expect(report.clashes.map((clash) => [clash.address, clash.keptBy])).toEqual([
      ['bob@corp.example', 'CN=bob,OU=Staff,DC=corp,DC=example'],
      ['info@corp.example', 'CN=alice,OU=Staff,DC=corp,DC=example'],
    ]);
    expect(report.notAdded).toEqual(['CN=new,OU=Staff,DC=corp,DC=example']);
    expect(report.plan.users.added.map((u) => u.mailbox)).toEqual(['carol@corp.example']);
    expect(report.plan.users.changed.map((change) => [change.after.mailbox, change.fields])).toEqual([['bob@corp.example', ['disabled']]]);
    expect(report.plan.users.removed).toEqual([]);
    expect(await store.userForAddress('info@corp.example')).toMatchObject({ mailbox: 'alice@corp.example' });
    expect(await store.userForAddress('bob@corp.example')).toMatchObject({ id: 'id-bob', disabled: true });
    // What the break-glass accounts follow is the resolved list the store got: no account for the new one.
    expect(handedOver).toEqual(report.users);
    expect(handedOver.map((u) => u.id)).toEqual(['id-alice', 'id-bob', 'id-carol']);
  });

  it('leaves out addresses outside the domains given, before looking for clashes', async () => {
    // Prepare
    const store = new MemoryDirectoryStore();
    const incoming = [
      user('alice@corp.example', { aliases: ['shared@old.example'] }),
      user('bob@corp.example', { aliases: ['shared@old.example'] }),
    ];
    // Act
    const report = await syncDirectory(sourceOf(incoming), store, { ...options, domains: ['corp.example'] });
    // Assess
    expect(report.clashes).toEqual([]);
    expect(report.valueWarnings).toHaveLength(2);
    expect(await store.userForAddress('shared@old.example')).toBeNull();
  });

  it('still drops a private address at a domain the source uses, even when --domains leaves that domain out', async () => {
    // Prepare: old.example may be hosted on the same Exchange, so mail there is down too.
    const store = new MemoryDirectoryStore();
    const incoming = [user('alice@corp.example', { aliases: ['alice@old.example'], privateEmail: 'alice@old.example' })];
    // Act
    const report = await syncDirectory(sourceOf(incoming), store, { ...options, domains: ['corp.example'] });
    // Assess
    expect(report.users[0]).not.toHaveProperty('privateEmail');
  });
});
