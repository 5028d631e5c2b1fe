// The MessageIndex contract, address map: case-insensitive lookup of what the directory sync wrote.
import { beforeEach, describe, expect, it } from 'vitest';
import type { AddressMap } from '../../../lambdas/ports/address-map.ts';
import type { IndexUnderTest } from './fixtures.ts';

export function describeAddressMapContract(current: () => IndexUnderTest): void {
  let index: AddressMap;
  let addresses: IndexUnderTest['addresses'];
  beforeEach(() => {
    ({ index, addresses } = current());
  });

  describe('address map', () => {
    it('maps addresses case-insensitively and knows nothing of unknown addresses', async () => {
      // Prepare
      await addresses.putAddresses([{ address: 'sales@corp.test', mailbox: 'alice@corp.test' }]);
      // Act
      const alias = await index.mailboxFor('  <sales@CORP.test> ');
      const unknown = await index.mailboxFor('nobody@corp.test');
      // Assess
      expect(alias).toBe('alice@corp.test');
      expect(unknown).toBeNull();
    });

    it('a later mapping of the same address replaces the earlier one', async () => {
      // Prepare
      await addresses.putAddresses([{ address: 'sales@corp.test', mailbox: 'alice@corp.test' }]);
      // Act
      await addresses.putAddresses([{ address: 'sales@corp.test', mailbox: 'bob@corp.test' }]);
      // Assess
      expect(await index.mailboxFor('sales@corp.test')).toBe('bob@corp.test');
    });
  });
}
