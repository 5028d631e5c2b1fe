// The in-memory reference index against the shared MessageIndex contract.
import { MemoryMessageIndex } from '../../../support/memory-message-index.ts';
import { describeMessageIndexContract } from '../../../support/message-index-contract.ts';

describeMessageIndexContract('MemoryMessageIndex', async () => {
  const index = new MemoryMessageIndex();
  return { index, addresses: index };
});
