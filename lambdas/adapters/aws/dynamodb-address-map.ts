// The address map on the message table: ADDR#<address> items, written by the
// directory sync (dynamodb-directory-store.ts putAddresses), read here.

import { messageTableKeys as keys } from '../../contract/message-table.ts';
import { normalizeAddress } from '../../core/addresses.ts';
import type { AddressMap } from '../../ports/address-map.ts';
import { type DynamoTable, getItem } from './dynamodb-toolkit.ts';

export class DynamoDbAddressMap implements AddressMap {
  constructor(private readonly table: DynamoTable) {}

  async mailboxFor(address: string): Promise<string | null> {
    const item = await getItem(this.table, keys.address(normalizeAddress(address)));
    return typeof item?.mailbox === 'string' ? item.mailbox : null;
  }
}
