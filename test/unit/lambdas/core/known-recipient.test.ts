// The one definition of a known recipient: the directory's addresses (primary, alias,
// shared mailbox), the +tag rule, postmaster, catch-all domains, and no refusal at all
// before a directory exists. The directory is a real sync into the in-memory store.
import { describe, expect, it } from 'vitest';
import { normalizeAddress } from '../../../../lambdas/core/addresses.ts';
import { makeDirectoryUser, syncDirectory } from '../../../../lambdas/core/directory.ts';
import { isKnownRecipient, type RecipientPolicy, recipientVerdict } from '../../../../lambdas/core/known-recipient.ts';
import { MemoryDirectoryStore } from '../../../support/memory-directory-store.ts';

const policy: RecipientPolicy = { subaddressSeparator: '+', catchAllDomains: [] };

async function synced(): Promise<MemoryDirectoryStore> {
  const store = new MemoryDirectoryStore();
  const users = [
    makeDirectoryUser({ id: 'a', mailbox: 'alice@corp.test', aliases: ['info@corp.test'] }),
    makeDirectoryUser({ id: 's', mailbox: 'support@corp.test', kind: 'shared' }),
    makeDirectoryUser({ id: 'd', mailbox: 'dave@corp.test', disabled: true }),
  ];
  await syncDirectory({ description: 'test', readAll: async () => ({ users, warnings: [] }) }, store, {
    owner: 'test',
    now: () => new Date('2030-01-01T00:00:00Z'),
  });
  return store;
}

function depsOf(store: MemoryDirectoryStore) {
  const looked: string[] = [];
  return {
    looked,
    deps: {
      addresses: {
        mailboxFor: async (address: string) => {
          looked.push(address);
          return store.addresses.get(normalizeAddress(address)) ?? null;
        },
      },
      directory: store,
    },
  };
}

describe('recipientVerdict', () => {
  it('knows primary addresses, aliases, shared and disabled mailboxes in any case', async () => {
    const { deps } = depsOf(await synced());
    for (const address of ['alice@corp.test', 'INFO@Corp.Test', '<support@corp.test>', 'dave@corp.test']) {
      expect(await recipientVerdict(address, deps, policy), address).toBe('known');
    }
  });

  it('refuses an address the directory does not know once it has synced', async () => {
    const { deps } = depsOf(await synced());
    expect(await recipientVerdict('alcie@corp.test', deps, policy)).toBe('unknown');
    expect(await isKnownRecipient('alcie@corp.test', deps, policy)).toBe(false);
  });

  it('takes alice+tag by the +tag rule, and only while the rule is on', async () => {
    const { deps } = depsOf(await synced());
    expect(await recipientVerdict('alice+news@corp.test', deps, policy)).toBe('known');
    expect(await recipientVerdict('info+x@corp.test', deps, policy)).toBe('known');
    expect(await recipientVerdict('nobody+x@corp.test', deps, policy)).toBe('unknown');
    expect(await recipientVerdict('alice+news@corp.test', deps, { ...policy, subaddressSeparator: '' })).toBe('unknown');
  });

  it('takes a quoted local part that only quotes a known address', async () => {
    const { deps } = depsOf(await synced());
    expect(await recipientVerdict('"alice"@corp.test', deps, policy)).toBe('known');
  });

  it('never looks a % local part up: alice%elsewhere is unknown', async () => {
    const { deps, looked } = depsOf(await synced());
    expect(await recipientVerdict('alice%corp.test@corp.test', deps, policy)).toBe('unknown');
    expect(looked).toEqual([]);
  });

  it('takes every postmaster (RFC 5321 §4.5.1) without asking the directory', async () => {
    const { deps, looked } = depsOf(await synced());
    expect(await recipientVerdict('PostMaster@corp.test', deps, policy)).toBe('postmaster');
    expect(looked).toEqual([]);
  });

  it('takes every address of a catch-all domain, and only of that domain', async () => {
    const { deps } = depsOf(await synced());
    const catchAll = { ...policy, catchAllDomains: ['sales.test'] };
    expect(await recipientVerdict('anyone@SALES.test', deps, catchAll)).toBe('catch-all');
    expect(await recipientVerdict('anyone@corp.test', deps, catchAll)).toBe('unknown');
  });

  it('refuses nothing before a directory has been synced or imported', async () => {
    const { deps, looked } = depsOf(new MemoryDirectoryStore());
    expect(await recipientVerdict('anyone@corp.test', deps, policy)).toBe('no-directory');
    expect(await isKnownRecipient('anyone@corp.test', deps, policy)).toBe(true);
    expect(looked).toEqual([]);
  });
});
