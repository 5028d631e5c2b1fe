// The behavioural contract of a MessageIndex, written once per role and run against
// every implementation (the in-memory reference and DynamoDB on several servers), so
// the fast use-case tests and production share one meaning.
import { afterEach, beforeEach, describe } from 'vitest';
import { describeAddressMapContract } from './index-contract/address-map.ts';
import { describeDeliveryLogContract } from './index-contract/delivery-log.ts';
import type { IndexUnderTest } from './index-contract/fixtures.ts';
import { describeMailboxEntriesContract } from './index-contract/mailbox-entries.ts';
import { describeMessageRecordsContract } from './index-contract/message-records.ts';
import { describeMessageSearchContract } from './index-contract/message-search.ts';
import { describeOnceGateContract } from './index-contract/once-gate.ts';

export function describeMessageIndexContract(name: string, makeIndex: () => Promise<IndexUnderTest>): void {
  describe(`MessageIndex contract: ${name}`, () => {
    let made: IndexUnderTest | undefined;
    const current = (): IndexUnderTest => {
      if (!made) throw new Error('no index under test');
      return made;
    };

    beforeEach(async () => {
      made = await makeIndex();
    });

    afterEach(async () => {
      await made?.cleanup?.();
      made = undefined;
    });

    describeAddressMapContract(current);
    describeMessageRecordsContract(current);
    describeMailboxEntriesContract(current);
    describeDeliveryLogContract(current);
    describeOnceGateContract(current);
    describeMessageSearchContract(current);
  });
}
